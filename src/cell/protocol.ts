// The cell protocol, typed: every message between the control plane and a cell, as a
// discriminated union, and one parser per direction that turns an untrusted frame into one of
// them or throws WireInvalid. Neither side dispatches on an unchecked `m["t"]`.
import type { Json } from "../errors.js";
import { WireInvalid } from "./wire.js";
import { isEnforcerName, type EnforcerName } from "../enforcers.js";

export type CellMode = "per-session" | "per-role";

export type ResourceOp = "list" | "list-dirs" | "read" | "stat";
const RESOURCE_OPS: readonly string[] = ["list", "list-dirs", "read", "stat"];

/** Control plane -> cell. */
export type ToCell =
  | { readonly t: "load"; readonly mode: CellMode; readonly tools: readonly Json[] }
  | { readonly t: "bind"; readonly session: string; readonly launch: string }
  | { readonly t: "open"; readonly session: string; readonly id: number; readonly launch: string }
  | { readonly t: "end"; readonly session: string; readonly id: number }
  | { readonly t: "call"; readonly session: string; readonly id: number; readonly tool: string; readonly input: string; readonly fuelOverride?: number }
  | { readonly t: "close" }
  /** Stop call `id` (the client cancelled it): the guest is stopped at its next fuel slice. */
  | { readonly t: "cancel"; readonly session: string; readonly id: number }
  /** The answer to call `id`'s sampling request: the answer's JSON (base64), or a negative code. */
  | { readonly t: "sampled"; readonly session: string; readonly id: number; readonly answer: string | null; readonly code: number }
  /** List, read or stat files of a resource root (a granted mount), through the jail. */
  | { readonly t: "resource"; readonly session: string; readonly id: number; readonly op: ResourceOp; readonly tool: string; readonly mount: string; readonly path: string; readonly depth: number; readonly maxBytes: number }
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
  /** A progress report of call `id`'s guest (only for a tool with the progress grant). */
  | { readonly t: "progress"; readonly session: string; readonly id: number; readonly done: number; readonly total: number }
  /** Call `id`'s guest asks the client's model (only for a tool with the sampling grant); the request base64. */
  | { readonly t: "sample"; readonly session: string; readonly id: number; readonly request: string }
  /** The answer to a resource request. */
  | { readonly t: "resourced"; readonly session: string; readonly id: number; readonly result: Json }
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
    case "cancel":
      return { t, session: session(m), id: id(m) };
    case "sampled": {
      const code = field(m, "code");
      const answer = field(m, "answer");
      if (typeof code !== "number" || !Number.isSafeInteger(code) || code > 0 || code < -16) throw new WireInvalid("sampled.code");
      if (answer !== null && (typeof answer !== "string" || answer.length > 1 << 22)) throw new WireInvalid("sampled.answer");
      return { t, session: session(m), id: id(m), answer, code };
    }
    case "resource": {
      const op = str(m, "op", 16);
      const depth = field(m, "depth");
      const maxBytes = field(m, "maxBytes");
      if (!RESOURCE_OPS.includes(op)) throw new WireInvalid("resource.op");
      if (typeof depth !== "number" || !Number.isSafeInteger(depth) || depth < 0 || depth > 8) throw new WireInvalid("resource.depth");
      if (typeof maxBytes !== "number" || !Number.isSafeInteger(maxBytes) || maxBytes < 0 || maxBytes > 1 << 24) throw new WireInvalid("resource.maxBytes");
      return { t, session: session(m), id: id(m), op: op as ResourceOp, tool: str(m, "tool", 128), mount: str(m, "mount", 4096), path: str(m, "path", 4096), depth, maxBytes };
    }
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
    case "progress": {
      const done = field(m, "done");
      const total = field(m, "total");
      const u32 = (v: Json | undefined): v is number => typeof v === "number" && Number.isSafeInteger(v) && v >= 0 && v <= 0xffffffff;
      if (!u32(done) || !u32(total)) throw new WireInvalid("progress");
      return { t, session: session(m), id: id(m), done, total };
    }
    case "sample":
      return { t, session: session(m), id: id(m), request: str(m, "request", 96 * 1024) };
    case "resourced":
      return { t, session: session(m), id: id(m), result: field(m, "result") ?? null };
    case "selftest":
      return { t, session: session(m, true), id: id(m), result: field(m, "result") ?? null };
    default:
      throw new WireInvalid(`unknown message '${t.slice(0, 16)}'`);
  }
}
