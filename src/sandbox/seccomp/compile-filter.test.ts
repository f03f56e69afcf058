import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { compileFilter } from "./compile-filter.js";
import { AF_UNIX, CLONE_NAMESPACE_FLAGS, DEFAULT_RULES, PERSONALITY_WEAKENING_FLAGS } from "./rules.js";
import type { ArgCondition, SeccompRule } from "./rules.js";
import { ARCH_SPECS, archSpec } from "./syscall-table.js";
import type { ArchSpec } from "./syscall-table.js";

// Everything below reads the program's raw bytes on its own (DataView, literal opcodes), so a
// bug shared by the compiler's encoder and a decoder cannot hide.

const LD_W_ABS = 0x20, JEQ_K = 0x15, JGE_K = 0x35, JSET_K = 0x45, RET_K = 0x06;
const KILL_PROCESS = 0x80000000;
const ALLOW = 0x7fff0000;
const ERRNO_EPERM = 0x00050001;
const ERRNO_ENOSYS = 0x00050026;
const USER_NOTIF = 0x7fc00000;
/** What a recorded denial compiles to in the default ("notify") mode: the supervisor answers EPERM. */
const DENIED = USER_NOTIF;
const AUDIT_ARCH_X86_64 = 0xc000003e;
const AUDIT_ARCH_AARCH64 = 0xc00000b7;
const AUDIT_ARCH_I386 = 0x40000003;
const X32_BIT = 0x40000000;

interface Insn { code: number; jt: number; jf: number; k: number }

function decode(bytes: Uint8Array): Insn[] {
  assert.equal(bytes.length % 8, 0, "a whole number of struct sock_filter");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return Array.from({ length: bytes.length / 8 }, (_, i) => ({
    code: view.getUint16(i * 8, true),
    jt: view.getUint8(i * 8 + 2),
    jf: view.getUint8(i * 8 + 3),
    k: view.getUint32(i * 8 + 4, true),
  }));
}

interface SeccompData { nr: number; arch: number; args: readonly bigint[] }

/** struct seccomp_data, little-endian: int nr; u32 arch; u64 ip; u64 args[6]. */
function encodeData(data: SeccompData): DataView {
  const view = new DataView(new ArrayBuffer(64));
  view.setUint32(0, data.nr >>> 0, true);
  view.setUint32(4, data.arch >>> 0, true);
  data.args.forEach((a, i) => view.setBigUint64(16 + 8 * i, BigInt.asUintN(64, a), true));
  return view;
}

/** A classic-BPF interpreter for the subset seccomp programs use; throws on anything else. */
function run(program: readonly Insn[], data: SeccompData): number {
  const mem = encodeData(data);
  let a = 0;
  let pc = 0;
  for (let steps = 0; steps <= program.length; steps++) {
    const insn = program[pc];
    if (insn === undefined) throw new Error(`pc ${pc} ran off the program`);
    switch (insn.code) {
      case LD_W_ABS:
        if (insn.k % 4 !== 0 || insn.k + 4 > 64) throw new Error(`bad load offset ${insn.k}`);
        a = mem.getUint32(insn.k, true);
        pc += 1;
        break;
      case JEQ_K:
        pc += 1 + (a === insn.k ? insn.jt : insn.jf);
        break;
      case JGE_K:
        pc += 1 + (a >= insn.k ? insn.jt : insn.jf);
        break;
      case JSET_K:
        pc += 1 + ((a & insn.k) !== 0 ? insn.jt : insn.jf);
        break;
      case RET_K:
        return insn.k;
      default:
        throw new Error(`unexpected opcode 0x${insn.code.toString(16)} at ${pc}`);
    }
  }
  throw new Error("no return (a loop is impossible with forward jumps)");
}

/** The rule table's meaning, written directly from rules.ts's semantics (64-bit BigInt). */
function holds(when: ArgCondition, arg: bigint): boolean {
  const v = BigInt(when.value);
  switch (when.op) {
    case "eq":
      return (arg & 0xffffffffn) === v;
    case "ne":
      return arg !== v;
    case "masked-any":
      return (arg & (0xffffffff00000000n | v)) !== 0n;
  }
}

function evaluate(rules: readonly SeccompRule[], spec: ArchSpec, data: SeccompData, mode: "notify" | "errno" = "notify"): number {
  const denied = mode === "notify" ? USER_NOTIF : ERRNO_EPERM;
  if (data.arch >>> 0 !== spec.auditArch) return mode === "notify" ? USER_NOTIF : KILL_PROCESS;
  if (spec.x32SyscallBit !== null && data.nr >>> 0 >= spec.x32SyscallBit) return denied;
  for (const rule of rules) {
    if (spec.numbers[rule.syscall] !== data.nr >>> 0) continue;
    if (rule.when !== undefined && !holds(rule.when, data.args[rule.when.arg] ?? 0n)) continue;
    if (rule.action === "kill") return KILL_PROCESS;
    if (rule.action === "deny") return denied;
    return rule.errno === "EPERM" ? ERRNO_EPERM : ERRNO_ENOSYS;
  }
  return ALLOW;
}

const x64 = archSpec("x64");
const arm64 = archSpec("arm64");
const nr = (spec: ArchSpec, name: string): number => {
  const n = spec.numbers[name];
  assert.notEqual(n, undefined, `${name} on ${spec.kernelArch}`);
  return n!;
};
const call = (spec: ArchSpec, name: string, ...args: bigint[]): SeccompData => ({
  nr: nr(spec, name),
  arch: spec.auditArch,
  args: [...args, 0n, 0n, 0n, 0n, 0n, 0n].slice(0, 6),
});

void test("the program starts with the arch check, then the x32 check (x86_64)", () => {
  const p = decode(compileFilter(DEFAULT_RULES, "x64"));
  assert.deepEqual(p.slice(0, 6), [
    { code: LD_W_ABS, jt: 0, jf: 0, k: 4 },
    { code: JEQ_K, jt: 1, jf: 0, k: AUDIT_ARCH_X86_64 },
    { code: RET_K, jt: 0, jf: 0, k: USER_NOTIF },
    { code: LD_W_ABS, jt: 0, jf: 0, k: 0 },
    { code: JGE_K, jt: 0, jf: 1, k: X32_BIT },
    { code: RET_K, jt: 0, jf: 0, k: USER_NOTIF },
  ]);
  assert.deepEqual(p.at(-1), { code: RET_K, jt: 0, jf: 0, k: ALLOW });
});

void test("on aarch64 the arch word differs and there is no x32 check", () => {
  const p = decode(compileFilter(DEFAULT_RULES, "arm64"));
  assert.deepEqual(p.slice(0, 4), [
    { code: LD_W_ABS, jt: 0, jf: 0, k: 4 },
    { code: JEQ_K, jt: 1, jf: 0, k: AUDIT_ARCH_AARCH64 },
    { code: RET_K, jt: 0, jf: 0, k: USER_NOTIF },
    { code: LD_W_ABS, jt: 0, jf: 0, k: 0 },
  ]);
  assert.notEqual(p[4]?.code, JGE_K);
});

void test("every program is well-formed: known opcodes, aligned loads, jumps inside, ends in ALLOW", () => {
  for (const spec of ARCH_SPECS) {
    const p = decode(compileFilter(DEFAULT_RULES, spec.nodeArch));
    assert.ok(p.length <= 4096 && p.length > 6, `${spec.kernelArch}: ${p.length} instructions`);
    p.forEach((insn, i) => {
      assert.ok([LD_W_ABS, JEQ_K, JGE_K, JSET_K, RET_K].includes(insn.code), `opcode at ${i}`);
      if (insn.code === LD_W_ABS) assert.ok(insn.k % 4 === 0 && insn.k <= 60, `load at ${i}`);
      if (insn.code === JEQ_K || insn.code === JGE_K || insn.code === JSET_K) {
        assert.ok(i + 1 + Math.max(insn.jt, insn.jf) < p.length, `jump at ${i} stays inside`);
      } else {
        assert.equal(insn.jt + insn.jf, 0, `no jump offsets on a non-jump at ${i}`);
      }
    });
    assert.deepEqual(p.at(-1), { code: RET_K, jt: 0, jf: 0, k: ALLOW });
    // every deny return in the program is one the table asks for
    const returns = new Set(p.filter((i) => i.code === RET_K).map((i) => i.k));
    assert.deepEqual([...returns].sort(), [ALLOW, USER_NOTIF, ERRNO_ENOSYS].sort());
  }
});

void test("the same rules always compile to the same bytes", () => {
  assert.deepEqual(compileFilter(DEFAULT_RULES, "x64"), compileFilter(DEFAULT_RULES, "x64"));
  assert.notDeepEqual(compileFilter(DEFAULT_RULES, "x64"), compileFilter(DEFAULT_RULES, "arm64"));
});

void test("each rule of the table denies exactly what it says (x86_64 and aarch64)", () => {
  for (const spec of ARCH_SPECS) {
    const p = decode(compileFilter(DEFAULT_RULES, spec.nodeArch));
    for (const rule of DEFAULT_RULES) {
      if (spec.absent.includes(rule.syscall)) continue;
      const want = rule.action === "kill" ? KILL_PROCESS : rule.action === "deny" ? DENIED : rule.errno === "EPERM" ? ERRNO_EPERM : ERRNO_ENOSYS;
      if (rule.when === undefined) {
        assert.equal(run(p, call(spec, rule.syscall)), want, `${rule.syscall} on ${spec.kernelArch}`);
        assert.equal(run(p, call(spec, rule.syscall, 0xffffffffffffffffn, 7n)), want, rule.syscall);
      } else {
        const matching = rule.when.op === "ne" ? BigInt(rule.when.value) + 1n : BigInt(rule.when.value);
        const args = Array<bigint>(6).fill(0n);
        args[rule.when.arg] = matching;
        assert.equal(run(p, call(spec, rule.syscall, ...args)), want, `${rule.syscall} matching`);
        args[rule.when.arg] = rule.when.op === "ne" ? BigInt(rule.when.value) : 0n;
        assert.equal(run(p, call(spec, rule.syscall, ...args)), ALLOW, `${rule.syscall} not matching`);
      }
    }
  }
});

void test("sockets: AF_UNIX allowed, every other family and a set high word denied", () => {
  for (const spec of ARCH_SPECS) {
    const p = decode(compileFilter(DEFAULT_RULES, spec.nodeArch));
    assert.equal(run(p, call(spec, "socket", BigInt(AF_UNIX), 1n, 0n)), ALLOW);
    assert.equal(run(p, call(spec, "socketpair", BigInt(AF_UNIX), 1n, 0n)), ALLOW);
    for (const family of [0n, 2n, 10n, 16n, 17n, 40n]) {
      assert.equal(run(p, call(spec, "socket", family, 1n, 0n)), DENIED, `family ${family}`);
    }
    // the kernel reads `int domain`, so this is AF_UNIX to it -- and still denied (fail closed)
    assert.equal(run(p, call(spec, "socket", (1n << 32n) | 1n, 1n, 0n)), DENIED);
    assert.equal(run(p, call(spec, "connect", 3n, 0n, 0n)), DENIED);
  }
});

void test("clone: plain fork and threads allowed, any namespace flag denied; clone3 gets ENOSYS", () => {
  const SIGCHLD = 17n;
  const THREAD = 0x3d0f00n; // glibc's pthread_create flags
  for (const spec of ARCH_SPECS) {
    const p = decode(compileFilter(DEFAULT_RULES, spec.nodeArch));
    assert.equal(run(p, call(spec, "clone", 0x01200000n | SIGCHLD)), ALLOW); // fork()
    assert.equal(run(p, call(spec, "clone", 0x4100n | SIGCHLD)), ALLOW); // vfork-style posix_spawn
    assert.equal(run(p, call(spec, "clone", THREAD)), ALLOW);
    for (const [name, flag] of Object.entries(CLONE_NAMESPACE_FLAGS)) {
      assert.equal(run(p, call(spec, "clone", BigInt(flag) | SIGCHLD)), DENIED, name);
    }
    assert.equal(run(p, call(spec, "clone", (1n << 40n) | SIGCHLD)), DENIED, "high word set");
    assert.equal(run(p, call(spec, "clone3", 0x1000n, 88n)), ERRNO_ENOSYS);
    assert.equal(run(p, call(spec, "unshare", 0n)), DENIED);
  }
});

void test("personality: plain values allowed, ASLR-weakening bits denied", () => {
  const p = decode(compileFilter(DEFAULT_RULES, "x64"));
  assert.equal(run(p, call(x64, "personality", 0n)), ALLOW);
  assert.equal(run(p, call(x64, "personality", 8n)), ALLOW); // PER_LINUX32
  for (const [name, flag] of Object.entries(PERSONALITY_WEAKENING_FLAGS)) {
    assert.equal(run(p, call(x64, "personality", BigInt(flag))), DENIED, name);
  }
});

void test("a foreign ABI goes to the supervisor (which kills); x32 and out-of-range numbers are denied", () => {
  const p = decode(compileFilter(DEFAULT_RULES, "x64"));
  for (const arch of [AUDIT_ARCH_I386, AUDIT_ARCH_AARCH64, 0, 0xffffffff, AUDIT_ARCH_X86_64 ^ 1]) {
    assert.equal(run(p, { ...call(x64, "read"), arch }), USER_NOTIF, `arch 0x${arch.toString(16)}`);
  }
  assert.equal(run(p, { ...call(x64, "read"), nr: X32_BIT | 0 }), DENIED); // x32 read
  assert.equal(run(p, { ...call(x64, "socket", 2n), nr: X32_BIT | 41 }), DENIED);
  assert.equal(run(p, { ...call(x64, "read"), nr: -1 }), DENIED);
  const a = decode(compileFilter(DEFAULT_RULES, "arm64"));
  assert.equal(run(a, { ...call(arm64, "read"), arch: AUDIT_ARCH_X86_64 }), USER_NOTIF);
  assert.equal(run(a, { ...call(arm64, "read"), arch: 0x40000028 }), USER_NOTIF); // arm32 compat
});

void test("errno mode (bwrap --seccomp, no supervisor): the same decisions, as EPERM and KILL", () => {
  for (const spec of ARCH_SPECS) {
    const p = decode(compileFilter(DEFAULT_RULES, spec.nodeArch, "errno"));
    assert.equal(run(p, { ...call(spec, "read"), arch: AUDIT_ARCH_I386 }), KILL_PROCESS);
    assert.equal(run(p, call(spec, "socket", 2n)), ERRNO_EPERM);
    assert.equal(run(p, call(spec, "clone3")), ERRNO_ENOSYS);
    fc.assert(fc.property(dataFor(spec), (data) => run(p, data) === evaluate(DEFAULT_RULES, spec, data, "errno")), { numRuns: 1000 });
  }
});

void test("a tool cannot stack a filter of its own on cordon's: seccomp() and PR_SET_SECCOMP are denied", () => {
  for (const spec of ARCH_SPECS) {
    const p = decode(compileFilter(DEFAULT_RULES, spec.nodeArch));
    assert.equal(run(p, call(spec, "seccomp", 1n, 8n)), DENIED);
    assert.equal(run(p, call(spec, "prctl", 22n, 2n)), DENIED);
    assert.equal(run(p, call(spec, "prctl", 38n, 1n)), ALLOW); // PR_SET_NO_NEW_PRIVS
  }
});

void test("everyday syscalls pass, execve included", () => {
  for (const spec of ARCH_SPECS) {
    const p = decode(compileFilter(DEFAULT_RULES, spec.nodeArch));
    for (const name of ["read", "write", "openat", "close", "execve", "execveat", "exit_group", "getpid", "bind", "prctl"]) {
      assert.equal(run(p, call(spec, name, 3n, 0xffffffffffffffffn)), ALLOW, `${name} on ${spec.kernelArch}`);
    }
  }
});

const interestingArg = fc.oneof(
  fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
  fc.constantFrom(0n, 1n, 2n, 10n, 16n, 17n, 0x7e020000n, 0x40000000n, 0x0040000n, 0xffffffffn, 1n << 32n, (1n << 64n) - 1n),
  fc.tuple(fc.bigInt({ min: 0n, max: 3n }), fc.integer({ min: 0, max: 0xffffffff })).map(([hi, lo]) => (hi << 32n) | BigInt(lo)),
);

function dataFor(spec: ArchSpec): fc.Arbitrary<SeccompData> {
  const known = Object.values(spec.numbers);
  return fc.record({
    nr: fc.oneof(fc.constantFrom(...known), fc.integer({ min: -1, max: 1000 }), fc.integer({ min: 0, max: 0xffffffff })),
    arch: fc.oneof(fc.constant(spec.auditArch), fc.constant(spec.auditArch), fc.constantFrom(AUDIT_ARCH_I386, AUDIT_ARCH_X86_64, AUDIT_ARCH_AARCH64), fc.integer({ min: 0, max: 0xffffffff })),
    args: fc.array(interestingArg, { minLength: 6, maxLength: 6 }),
  });
}

void test("property: the program computes exactly the rule table's decision", () => {
  for (const spec of ARCH_SPECS) {
    const p = decode(compileFilter(DEFAULT_RULES, spec.nodeArch));
    fc.assert(fc.property(dataFor(spec), (data) => run(p, data) === evaluate(DEFAULT_RULES, spec, data)), { numRuns: 3000 });
  }
});

function ruleFor(spec: ArchSpec): fc.Arbitrary<SeccompRule> {
  const names = [...Object.keys(spec.numbers), ...spec.absent];
  const when = fc.record({
    arg: fc.constantFrom(0, 1, 2, 3, 4, 5),
    op: fc.constantFrom("eq", "ne", "masked-any"),
    value: fc.oneof(fc.integer({ min: 1, max: 0xffffffff }), fc.constantFrom(1, 2, 0x7e020000, 0xffffffff)),
  });
  return fc.record({
    syscall: fc.constantFrom(...names),
    kind: fc.constantFrom("deny", "EPERM", "ENOSYS", "kill"),
    when: fc.option(when, { nil: undefined }),
  }).map(({ syscall, kind, when: w }): SeccompRule => {
    const base = kind === "kill" || kind === "deny"
      ? { syscall, action: kind, why: "generated" }
      : { syscall, action: "errno" as const, errno: kind, why: "generated" };
    return w === undefined ? base : { ...base, when: w };
  });
}

void test("property: any rule table compiles to a program that computes its decision", () => {
  for (const spec of ARCH_SPECS) {
    fc.assert(
      fc.property(fc.array(ruleFor(spec), { maxLength: 40 }), fc.array(dataFor(spec), { minLength: 1, maxLength: 20 }), (rules, datas) => {
        const p = decode(compileFilter(rules, spec.nodeArch));
        // aim some calls at the rules' own syscalls so that conditions get exercised
        const aimed = datas.map((d, i) => {
          const rule = rules[i % Math.max(rules.length, 1)];
          const n = rule === undefined ? undefined : spec.numbers[rule.syscall];
          return n === undefined || i % 2 === 0 ? d : { ...d, nr: n, arch: spec.auditArch };
        });
        return aimed.every((d) => run(p, d) === evaluate(rules, spec, d));
      }),
      { numRuns: 400 },
    );
  }
});

void test("a kill rule returns KILL_PROCESS, an eq condition compares the low word", () => {
  const rules: SeccompRule[] = [
    { syscall: "getpid", action: "kill", why: "test" },
    { syscall: "prctl", action: "errno", errno: "EPERM", when: { arg: 0, op: "eq", value: 22 }, why: "PR_SET_SECCOMP" },
  ];
  const p = decode(compileFilter(rules, "x64"));
  assert.equal(run(p, call(x64, "getpid")), KILL_PROCESS);
  assert.equal(run(p, call(x64, "prctl", 22n)), ERRNO_EPERM);
  assert.equal(run(p, call(x64, "prctl", (5n << 32n) | 22n)), ERRNO_EPERM, "kernel reads int option: still denied");
  assert.equal(run(p, call(x64, "prctl", 23n)), ALLOW);
});

void test("an empty table still checks the ABI and allows the rest", () => {
  const p = decode(compileFilter([], "x64"));
  assert.equal(p.length, 7);
  assert.equal(run(p, call(x64, "socket", 2n)), ALLOW);
  assert.equal(run(p, { ...call(x64, "read"), arch: AUDIT_ARCH_I386 }), USER_NOTIF);
});

void test("refuses unsupported archs and rules it cannot compile exactly (typed errors)", () => {
  for (const arch of ["ia32", "arm", "riscv64", "s390x", "ppc64", ""]) {
    assert.throws(() => compileFilter(DEFAULT_RULES, arch), { code: "ERR_SECCOMP_ARCH_UNSUPPORTED", arch });
  }
  const bad: [string, unknown][] = [
    ["unknown syscall", { syscall: "sokcet", action: "errno", errno: "EPERM", why: "typo" }],
    ["bad errno", { syscall: "socket", action: "errno", errno: "EACCES", why: "x" }],
    ["missing errno", { syscall: "socket", action: "errno", why: "x" }],
    ["kill with errno", { syscall: "socket", action: "kill", errno: "EPERM", why: "x" }],
    ["bad action", { syscall: "socket", action: "allow", why: "x" }],
    ["no why", { syscall: "socket", action: "errno", errno: "EPERM", why: " " }],
    ["arg 6", { syscall: "socket", action: "errno", errno: "EPERM", when: { arg: 6, op: "eq", value: 1 }, why: "x" }],
    ["bad op", { syscall: "socket", action: "errno", errno: "EPERM", when: { arg: 0, op: "lt", value: 1 }, why: "x" }],
    ["value 2^32", { syscall: "socket", action: "errno", errno: "EPERM", when: { arg: 0, op: "ne", value: 2 ** 32 }, why: "x" }],
    ["negative value", { syscall: "socket", action: "errno", errno: "EPERM", when: { arg: 0, op: "ne", value: -1 }, why: "x" }],
    ["fraction", { syscall: "socket", action: "errno", errno: "EPERM", when: { arg: 0, op: "ne", value: 1.5 }, why: "x" }],
    ["zero mask", { syscall: "clone", action: "errno", errno: "EPERM", when: { arg: 0, op: "masked-any", value: 0 }, why: "x" }],
  ];
  for (const [what, rule] of bad) {
    assert.throws(() => compileFilter([DEFAULT_RULES[0]!, rule as SeccompRule], "x64"), { code: "ERR_SECCOMP_RULE_INVALID", index: 1 }, what);
  }
});

void test("a syscall absent on an arch is skipped there, not an error", () => {
  const rules: SeccompRule[] = [{ syscall: "iopl", action: "errno", errno: "EPERM", why: "x86 only" }];
  assert.equal(decode(compileFilter(rules, "arm64")).length, 5);
  assert.equal(run(decode(compileFilter(rules, "x64")), call(x64, "iopl")), ERRNO_EPERM);
});

void test("refuses a program longer than the kernel accepts", () => {
  const many: SeccompRule[] = Array.from({ length: 2100 }, () => ({ syscall: "getpid", action: "kill", why: "x" }));
  assert.throws(() => compileFilter(many, "x64"), { code: "ERR_SECCOMP_FILTER_TOO_LONG", max: 4096 });
  assert.equal(decode(compileFilter(many.slice(0, 2040), "x64")).length, 6 + 2040 * 2 + 1);
});
