// Turns whatever escaped a guest call into a typed error plus the enforcer that stopped it.
import { CordonError, GuestTrap, LimitExceeded, type LimitName } from "../../errors.js";
import type { EnforcerName } from "../../enforcers.js";

export const ENFORCER_FOR_LIMIT: Readonly<Record<LimitName, EnforcerName>> = {
  memory: "wasm-memory-cap",
  fuel: "wasm-fuel",
  "wall-clock": "wasm-deadline",
  stack: "wasm-stack-guard",
  output: "io-cap",
  input: "io-cap",
  fds: "wasi-jail",
  pids: "cgroup-pids",
};

/** Node's default V8 stack (`--stack-size`, KiB): the bound the stack guard enforces. */
const V8_STACK_BYTES = 984 * 1024;
const MAX_FRAMES = 8;
const WASM_FRAME = /at (?:(\S+) )?\(?wasm:\/\/wasm\/[^:]*:wasm-function\[(\d+)\]:(0x[0-9a-f]+)\)?/;

/** Short guest stack from a V8 error: function names (from the name section) and offsets. */
export function guestFrames(err: unknown): string[] {
  const stack = err instanceof Error && typeof err.stack === "string" ? err.stack : "";
  const frames: string[] = [];
  for (const line of stack.split("\n")) {
    const m = WASM_FRAME.exec(line);
    if (m === null) continue;
    const name = m[1] !== undefined && !m[1].includes("wasm-function[") ? m[1].replace(/^[^.]*\.wasm\./, "") : `func[${m[2]}]`;
    frames.push(`${name}@${m[3]}`);
    if (frames.length >= MAX_FRAMES) break;
  }
  return frames;
}

export function toGuestError(err: unknown): { error: CordonError; enforcer: EnforcerName | null } {
  if (err instanceof LimitExceeded) return { error: err, enforcer: ENFORCER_FOR_LIMIT[err.limit] };
  if (err instanceof CordonError) return { error: err, enforcer: null };
  if (err instanceof RangeError && /call stack/i.test(err.message)) {
    return { error: new LimitExceeded("stack", V8_STACK_BYTES, V8_STACK_BYTES), enforcer: ENFORCER_FOR_LIMIT.stack };
  }
  const frames = guestFrames(err);
  const func = frames[0]?.split("@")[0] ?? null;
  if (err instanceof WebAssembly.RuntimeError) return { error: new GuestTrap(err.message, func, frames), enforcer: null };
  // A host bug must not masquerade as a guest result; it is still reported as a typed trap.
  const reason = err instanceof Error ? `host error: ${err.name}` : "host error";
  return { error: new GuestTrap(reason, func, frames), enforcer: null };
}
