// Converting the engine's data to and from frame messages. The gateway decodes everything a
// cell says as untrusted input: shapes are checked, numbers bounded, errors rebuilt only from
// a fixed set of codes.
import {
  CallCancelled,
  CordonError,
  GuestExit,
  GuestOutputInvalid,
  GuestTrap,
  ImportUngranted,
  LimitExceeded,
  MODULE_CAP_REASONS,
  ModuleCapExceeded,
  ModuleMalformed,
  ModuleRefused,
  ToolNotFound,
  type Json,
  type LimitName,
  type ModuleCapName,
  type RefusalReason,
} from "../errors.js";
import { isEnforcerName, type EnforcerName } from "../enforcers.js";
import type { Grant, Limits } from "../types/tool.js";
import type { CallOutcome, DenialSummary, ToolTemplate } from "../wasm/engine/types.js";

export class WireInvalid extends CordonError {
  readonly code = "ERR_WIRE_INVALID";
  constructor(readonly what: string) {
    super(`peer sent an invalid message: ${what}`);
  }
  fields(): Record<string, Json> {
    return { what: this.what };
  }
}

type Obj = Record<string, Json>;

function obj(v: Json | undefined, what: string): Obj {
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw new WireInvalid(`${what} is not an object`);
  return v;
}
function str(v: Json | undefined, what: string, max = 4096): string {
  if (typeof v !== "string" || v.length > max) throw new WireInvalid(`${what} is not a string`);
  return v;
}
function num(v: Json | undefined, what: string): number {
  if (typeof v !== "number" || !Number.isFinite(v) || v < 0 || v > Number.MAX_SAFE_INTEGER) throw new WireInvalid(`${what} is not a count`);
  return v;
}
function strList(v: Json | undefined, what: string, maxItems = 1024): string[] {
  if (!Array.isArray(v) || v.length > maxItems) throw new WireInvalid(`${what} is not a list`);
  return v.map((x, i) => str(x, `${what}[${i}]`));
}
/** Enforcer names a cell may report: the registry's only. */
function enforcerName(v: Json | undefined, what: string): EnforcerName {
  const name = str(v, what, 64);
  if (!isEnforcerName(name)) throw new WireInvalid(`${what} '${name.slice(0, 32)}' is not an enforcer`);
  return name;
}

const MAX_COUNT_KEYS = 64;

function counts(v: Json | undefined, what: string): Record<string, number> {
  const o = obj(v, what);
  if (Object.keys(o).length > MAX_COUNT_KEYS) throw new WireInvalid(`${what} has too many keys`);
  const out: Record<string, number> = Object.create(null) as Record<string, number>;
  for (const [k, n] of Object.entries(o)) out[str(k, what, 128)] = num(n, `${what}.${k}`);
  return out;
}

const b64 = (bytes: Uint8Array): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64");
const unb64 = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, "base64"));

export function templateToWire(t: ToolTemplate): Json {
  return { name: t.name, abi: t.abi, module: b64(t.moduleBytes), limits: { ...t.limits }, grants: t.grants.map((g) => ({ ...g })) };
}

const LIMIT_KEYS = ["memoryBytes", "fuel", "wallClockMs", "inputBytes", "outputBytes", "moduleBytes", "maxFunctions", "maxTableElements", "maxOpenFiles", "pids", "diskBytes"] as const;

function grantFromWire(v: Json, what: string): Grant {
  const g = obj(v, what);
  const kind = str(g["kind"], `${what}.kind`);
  switch (kind) {
    case "fs.read":
    case "fs.write":
      return { kind, hostPath: str(g["hostPath"], `${what}.hostPath`), mount: str(g["mount"], `${what}.mount`) };
    case "env":
      return { kind, name: str(g["name"], `${what}.name`), value: str(g["value"], `${what}.value`) };
    case "clock":
    case "random":
    case "log":
    case "progress":
      return { kind };
    case "sampling":
      return { kind, maxRequests: num(g["maxRequests"], `${what}.maxRequests`), maxTokens: num(g["maxTokens"], `${what}.maxTokens`) };
    default:
      throw new WireInvalid(`${what}.kind '${kind.slice(0, 32)}'`);
  }
}

export function templateFromWire(v: Json, what = "template"): ToolTemplate {
  const t = obj(v, what);
  const abi = str(t["abi"], `${what}.abi`);
  if (abi !== "wasi-command" && abi !== "reactor") throw new WireInvalid(`${what}.abi`);
  const l = obj(t["limits"], `${what}.limits`);
  const limits = Object.fromEntries(LIMIT_KEYS.map((k) => [k, num(l[k], `${what}.limits.${k}`)])) as unknown as Limits;
  const grants = t["grants"];
  if (!Array.isArray(grants)) throw new WireInvalid(`${what}.grants`);
  return {
    name: str(t["name"], `${what}.name`, 128),
    abi,
    moduleBytes: unb64(str(t["module"], `${what}.module`, Number.MAX_SAFE_INTEGER)),
    limits,
    grants: grants.map((g, i) => grantFromWire(g, `${what}.grants[${i}]`)),
  };
}

export function errorToWire(err: CordonError): Json {
  const extra: Obj = {};
  if (err instanceof GuestTrap && err.guestMessage !== null) extra["guestMessage"] = err.guestMessage;
  if (err instanceof GuestExit) extra["output"] = b64(err.output);
  return { code: err.code, fields: err.fields(), ...extra };
}

const REFUSALS: readonly RefusalReason[] = [
  "oversized", "memory64", "shared-memory", "multi-memory", "imported-memory", "too-many-functions",
  "table-too-large", "memory-too-large", "reserved-export", "unsupported-feature", "abi-mismatch",
  ...Object.values(MODULE_CAP_REASONS),
];

/** A module cap refusal keeps its fields (which cap, its limit, the declared count, where). */
function capRefusal(f: Record<string, Json>): ModuleCapExceeded {
  const cap = str(f["cap"], "error.fields.cap", 64);
  if (!Object.hasOwn(MODULE_CAP_REASONS, cap)) throw new WireInvalid("error.fields.cap");
  return new ModuleCapExceeded(cap as ModuleCapName, num(f["limit"], "limit"), num(f["declared"], "declared"), num(f["offset"], "offset"));
}

function refusalReason(v: Json | undefined): RefusalReason {
  const r = str(v, "error.fields.reason", 64) as RefusalReason;
  if (!REFUSALS.includes(r)) throw new WireInvalid("error.fields.reason");
  return r;
}

const LIMITS: readonly LimitName[] = ["memory", "fuel", "wall-clock", "stack", "output", "input", "fds"];

/** Rebuilds a typed error from a cell's report; unknown codes become a generic trap. */
export function errorFromWire(v: Json): CordonError {
  const e = obj(v, "error");
  const code = str(e["code"], "error.code", 64);
  const f = obj(e["fields"], "error.fields");
  switch (code) {
    case "ERR_LIMIT_EXCEEDED": {
      const limit = str(f["limit"], "limit") as LimitName;
      if (!LIMITS.includes(limit)) throw new WireInvalid("error.fields.limit");
      return new LimitExceeded(limit, num(f["used"], "used"), num(f["max"], "max"));
    }
    case "ERR_GUEST_TRAP": {
      const func = f["func"] === null ? null : str(f["func"], "func", 256);
      const message = e["guestMessage"] === undefined ? null : str(e["guestMessage"], "guestMessage", 1024);
      return new GuestTrap(str(f["reason"], "reason", 256), func, strList(f["frames"], "frames", 16), message);
    }
    case "ERR_GUEST_EXIT": {
      const exit = new GuestExit(num(f["exitCode"], "exitCode"));
      if (e["output"] !== undefined) exit.output = unb64(str(e["output"], "output", 64 * 1024 * 1024));
      return exit;
    }
    case "ERR_GUEST_OUTPUT_INVALID":
      return new GuestOutputInvalid(num(f["bytes"], "bytes"));
    case "ERR_CALL_CANCELLED":
      // The cell says it stopped the guest; how it was asked to is the control plane's to say.
      return new CallCancelled("running", "the guest was stopped at its next fuel slice, the cell lives on");
    case "ERR_TOOL_NOT_FOUND":
      return new ToolNotFound(str(f["tool"], "tool", 256));
    case "ERR_MODULE_MALFORMED":
      return new ModuleMalformed(str(f["reason"], "reason", 512));
    case "ERR_MODULE_IMPORT_UNGRANTED":
      return new ImportUngranted(str(f["importModule"], "importModule", 256), str(f["importName"], "importName", 256), f["needs"] === null ? null : str(f["needs"], "needs", 32));
    case "ERR_MODULE_REFUSED":
      if (f["cap"] !== undefined) return capRefusal(f);
      return new ModuleRefused(refusalReason(f["reason"]), str(f["detail"], "detail", 512));
    default:
      return new GuestTrap(`cell reported ${code}`, null, []);
  }
}

export function outcomeToWire(o: CallOutcome): Json {
  const base = { logs: [...o.logs], denials: o.denials.map((d) => ({ enforcer: d.enforcer, count: d.count, codes: { ...d.codes }, ops: { ...d.ops } })), stats: { ...o.stats } };
  return o.ok ? { ...base, ok: true, output: b64(o.output) } : { ...base, ok: false, error: errorToWire(o.error), enforcer: o.enforcer };
}

export function outcomeFromWire(v: Json, maxOutputBytes: number): CallOutcome {
  const o = obj(v, "outcome");
  const s = obj(o["stats"], "stats");
  const stats = { fuelUsed: num(s["fuelUsed"], "fuelUsed"), wallUs: num(s["wallUs"], "wallUs"), outputBytes: num(s["outputBytes"], "outputBytes"), memoryBytes: num(s["memoryBytes"], "memoryBytes") };
  const denialsRaw = o["denials"];
  if (!Array.isArray(denialsRaw) || denialsRaw.length > 64) throw new WireInvalid("denials");
  const denials: DenialSummary[] = denialsRaw.map((d, i) => {
    const x = obj(d, `denials[${i}]`);
    return { enforcer: enforcerName(x["enforcer"], "enforcer"), count: num(x["count"], "count"), codes: counts(x["codes"], "codes"), ops: counts(x["ops"], "ops") };
  });
  const logs = strList(o["logs"], "logs", 64);
  if (o["ok"] === true) {
    const output = unb64(str(o["output"], "output", Math.ceil((maxOutputBytes * 4) / 3) + 4));
    if (output.byteLength > maxOutputBytes) throw new WireInvalid("output exceeds the tool's cap");
    return { ok: true, output, logs, denials, stats };
  }
  const enforcer = o["enforcer"] === null ? null : enforcerName(o["enforcer"], "enforcer");
  return { ok: false, error: errorFromWire(o["error"] ?? null), enforcer, logs, denials, stats };
}
