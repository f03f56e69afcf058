// Probes for load-time enforcers: digest, module vetting (size and every count cap), import
// vetting (per grant kind), and the role's toolset.
import { CordonError, ModuleCapExceeded, ToolRefused, type ModuleCapName } from "../errors.js";
import type { Grant, Limits } from "../types/tool.js";
import { capModule } from "../wasm/module/cap-modules.js";
import { vetCaps, vetModule, type VetOptions } from "../wasm/module/vet-module.js";
import { loadFixture } from "./fixtures.js";
import type { Probe } from "./types.js";
import { describe, refusalOf, requireWasmTool, variant } from "./variant.js";
import type { EnforcerName } from "../enforcers.js";

export const moduleTampered: Probe = async (env) => {
  const tool = requireWasmTool(env);
  const bytes = new Uint8Array(tool.moduleBytes);
  const at = bytes.length >> 1;
  bytes[at] = (bytes[at] ?? 0) ^ 0x01;
  const err = await refusalOf(env, variant(tool, { bytes, keepDigest: true, abi: tool.abi }));
  const stopped = err?.code === "ERR_ARTIFACT_DIGEST_MISMATCH";
  return { stopped, detail: stopped ? `one flipped bit at byte ${at} refused` : `not refused (${err?.code ?? "loaded"})` };
};

/** A valid module padded with a custom section to one byte over the tool's module cap. */
function oversizedModule(limit: number): Uint8Array {
  const name = new TextEncoder().encode("pad");
  const payloadLen = limit + 1;
  const leb = (n: number): number[] => {
    const out: number[] = [];
    do {
      let b = n & 0x7f;
      n = Math.floor(n / 128);
      if (n > 0) b |= 0x80;
      out.push(b);
    } while (n > 0);
    return out;
  };
  const content = [...leb(name.length), ...name];
  const sectionSize = content.length + payloadLen;
  const head = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x00, ...leb(sectionSize), ...content];
  const bytes = new Uint8Array(head.length + payloadLen);
  bytes.set(head);
  return bytes;
}

export const moduleOversized: Probe = async (env) => {
  const tool = requireWasmTool(env);
  const err = await refusalOf(env, variant(tool, { bytes: oversizedModule(tool.limits.moduleBytes) }));
  const stopped = err instanceof ToolRefused && err.enforcer === "wasm-module-vetting";
  return { stopped, detail: stopped ? `${tool.limits.moduleBytes + 1}-byte module refused before compile` : `not refused (${err?.code ?? "loaded"})` };
};

/** The vetting options a tool's module is held to (the same at policy load and in the cell). */
function vetOptionsOf(limits: Limits): VetOptions {
  return { maxBytes: limits.moduleBytes, maxFunctions: limits.maxFunctions, maxMemoryPages: Math.floor(limits.memoryBytes / 65536) };
}

function capRefusal(err: unknown, cap: ModuleCapName): ModuleCapExceeded | undefined {
  const reason = err instanceof ToolRefused ? err.reason : err;
  return reason instanceof ModuleCapExceeded && reason.cap === cap ? reason : undefined;
}

/**
 * A module one past the tool's `cap` (a count, a total, a size or a depth), generated here. It
 * must be refused by the control plane's load-time vetting (run here directly: it records
 * nothing) and by the cell, before compile, naming the cap: the cell's refusal is the one audit
 * record. Where the whole module would not fit under the byte cap (data or a body as large as
 * the cap), only the over-long length is written.
 */
export function moduleCapProbe(cap: ModuleCapName): Probe {
  return async (env) => {
    const tool = requireWasmTool(env);
    const opts = vetOptionsOf(tool.limits);
    const caps = vetCaps(opts);
    const declared = caps[cap] + 1;
    let bytes = capModule(cap, declared, { caps });
    if (bytes.length > opts.maxBytes) bytes = capModule(cap, declared, { caps, compact: true });
    let atLoad: unknown;
    try {
      vetModule(bytes, opts);
    } catch (err) {
      if (!(err instanceof CordonError)) throw err;
      atLoad = err;
    }
    const loadRefusal = capRefusal(atLoad, cap);
    const err = await refusalOf(env, variant(tool, { bytes }));
    const cellRefusal = err instanceof ToolRefused && err.enforcer === "wasm-module-vetting" ? capRefusal(err, cap) : undefined;
    const stopped = loadRefusal !== undefined && cellRefusal !== undefined;
    const what = `${declared} against the ${cap} cap of ${caps[cap]} (${bytes.length}-byte module)`;
    if (stopped) return { stopped, detail: `${what} refused at byte ${cellRefusal.offset}, at load and in the cell, before compile` };
    const seen = (e: unknown): string => (e instanceof CordonError ? `${e.code}${e instanceof ToolRefused ? ` ${e.reason.code}` : ""}` : "loaded");
    return { stopped, detail: `${what}: at load ${loadRefusal === undefined ? `not refused by the cap (${seen(atLoad)})` : "refused"}, in the cell ${cellRefusal === undefined ? `not refused by the cap (${seen(err)})` : "refused"}` };
  };
}

function importProbe(fixture: string, without: Grant["kind"] | null, enforcer: EnforcerName): Probe {
  return async (env) => {
    const tool = requireWasmTool(env);
    const grants = without === null ? tool.grants : tool.grants.filter((g) => g.kind !== without);
    const err = await refusalOf(env, variant(tool, { bytes: loadFixture(fixture), grants }));
    const stopped = err instanceof ToolRefused && err.enforcer === enforcer;
    const detail = err instanceof ToolRefused && "importName" in err.reason ? `import ${String(err.reason.importName)} refused at load` : `not refused (${err?.code ?? "loaded"})`;
    return { stopped, detail };
  };
}

export const importUngranted = importProbe("import-socket", null, "wasm-import-vetting");
export const envUngranted = importProbe("env-read", "env", "wasi-env");
export const clockUngranted = importProbe("import-clock", "clock", "wasi-clock");
export const randomUngranted = importProbe("import-random", "random", "wasi-random");
export const logUngranted = importProbe("import-log", "log", "cordon-log");
export const progressUngranted = importProbe("import-progress", "progress", "cordon-progress");
export const samplingUngranted = importProbe("sample-flood", "sampling", "cordon-sampling");

export const otherRoleTool: Probe = async (env) => {
  const role = env.line.scope.name;
  const policy = env.runtime.policy;
  const mine = new Set(policy.roles.get(role) ?? []);
  const foreign = [...policy.tools.keys()].find((t) => !mine.has(t)) ?? `${[...mine][0] ?? "tool"}`.toUpperCase();
  const session = await env.runtime.openSession(role);
  try {
    const result = await session.call(foreign, {});
    const stopped = !result.ok && result.error.code === "ERR_TOOL_NOT_FOUND";
    return { stopped, detail: stopped ? `'${foreign}' is not found in a session of role ${role}` : describe(result) };
  } finally {
    await env.runtime.closeSession(session);
  }
};
