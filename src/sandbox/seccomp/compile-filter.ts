// Compile a seccomp rule table (rules.ts) into the classic-BPF program cordon-seccomp-exec
// installs inside the sandbox with a listener (mode "notify", what cells and tools run under),
// or that bwrap loads with `--seccomp FD` (mode "errno": the same decisions, unrecorded; used
// where no supervisor can run, e.g. the host check). Pure: rules in, bytes out; the same rules
// always give the same bytes.
//
// Program shape:
//   0  A = seccomp_data.arch
//   1  if A == AUDIT_ARCH_<native> skip 1
//   2  return USER_NOTIF | KILL_PROCESS     a foreign ABI (i386 int 0x80, arm32 compat) would
//                                           reach other syscalls under the same numbers; the
//                                           supervisor records it and kills the sandbox
//   3  A = seccomp_data.nr
//  [4  if A >= 0x40000000 skip 0 else 1     x86_64 only: the x32 ABI
//   5  return USER_NOTIF | ERRNO(EPERM)]
//      then one block per rule, in table order:
//        [A = nr]                           only when the previous block left an argument in A
//        if A == <nr> fall in, else jump past the block
//        <argument test, see conditionBody>
//        return <action>
//      return ALLOW
// Every jump is forward and stays inside its own block (at most 6 instructions), so no offset
// comes near the u8 limit of 255, whatever the table's length.

import { SeccompFilterTooLong, SeccompRuleInvalid } from "../../errors.js";
import {
  argHighOffset,
  argLowOffset,
  BPF_MAX_INSTRUCTIONS,
  encodeProgram,
  jeq,
  jge,
  jset,
  load,
  ret,
  SECCOMP_DATA_ARCH,
  SECCOMP_DATA_NR,
  SECCOMP_RET_ALLOW,
  SECCOMP_RET_ERRNO,
  SECCOMP_RET_KILL_PROCESS,
  SECCOMP_RET_USER_NOTIF,
} from "./bpf.js";
import type { BpfInstruction } from "./bpf.js";
import { ERRNO_NUMBERS } from "./rules.js";
import type { ArgCondition, SeccompRule } from "./rules.js";
import { archSpec, syscallNumber } from "./syscall-table.js";
import type { ArchSpec } from "./syscall-table.js";

/**
 * How a recorded denial ("deny" rules, the foreign-ABI and x32 checks) is returned: "notify"
 * (SECCOMP_RET_USER_NOTIF, answered and recorded by the supervisor) or "errno" (EPERM, and KILL
 * for a foreign ABI, straight from the kernel, with no record).
 */
export type DenyMode = "notify" | "errno";

/**
 * The seccomp program for `rules` on `arch` (a `process.arch` value), as the bytes of a
 * struct sock_filter[]. Throws SeccompArchUnsupported for an arch without a syscall table,
 * SeccompRuleInvalid for a rule it cannot compile exactly, SeccompFilterTooLong past 4096
 * instructions: it never returns a filter that enforces less than the table says.
 */
export function compileFilter(rules: readonly SeccompRule[], arch: string = process.arch, mode: DenyMode = "notify"): Uint8Array {
  const spec = archSpec(arch);
  const program: BpfInstruction[] = prologue(spec, mode);
  let accumulatorHoldsNr = true;
  rules.forEach((rule, index) => {
    const nr = checkRule(rule, index, spec);
    if (nr === "absent") return; // nothing to deny: the syscall does not exist on this arch
    const body = [...conditionBody(rule.when), ret(actionValue(rule, mode))];
    if (!accumulatorHoldsNr) program.push(load(SECCOMP_DATA_NR));
    program.push(jeq(nr, 0, body.length), ...body);
    accumulatorHoldsNr = rule.when === undefined;
  });
  program.push(ret(SECCOMP_RET_ALLOW));
  if (program.length > BPF_MAX_INSTRUCTIONS) throw new SeccompFilterTooLong(program.length, BPF_MAX_INSTRUCTIONS);
  return encodeProgram(program);
}

function prologue(spec: ArchSpec, mode: DenyMode): BpfInstruction[] {
  const program = [
    load(SECCOMP_DATA_ARCH),
    jeq(spec.auditArch, 1, 0),
    ret(mode === "notify" ? SECCOMP_RET_USER_NOTIF : SECCOMP_RET_KILL_PROCESS),
    load(SECCOMP_DATA_NR),
  ];
  if (spec.x32SyscallBit !== null) {
    program.push(jge(spec.x32SyscallBit, 0, 1), ret(denyValue(mode)));
  }
  return program;
}

const denyValue = (mode: DenyMode): number => (mode === "notify" ? SECCOMP_RET_USER_NOTIF : errnoValue(ERRNO_NUMBERS.EPERM));

/**
 * Instructions that fall through to the action's `return` when the condition holds and jump
 * just past it (to the next block) when it does not. See rules.ts for the 64-bit semantics.
 */
function conditionBody(when: ArgCondition | undefined): BpfInstruction[] {
  if (when === undefined) return [];
  const low = argLowOffset(when.arg);
  const high = argHighOffset(when.arg);
  switch (when.op) {
    case "eq":
      // deny iff low == value
      return [load(low), jeq(when.value, 0, 1)];
    case "ne":
      // deny iff high != 0 || low != value
      return [load(high), jeq(0, 0, 2), load(low), jeq(when.value, 1, 0)];
    case "masked-any":
      // deny iff high != 0 || (low & value) != 0
      return [load(high), jeq(0, 0, 2), load(low), jset(when.value, 0, 1)];
  }
}

function actionValue(rule: SeccompRule, mode: DenyMode): number {
  switch (rule.action) {
    case "deny":
      return denyValue(mode);
    case "errno":
      return errnoValue(ERRNO_NUMBERS[rule.errno]);
    case "kill":
      return SECCOMP_RET_KILL_PROCESS;
  }
}

const errnoValue = (errno: number): number => (SECCOMP_RET_ERRNO | errno) >>> 0;

const OPS: readonly string[] = ["eq", "ne", "masked-any"];

/**
 * Validate `rule` as it is at run time (the table may come from outside the type checker) and
 * return its syscall number on `spec`'s arch.
 */
function checkRule(rule: SeccompRule, index: number, spec: ArchSpec): number | "absent" {
  const raw = rule as unknown as Record<string, unknown>;
  const name = typeof raw["syscall"] === "string" ? raw["syscall"] : String(raw["syscall"]);
  const invalid = (problem: string): SeccompRuleInvalid => new SeccompRuleInvalid(index, name, problem);

  if (typeof raw["why"] !== "string" || raw["why"].trim() === "") throw invalid("every rule needs a `why`");
  const action = raw["action"];
  if (action === "errno") {
    const errno = raw["errno"];
    if (typeof errno !== "string" || !Object.hasOwn(ERRNO_NUMBERS, errno)) {
      throw invalid(`errno must be one of ${Object.keys(ERRNO_NUMBERS).join(", ")}`);
    }
  } else if (action === "kill" || action === "deny") {
    if (raw["errno"] !== undefined) throw invalid(`a ${action} rule takes no errno`);
  } else {
    throw invalid('action must be "deny", "errno" or "kill"');
  }

  const when = raw["when"];
  if (when !== undefined) {
    if (typeof when !== "object" || when === null) throw invalid("`when` must be an object");
    const { arg, op, value } = when as Record<string, unknown>;
    if (typeof arg !== "number" || !Number.isInteger(arg) || arg < 0 || arg > 5) throw invalid("when.arg must be 0..5");
    if (typeof op !== "string" || !OPS.includes(op)) throw invalid(`when.op must be one of ${OPS.join(", ")}`);
    if (typeof value !== "number" || !Number.isInteger(value) || value < 0 || value > 0xffffffff) {
      throw invalid("when.value must be an integer in 0..0xffffffff");
    }
    if (op === "masked-any" && value === 0) throw invalid("a masked-any condition needs a nonzero mask");
  }

  if (typeof raw["syscall"] !== "string") throw invalid("syscall must be a name");
  const nr = syscallNumber(spec, raw["syscall"]);
  if (nr === undefined) throw invalid(`unknown syscall on ${spec.kernelArch}; add it to syscall-table.ts`);
  return nr;
}
