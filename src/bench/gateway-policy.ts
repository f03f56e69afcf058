// The gateway load's policy: the example tools for two roles, and for the operator three tools
// that fail on purpose, each a different way: a Wasm trap, a Wasm loop stopped by its deadline,
// and a process-tier script the kernel OOM-kills at its cgroup's memory limit. Written to a
// temporary directory and loaded through loadPolicy, as the CLI loads one.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sha256Hex } from "../crypto/digest.js";
import { loadPolicy, type LoadedPolicy } from "../policy/load-policy.js";
import { fixturePath } from "../probes/fixtures.js";
import { REPO_ROOT } from "./guests.js";

/** Tools every role holds: the load's ordinary calls. */
export const SHARED_TOOLS = ["text-stats", "notes"] as const;
/** The operator's extra tools, each failing in its own way. */
export const FAULT_TOOLS = { trap: "trap", loop: "spin", killed: "hog" } as const;

/** How long the spinning guest may run before its deadline stops it. */
export const SPIN_DEADLINE_MS = 25;

/** Allocates and touches far more than its cgroup allows: the kernel's OOM killer ends it. */
const HOG_SCRIPT = "import sys\nsys.stdin.read()\nblob = bytearray(b'x') * (512 << 20)\nprint(len(blob))\n";

export interface GatewayPolicy {
  readonly dir: string;
  readonly policy: LoadedPolicy;
  remove(): void;
}

function pinned(dir: string, rel: string, bytes: Uint8Array): string {
  writeFileSync(join(dir, rel), bytes);
  return `{ path: ${rel}, sha256: "${sha256Hex(bytes)}" }`;
}

export function writeGatewayPolicy(): GatewayPolicy {
  const dir = mkdtempSync(join(tmpdir(), "cordon-bench-gw-"));
  try {
    mkdirSync(join(dir, "modules"));
    const module = (name: string, from: string) => pinned(dir, `modules/${name}.wasm`, new Uint8Array(readFileSync(from)));
    const textStats = module("text-stats", join(REPO_ROOT, "examples", "modules", "text-stats.wasm"));
    const notes = module("notes", join(REPO_ROOT, "examples", "modules", "notes.wasm"));
    const trap = module("trap", fixturePath("trap"));
    const spin = module("spin", fixturePath("spin"));
    const hog = pinned(dir, "hog.py", new TextEncoder().encode(HOG_SCRIPT));
    const yaml = `version: 1
roles:
  analyst:
    tools: [text-stats, notes]
  operator:
    tools: [text-stats, notes, trap, spin, hog]
tools:
  text-stats:
    description: counts lines, words and characters
    module: ${textStats}
    abi: wasi-command
    risk: pure-compute
    tier: wasm
    limits: { memory: 2MiB, fuel: 200000000, wallClockMs: 500, inputBytes: 256KiB, outputBytes: 4KiB }
    grants:
      - { kind: log, enforcer: cordon-log, check: log-ungranted }
    input:
      type: object
      properties: { text: { type: string, maxLength: 200000 } }
      required: [text]
      additionalProperties: false
  notes:
    description: a per-session notebook (reactor)
    module: ${notes}
    abi: reactor
    risk: pure-compute
    tier: wasm
    limits: { memory: 4MiB, fuel: 50000000, wallClockMs: 500, inputBytes: 16KiB, outputBytes: 256KiB }
    grants:
      - { kind: clock, enforcer: wasi-clock, check: clock-ungranted }
      - { kind: random, enforcer: wasi-random, check: random-ungranted }
    input:
      type: object
      properties: { op: { type: string, enum: [add, list, clear] }, text: { type: string, maxLength: 4096 } }
      required: [op]
      additionalProperties: false
  trap:
    description: executes unreachable (a guest trap)
    module: ${trap}
    abi: wasi-command
    risk: pure-compute
    tier: wasm
    limits: { memory: 1MiB, fuel: 1000000, wallClockMs: 500, inputBytes: 1KiB, outputBytes: 1KiB }
    grants: []
    input: { type: object, additionalProperties: false }
  spin:
    description: loops forever; fuel is no object, the deadline stops it
    module: ${spin}
    abi: wasi-command
    risk: pure-compute
    tier: wasm
    limits: { memory: 1MiB, fuel: 9007199254740991, wallClockMs: ${SPIN_DEADLINE_MS}, inputBytes: 1KiB, outputBytes: 1KiB }
    grants: []
    input: { type: object, additionalProperties: false }
  hog:
    description: allocates past its memory limit and is OOM-killed
    command:
      argv: [/usr/bin/python3, -I, -S, -B, -c, "{script}"]
      script: ${hog}
    abi: json-stdio
    risk: file-ops
    tier: process
    limits: { memory: 48MiB, wallClockMs: 2000, inputBytes: 1KiB, outputBytes: 1KiB, pids: 4 }
    grants: []
    input: { type: object, additionalProperties: false }
`;
    writeFileSync(join(dir, "policy.yaml"), yaml);
    const policy = loadPolicy(join(dir, "policy.yaml"));
    return { dir, policy, remove: () => rmSync(dir, { recursive: true, force: true }) };
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}
