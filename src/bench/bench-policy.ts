// A real policy for the benchmark, loaded the way the CLI loads one: a temporary directory
// with a policy.yaml and copies of the modules, pinned by digest, through loadPolicy.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sha256Hex } from "../crypto/digest.js";
import { loadPolicy, type LoadedPolicy } from "../policy/load-policy.js";
import type { ToolTemplate } from "../wasm/engine/types.js";
import type { Guest } from "./guests.js";

export const BENCH_ROLE = "bench";

/** Big enough that only the work decides how long a CPU-bound run takes. */
const CPU_LIMITS = "{ memory: 16MiB, fuel: 9007199254740991, wallClockMs: 60000, inputBytes: 4KiB, outputBytes: 4KiB }";

interface ToolSpec {
  readonly guest: Guest;
  readonly abi: "wasi-command" | "reactor";
  readonly limits: string;
  readonly grants: string;
}

function toolYaml(name: string, spec: ToolSpec): string {
  return `  ${name}:
    description: benchmark tool ${name}
    module: { path: modules/${name}.wasm, sha256: "${sha256Hex(spec.guest.bytes)}" }
    abi: ${spec.abi}
    risk: pure-compute
    tier: wasm
    limits: ${spec.limits}
    grants:${spec.grants}
    input: { type: object }
`;
}

export interface BenchPolicy {
  readonly dir: string;
  readonly policy: LoadedPolicy;
  /** Every tool of the policy as the cell receives it. */
  templates(): ToolTemplate[];
  remove(): void;
}

/** Tools: echo, notes (reactor; clock + random), and each CPU-bound guest under its own name. */
export function writeBenchPolicy(guests: { echo: Guest; notes: Guest; cpuBound: readonly Guest[] }): BenchPolicy {
  const dir = mkdtempSync(join(tmpdir(), "cordon-bench-"));
  mkdirSync(join(dir, "modules"));
  const tools: Record<string, ToolSpec> = {
    echo: { guest: guests.echo, abi: "wasi-command", limits: "{ memory: 1MiB, fuel: 1000000, wallClockMs: 1000, inputBytes: 4KiB, outputBytes: 4KiB }", grants: " []" },
    notes: {
      guest: guests.notes,
      abi: "reactor",
      limits: "{ memory: 4MiB, fuel: 50000000, wallClockMs: 500, inputBytes: 16KiB, outputBytes: 256KiB }",
      grants: `
      - { kind: clock, enforcer: wasi-clock, check: clock-ungranted }
      - { kind: random, enforcer: wasi-random, check: random-ungranted }`,
    },
  };
  for (const guest of guests.cpuBound) tools[guest.name] = { guest, abi: "wasi-command", limits: CPU_LIMITS, grants: " []" };
  let yaml = `version: 1\nroles:\n  ${BENCH_ROLE}:\n    tools: [echo, notes]\ntools:\n`;
  for (const [name, spec] of Object.entries(tools)) {
    writeFileSync(join(dir, "modules", `${name}.wasm`), spec.guest.bytes);
    yaml += toolYaml(name, spec);
  }
  const path = join(dir, "policy.yaml");
  writeFileSync(path, yaml);
  const policy = loadPolicy(path);
  return {
    dir,
    policy,
    templates: () =>
      [...policy.tools.values()].flatMap((t) => (t.tier === "wasm" ? [{ name: t.name, abi: t.abi, moduleBytes: t.moduleBytes, limits: t.limits, grants: t.grants }] : [])),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
