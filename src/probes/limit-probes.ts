// Probes for resource limits, each run under the real tool's limits: memory cap, fuel,
// deadline (with fuel out of the way), stack, output and input caps, and the input schema.
import { LimitExceeded } from "../errors.js";
import { loadFixture } from "./fixtures.js";
import type { Probe } from "./types.js";
import { callVariant, describe, requireTool, requireWasmTool, variant } from "./variant.js";
import { openProbeSession } from "./probe-session.js";

/** Enough fuel that only the deadline can stop the guest. */
const UNLIMITED_FUEL = Number.MAX_SAFE_INTEGER;

function limitHit(limit: LimitExceeded["limit"]): (r: Awaited<ReturnType<typeof callVariant>>) => boolean {
  return (r) => !r.ok && r.error instanceof LimitExceeded && r.error.limit === limit;
}

export const memoryGrowBomb: Probe = async (env) => {
  const tool = requireWasmTool(env);
  const result = await callVariant(env, variant(tool, { bytes: loadFixture("memory-bomb"), grants: [] }), {});
  const pages = result.ok ? Number((result.output as { pages?: number }).pages) : NaN;
  const cap = tool.limits.memoryBytes / 65536;
  return {
    stopped: result.ok && pages <= cap,
    detail: result.ok ? `memory.grow refused at ${pages} of ${cap} pages` : describe(result),
  };
};

export const fuelSpin: Probe = async (env) => {
  const tool = requireWasmTool(env);
  const spin = variant(tool, { bytes: loadFixture("spin"), grants: [] });
  // Give the deadline room so that only fuel can stop it.
  const result = await callVariant(env, { ...spin, limits: { ...spin.limits, wallClockMs: 600_000 } }, {});
  const used = !result.ok && result.error instanceof LimitExceeded && result.error.limit === "fuel" ? result.error.used : undefined;
  return { stopped: used !== undefined, detail: used !== undefined ? `stopped after ${used} of ${tool.limits.fuel} fuel` : describe(result) };
};

export const deadlineSpin: Probe = async (env) => {
  const tool = requireWasmTool(env);
  const started = performance.now();
  const result = await callVariant(env, variant(tool, { bytes: loadFixture("spin"), grants: [] }), {}, { fuelOverride: UNLIMITED_FUEL });
  const ms = Math.round(performance.now() - started);
  const hit = limitHit("wall-clock")(result);
  return { stopped: hit, detail: hit ? `stopped by the ${tool.limits.wallClockMs}ms deadline (${ms}ms with session start)` : describe(result) };
};

export const deepRecursion: Probe = async (env) => {
  const tool = requireWasmTool(env);
  const result = await callVariant(env, variant(tool, { bytes: loadFixture("deep-recursion"), grants: [] }), {}, { fuelOverride: UNLIMITED_FUEL });
  const hit = limitHit("stack")(result);
  return { stopped: hit, detail: hit ? "stack overflow stopped as LimitExceeded(stack)" : describe(result) };
};

export const outputFlood: Probe = async (env) => {
  const tool = requireWasmTool(env);
  const result = await callVariant(env, variant(tool, { bytes: loadFixture("output-flood"), grants: [] }), {});
  const hit = limitHit("output")(result);
  return { stopped: hit, detail: hit ? `stopped at ${tool.limits.outputBytes} bytes` : describe(result) };
};

export const inputOversized: Probe = async (env) => {
  const tool = requireTool(env);
  const session = await openProbeSession(env.runtime, `probe:${tool.name}`, [tool]);
  try {
    const result = await session.call(tool.name, { padding: "x".repeat(tool.limits.inputBytes) });
    const hit = limitHit("input")(result);
    return { stopped: hit, detail: hit ? `refused ${tool.limits.inputBytes + 14} bytes before the call` : describe(result) };
  } finally {
    await env.runtime.closeSession(session);
  }
};

export const inputSchemaViolation: Probe = async (env) => {
  const tool = requireTool(env);
  const session = await openProbeSession(env.runtime, `probe:${tool.name}`, [tool]);
  try {
    // Not an object, so no tool's schema (all are `type: object`) can accept it.
    const result = await session.call(tool.name, ["not", "an", "object"]);
    const hit = !result.ok && result.error.code === "ERR_INPUT_INVALID";
    return { stopped: hit, detail: hit ? "refused by the schema before the cell saw it" : describe(result) };
  } finally {
    await env.runtime.closeSession(session);
  }
};
