// Risk routing, as data (seed 002): each tool's risk demands a minimum stack of isolation
// layers; a tier provides a stack; a tool whose tier is weaker than its risk demands is refused
// at load in the `production` profile, and in `local-dev` it runs with every record and prove
// row of it stamped as weaker. Pure: no host is consulted here (the router checks the host).
import type { Layer } from "../tier/tool-host.js";

export type Risk = "pure-compute" | "file-ops" | "build-test" | "untrusted-code";
export type Profile = "local-dev" | "production";

/** Seed 002's four stacks, from the weakest. */
export type Level = "low" | "medium" | "high" | "very-high";
export const LEVELS: readonly Level[] = ["low", "medium", "high", "very-high"];

/** What each level needs, in words (the check is `strengthOf`). */
export const LEVEL_NEEDS: Readonly<Record<Level, string>> = Object.freeze({
  low: "the OS sandbox (namespaces, seccomp, cgroups)",
  medium: "a container with seccomp, or gVisor",
  high: "a container plus Wasm, or gVisor",
  "very-high": "a microVM around a sandboxed tool",
});

/** The strongest of seed 002's stacks that a set of layers makes up, or null. */
export function strengthOf(stack: readonly Layer[]): Level | null {
  const has = (l: Layer) => stack.includes(l);
  if (has("microvm") && (has("os-sandbox") || has("container") || has("wasm"))) return "very-high";
  if (has("container") && (has("gvisor") || has("wasm"))) return "high";
  if (has("container") && has("seccomp")) return "medium";
  if (has("os-sandbox") && has("seccomp")) return "low";
  return null;
}

/** A policy's raised levels, per risk. */
export type Demands = { readonly [R in Risk]?: Level | undefined };

/** What each risk needs by default; a policy may raise (never lower) it. */
export const RISK_LEVEL: Readonly<Record<Risk, Level>> = Object.freeze({
  "pure-compute": "low",
  "file-ops": "low",
  "build-test": "medium",
  "untrusted-code": "very-high",
});

/** The stack a tier gives a tool (the container tier's depends on its runtime). */
export function stackOf(tier: string, containerRuntime?: "crun" | "runsc"): readonly Layer[] {
  switch (tier) {
    case "wasm":
      return ["wasm", "os-sandbox", "seccomp"];
    case "process":
      return ["os-sandbox", "seccomp"];
    case "container":
      return containerRuntime === "runsc" ? ["container", "gvisor"] : ["container", "os-sandbox", "seccomp"];
    case "microvm":
      return ["microvm", "os-sandbox", "seccomp"];
    default:
      return [];
  }
}

export function satisfies(stack: readonly Layer[], level: Level): boolean {
  const strength = strengthOf(stack);
  return strength !== null && LEVELS.indexOf(strength) >= LEVELS.indexOf(level);
}

/** The level a risk needs under a policy's demands (raised, never lowered). */
export function levelFor(risk: Risk, demands: Demands = {}): Level {
  const base = RISK_LEVEL[risk];
  const asked = demands[risk];
  return asked !== undefined && LEVELS.indexOf(asked) > LEVELS.indexOf(base) ? asked : base;
}

export type RiskVerdict =
  | { readonly ok: true; readonly level: Level; readonly stack: readonly Layer[] }
  /** Weaker than the risk demands: refused in production; in local-dev it runs, stamped. */
  | { readonly ok: false; readonly level: Level; readonly stack: readonly Layer[]; readonly problem: string };

export function judgeRisk(risk: Risk, stack: readonly Layer[], demands: Demands = {}): RiskVerdict {
  const level = levelFor(risk, demands);
  if (satisfies(stack, level)) return { ok: true, level, stack };
  return { ok: false, level, stack, problem: `risk ${risk} needs the ${level} stack (${LEVEL_NEEDS[level]}); its tier gives ${stack.join("+") || "nothing"} (${strengthOf(stack) ?? "none"})` };
}
