// The cell protocol, typed: every message between the control plane and a cell, as a
// discriminated union, and one parser per direction that turns an untrusted frame into one of
// them or throws WireInvalid. Neither side dispatches on an unchecked `m["t"]`.
import type { Json } from "../errors.js";
import { WireInvalid } from "./wire.js";
import { isEnforcerName, type EnforcerName } from "../enforcers.js";

export type CellMode = "per-session" | "per-role";

/** Control plane -> cell. */
export type ToCell =
  | { readonly t: "load"; readonly mode: CellMode; readonly tools: readonly Json[] }
  | { readonly t: "bind"; readonly session: string; readonly launch: string }
  | { readonly t: "open"; readonly session: string; readonly id: number; readonly launch: string }
  | { readonly t: "end"; readonly session: string; readonly id: number }
  | { readonly t: "call"; readonly session: string; readonly id: number; readonly tool: string; readonly input: string; readonly fuelOverride?: number }
  | { readonly t: "close" }
  /** Probe cells only (probes/hostile-cell.ts); the real cell treats it as a bad frame. */
  | { readonly t: "selftest"; readonly session: string; readonly id: number; readonly probe: string };

/** Cell -> control plane. */
export type FromCell =
  | { readonly t: "ready"; readonly pid: number }
  | { readonly t: "loaded"; readonly session: ""; readonly tools: readonly string[] }
  | { readonly t: "refused"; readonly session: ""; readonly tool: string; readonly enforcer: EnforcerName; readonly error: Json }
  | { readonly t: "bound"; readonly session: string }
  | { readonly t: "launch-refused"; readonly session: string; readonly id: number; readonly reason: string }
  | { readonly t: "opened" | "ended"; readonly session: string; readonly id: number }
  | { readonly t: "result"; readonly session: string; readonly id: number; readonly outcome: Json }
  | { readonly t: "selftest"; readonly session: string; readonly id: number; readonly result: Json };

/** Which reply each request waits for ("refused"/"launch-refused" stand in for some). */
export type Reply = FromCell["t"];

type Obj = Record<string, Json>;

const MAX_ID = 2 ** 31;
const SESSION = /^[A-Za-z0-9-]{1,64}$/;

/** The message's type for an error message: only a short string, whatever the peer sent. */
function label(m: Obj): string {
  const t = m["t"];
  return typeof t === "string" ? t.slice(0, 16) : "?";
}
function field(m: Obj, k: string): Json | undefined {
  return Object.hasOwn(m, k) ? m[k] : undefined;
}
function str(m: Obj, k: string, max: number): string {
  const v = field(m, k);
  if (typeof v !== "string" || v.length > max) throw new WireInvalid(`${label(m)}.${k}`);
  return v;
}
function session(m: Obj, allowEmpty = false): string {
  const v = str(m, "session", 64);
  if (!(allowEmpty && v === "") && !SESSION.test(v)) throw new WireInvalid(`${label(m)}.session`);
  return v;
}
function id(m: Obj): number {
  const v = field(m, "id");
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0 || v > MAX_ID) throw new WireInvalid(`${label(m)}.id`);
  return v;
}
function enforcer(m: Obj): EnforcerName {
  const v = str(m, "enforcer", 64);
  if (!isEnforcerName(v)) throw new WireInvalid(`${label(m)}.enforcer`);
  return v;
}
function type(m: Obj): string {
  const t = field(m, "t");
  if (typeof t !== "string" || t.length > 32) throw new WireInvalid("t");
  return t;
}

/** What a cell accepts from its control plane. */
export function parseToCell(m: Obj): ToCell {
  const t = type(m);
  switch (t) {
    case "load": {
      const mode = field(m, "mode");
      const tools = field(m, "tools");
      if ((mode !== "per-session" && mode !== "per-role") || !Array.isArray(tools) || tools.length > 256) throw new WireInvalid("load");
      return { t, mode, tools };
    }
    case "bind":
      return { t, session: session(m), launch: str(m, "launch", 1 << 20) };
    case "open":
      return { t, session: session(m), id: id(m), launch: str(m, "launch", 1 << 20) };
    case "end":
      return { t, session: session(m), id: id(m) };
    case "call": {
      const fuel = field(m, "fuelOverride");
      if (fuel !== undefined && (typeof fuel !== "number" || !Number.isSafeInteger(fuel) || fuel < 0)) throw new WireInvalid("call.fuelOverride");
      const base = { t, session: session(m), id: id(m), tool: str(m, "tool", 128), input: str(m, "input", 64 << 20) } as const;
      return fuel === undefined ? base : { ...base, fuelOverride: fuel };
    }
    case "close":
      return { t };
    case "selftest":
      return { t, session: session(m, true), id: id(m), probe: str(m, "probe", 256) };
    default:
      throw new WireInvalid(`unknown message '${t.slice(0, 16)}'`);
  }
}

/** What the control plane accepts from a cell: anything else is a violation. */
export function parseFromCell(m: Obj): FromCell {
  const t = type(m);
  switch (t) {
    case "ready": {
      const pid = field(m, "pid");
      if (typeof pid !== "number" || !Number.isSafeInteger(pid)) throw new WireInvalid("ready.pid");
      return { t, pid };
    }
    case "loaded": {
      const tools = field(m, "tools");
      if (session(m, true) !== "" || !Array.isArray(tools) || tools.length > 256 || !tools.every((x) => typeof x === "string" && x.length <= 128)) throw new WireInvalid("loaded");
      return { t, session: "", tools: tools as string[] };
    }
    case "refused":
      if (session(m, true) !== "") throw new WireInvalid("refused.session");
      return { t, session: "", tool: str(m, "tool", 128), enforcer: enforcer(m), error: field(m, "error") ?? null };
    case "bound":
      return { t, session: session(m) };
    case "launch-refused":
      return { t, session: session(m), id: id(m), reason: str(m, "reason", 1024) };
    case "opened":
    case "ended":
      return { t, session: session(m), id: id(m) };
    case "result":
      return { t, session: session(m), id: id(m), outcome: field(m, "outcome") ?? null };
    case "selftest":
      return { t, session: session(m, true), id: id(m), result: field(m, "result") ?? null };
    default:
      throw new WireInvalid(`unknown message '${t.slice(0, 16)}'`);
  }
}
