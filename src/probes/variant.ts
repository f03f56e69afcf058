// Probe tools are variants of a real tool: same limits and tier, with a hostile fixture's
// bytes and (for filesystem probes) a throwaway directory in place of the real grant.
import { sha256Hex } from "../crypto/digest.js";
import { CordonError, type Json } from "../errors.js";
import type { Grant } from "../types/tool.js"
import type { LoadedTool, WasmTool } from "../policy/load-policy.js";
import { NO_OUTPUT_CHECK } from "../policy/output-check.js";
import type { SessionCallOptions, ToolResult } from "../runtime/session.js";
import type { ProbeEnv } from "./types.js";
import { openProbeSession } from "./probe-session.js";

export interface VariantChanges {
  readonly bytes?: Uint8Array;
  readonly grants?: readonly Grant[];
  readonly abi?: WasmTool["abi"];
  /** Keep the real tool's digest even though the bytes changed (the tamper probe). */
  readonly keepDigest?: boolean;
}

/**
 * The real tool with a hostile fixture's bytes (or grants): its other lines (human approval,
 * the shape of its results) are lines of their own, proven by their own probes, so a variant
 * asks no approval and has its results checked by nothing but what the probe attacks.
 */
export function variant(tool: WasmTool, changes: VariantChanges): WasmTool {
  const bytes = changes.bytes ?? tool.moduleBytes;
  return Object.freeze({
    ...tool,
    abi: changes.abi ?? "wasi-command",
    moduleBytes: bytes,
    moduleSha256: changes.keepDigest === true ? tool.moduleSha256 : sha256Hex(bytes),
    grants: changes.grants ?? tool.grants,
    validateInput: () => [],
    approval: null,
    output: NO_OUTPUT_CHECK,
  });
}

export function requireTool(env: ProbeEnv): LoadedTool {
  if (env.tool === undefined) throw new Error(`probe for '${env.line.text}' needs a tool line`);
  return env.tool;
}

export function requireWasmTool(env: ProbeEnv): WasmTool {
  const tool = requireTool(env);
  if (tool.tier !== "wasm") throw new Error(`probe for '${env.line.text}' needs a wasm tool`);
  return tool;
}

/** Opens a one-tool probe session, runs one call, closes the session. */
export async function callVariant(env: ProbeEnv, tool: LoadedTool, input: Json, opts: SessionCallOptions = {}): Promise<ToolResult> {
  const session = await openProbeSession(env.runtime, `probe:${env.line.scope.name}`, [tool]);
  try {
    return await session.call(tool.name, input, opts);
  } finally {
    await env.runtime.closeSession(session);
  }
}

/** Opens a probe session expecting the load to be refused; returns the refusal. */
export async function refusalOf(env: ProbeEnv, tool: LoadedTool): Promise<CordonError | undefined> {
  try {
    const session = await openProbeSession(env.runtime, `probe:${env.line.scope.name}`, [tool]);
    await env.runtime.closeSession(session);
    return undefined;
  } catch (err) {
    if (err instanceof CordonError) return err;
    throw err;
  }
}

export function describe(result: ToolResult): string {
  return result.ok ? "call succeeded" : `${result.error.code}${"limit" in result.error ? ` (${String(result.error.limit)})` : ""}`;
}
