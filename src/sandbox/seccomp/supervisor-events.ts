// What the seccomp supervisor (cordon-launch --supervise) reports, one line per event, parsed
// into data. Pure. The supervisor answers every notified call itself; these lines are only
// what the control plane records. A line that does not parse is reported as such, never
// dropped: the sandbox it came from is then treated as misbehaving.
import { archSpec, type ArchSpec } from "./syscall-table.js";

export type SeccompEvent =
  /** A call the rule table denies: answered EPERM. */
  | { readonly kind: "denied"; readonly syscall: string; readonly nr: number; readonly arch: number; readonly pid: number }
  /** A call through a foreign ABI (i386 int 0x80): the supervisor killed the sandbox. */
  | { readonly kind: "killed"; readonly syscall: string; readonly nr: number; readonly arch: number; readonly pid: number }
  /** The supervisor could not supervise (no listener was handed over, no kernel support). */
  | { readonly kind: "failed"; readonly reason: string };

/** Longest line the control plane reads from a supervisor. */
export const MAX_EVENT_LINE = 256;

const AUDIT_ARCH_I386 = 0x40000003;

/** A syscall's name as an operator reads it: `socket`, `x32:socket`, `i386:102`, `nr:999`. */
export function syscallName(spec: ArchSpec, nr: number, arch: number): string {
  if (arch !== spec.auditArch) return `${arch === AUDIT_ARCH_I386 ? "i386" : `arch-0x${arch.toString(16)}`}:${nr}`;
  const x32 = spec.x32SyscallBit !== null && nr >= spec.x32SyscallBit;
  const plain = x32 && spec.x32SyscallBit !== null ? nr - spec.x32SyscallBit : nr;
  const name = Object.entries(spec.numbers).find(([, n]) => n === plain)?.[0] ?? `nr:${plain}`;
  return x32 ? `x32:${name}` : name;
}

/** One supervisor line, without its newline. */
export function parseSeccompEvent(line: string, spec: ArchSpec = archSpec(process.arch)): SeccompEvent {
  if (line.length > MAX_EVENT_LINE) return { kind: "failed", reason: "an over-long supervisor line" };
  const m = /^([DK]) (-?\d{1,10}) ([0-9a-f]{1,8}) (\d{1,10})$/.exec(line);
  if (m !== null) {
    const nr = Number(m[2]);
    const arch = Number.parseInt(m[3] ?? "", 16);
    const pid = Number(m[4]);
    return { kind: m[1] === "D" ? "denied" : "killed", syscall: syscallName(spec, nr, arch), nr, arch, pid };
  }
  if (line.startsWith("X ")) return { kind: "failed", reason: line.slice(2, 2 + 128) };
  return { kind: "failed", reason: "an unreadable supervisor line" };
}
