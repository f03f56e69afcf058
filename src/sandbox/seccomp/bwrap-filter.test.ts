// Live tests: the REAL compiled filter, installed the way cells and tools get it (cordon-launch
// supervising, cordon-seccomp-exec installing it with a listener inside the real bwrap) on this
// host. Nothing here skips: without bwrap every test fails (the tiers must refuse such a host
// anyway). Host differences (i386 emulation) are detected and asserted, never assumed.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { compileFilter } from "./compile-filter.js";
import { runInProbeSandbox } from "./probe-sandbox.js";
import { DEFAULT_RULES } from "./rules.js";
import type { SeccompRule } from "./rules.js";
import { I386_PROBE, NODE_WORKLOAD, PYTHON_WORKLOAD, SYSCALL_PROBE } from "./syscall-probe.js";
import { archSpec } from "./syscall-table.js";
import { checkSeccompWorks } from "./load-check.js";
import { hostCells } from "../../testing/host.js";
import { parseSeccompEvent, type SeccompEvent } from "./supervisor-events.js";

const BWRAP = "/usr/bin/bwrap";
const PYTHON = "/usr/bin/python3";
const SIGSYS_STATUS = 128 + 31; // bwrap reports a child killed by signal N as 128 + N

const NATIVE = join(fileURLToPath(new URL("../../../", import.meta.url)), "build", "native");
const supervised = { launcher: join(NATIVE, "cordon-launch"), helper: join(NATIVE, "cordon-seccomp-exec") };
const program = compileFilter(DEFAULT_RULES);
const python = (code: string, filter: Uint8Array | null = program, timeoutMs = 20_000) =>
  runInProbeSandbox({ bwrap: BWRAP, program: filter, argv: [PYTHON, "-I", "-S", "-c", code], timeoutMs, supervised });
// What this host offers: bwrap with unprivileged user namespaces and the native helpers. Where it
// lacks them, each live test asserts that the host check says so (and so the tiers refuse).
const HOST = hostCells();
function live(name: string, body: () => void): void {
  if (HOST.ok) {
    void test(name, body);
    return;
  }
  void test(`${name} [this host cannot run the sandbox: asserting the check refuses]`, () => {
    assert.equal(checkSeccompWorks({ supervised }).ok, false);
  });
}

const eventsOf = (text: string): SeccompEvent[] => text.split("\n").filter((l) => l !== "").map((l) => parseSeccompEvent(l));

interface Denied {
  readonly syscall: string;
  readonly errno: "EPERM" | "ENOSYS";
  /** Without the filter the kernel gives a different answer here, whatever the host's sysctls. */
  readonly filterShows: boolean;
}

const d = (syscall: string, filterShows: boolean, errno: "EPERM" | "ENOSYS" = "EPERM"): Denied => ({ syscall, errno, filterShows });

/** Probe name (syscall-probe.ts) -> what the filter must answer. */
const DENIED: Readonly<Record<string, Denied>> = {
  socket_inet: d("socket", true),
  socket_inet6: d("socket", true),
  socket_netlink: d("socket", true),
  socket_unix_high_word: d("socket", true),
  socketpair_inet: d("socketpair", true),
  connect: d("connect", true),
  ptrace: d("ptrace", true),
  process_vm_readv: d("process_vm_readv", true),
  process_vm_writev: d("process_vm_writev", true),
  process_madvise: d("process_madvise", true),
  pidfd_getfd: d("pidfd_getfd", true),
  mount: d("mount", true),
  umount2: d("umount2", true),
  pivot_root: d("pivot_root", false),
  chroot: d("chroot", true),
  mount_setattr: d("mount_setattr", true),
  move_mount: d("move_mount", false),
  open_tree: d("open_tree", true),
  fsopen: d("fsopen", false),
  fsconfig: d("fsconfig", true),
  fsmount: d("fsmount", false),
  fspick: d("fspick", false),
  unshare_nothing: d("unshare", true),
  unshare_user: d("unshare", true),
  setns: d("setns", true),
  clone_NEWNS: d("clone", true),
  clone_NEWCGROUP: d("clone", true),
  clone_NEWUTS: d("clone", true),
  clone_NEWIPC: d("clone", true),
  clone_NEWUSER: d("clone", true),
  clone_NEWPID: d("clone", true),
  clone_NEWNET: d("clone", true),
  clone_high_word: d("clone", true),
  clone3: d("clone3", true, "ENOSYS"),
  bpf: d("bpf", false),
  perf_event_open: d("perf_event_open", false),
  io_uring_setup: d("io_uring_setup", false),
  io_uring_enter: d("io_uring_enter", false),
  io_uring_register: d("io_uring_register", false),
  userfaultfd: d("userfaultfd", false),
  keyctl: d("keyctl", true),
  add_key: d("add_key", true),
  request_key: d("request_key", true),
  open_by_handle_at: d("open_by_handle_at", false),
  name_to_handle_at: d("name_to_handle_at", true),
  fanotify_init: d("fanotify_init", false),
  lookup_dcookie: d("lookup_dcookie", false),
  syslog: d("syslog", false),
  personality_no_aslr: d("personality", true),
  seccomp: d("seccomp", true),
  prctl_set_seccomp: d("prctl", true),
  kexec_load: d("kexec_load", false),
  kexec_file_load: d("kexec_file_load", false),
  init_module: d("init_module", false),
  finit_module: d("finit_module", false),
  delete_module: d("delete_module", false),
  reboot: d("reboot", false),
  swapon: d("swapon", false),
  swapoff: d("swapoff", false),
  acct: d("acct", false),
  quotactl: d("quotactl", true),
  quotactl_fd: d("quotactl_fd", true),
  ...(process.arch === "x64"
    ? { iopl: d("iopl", false), ioperm: d("ioperm", false), uselib: d("uselib", false), x32_getpid: d("(x32 ABI)", false) }
    : {}),
};

/** Probes the filter must let through: [name, expected answer]; "control" = same as without it. */
const ALLOWED: readonly (readonly [string, string])[] = [
  ["socket_unix", "OK"],
  ["socketpair_unix", "OK"],
  ["getpid", "OK"],
  ["personality_plain", "OK"],
  ["clone_no_namespace", "control"],
];

let cached: { filtered: Record<string, string>; control: Record<string, string>; events: SeccompEvent[] } | undefined;
function probeResults(): { filtered: Record<string, string>; control: Record<string, string>; events: SeccompEvent[] } {
  if (cached !== undefined) return cached;
  const parse = (filter: Uint8Array | null): [Record<string, string>, SeccompEvent[]] => {
    const r = python(SYSCALL_PROBE, filter);
    assert.equal(r.error, undefined, `bwrap could not run: ${String(r.error)}`);
    assert.equal(r.status, 0, `probe failed: ${r.stderr}`);
    return [JSON.parse(r.stdout) as Record<string, string>, eventsOf(r.events)];
  };
  const [filtered, events] = parse(program);
  const [control] = parse(null);
  cached = { filtered, control, events };
  return cached;
}

live("bwrap is installed (the live tests below must not pass without it)", () => {
  const r = spawnSync(BWRAP, ["--version"], { encoding: "utf8", env: {} });
  assert.equal(r.error, undefined, `${BWRAP} is missing: the process tier cannot run on this host`);
  assert.match(r.stdout, /^bubblewrap \d/);
});

live("inside bwrap, every denied syscall gets the table's errno", () => {
  const { filtered } = probeResults();
  for (const [probe, want] of Object.entries(DENIED)) {
    assert.equal(filtered[probe], want.errno, `${probe} (${want.syscall})`);
  }
});

live("every recorded denial reaches the supervisor: one event per denied call, naming its syscall; clone3's silent ENOSYS none", () => {
  const { events } = probeResults();
  const want = new Map<string, number>();
  for (const p of Object.values(DENIED)) {
    if (p.errno !== "EPERM") continue;
    const name = p.syscall === "(x32 ABI)" ? "x32:getpid" : p.syscall;
    want.set(name, (want.get(name) ?? 0) + 1);
  }
  const got = new Map<string, number>();
  for (const e of events) {
    assert.equal(e.kind, "denied", JSON.stringify(e));
    if (e.kind === "denied") got.set(e.syscall, (got.get(e.syscall) ?? 0) + 1);
  }
  assert.deepEqual([...got].sort(), [...want].sort());
});

live("the filter, not the rest of the sandbox, is what refuses them", () => {
  const { filtered, control } = probeResults();
  for (const [probe, want] of Object.entries(DENIED)) {
    if (!want.filterShows) continue;
    assert.notEqual(control[probe], undefined, probe);
    assert.notEqual(control[probe], filtered[probe], `${probe}: same answer without the filter`);
    assert.notEqual(control[probe], "EPERM", `${probe}: the sandbox alone already says EPERM`);
  }
  // the headline cases, spelled out
  assert.deepEqual([control["socket_inet"], filtered["socket_inet"]], ["OK", "EPERM"]);
  assert.deepEqual([control["unshare_nothing"], filtered["unshare_nothing"]], ["OK", "EPERM"]);
  assert.deepEqual([control["clone3"], filtered["clone3"]], ["EINVAL", "ENOSYS"]);
});

live("inside bwrap, allowed calls still work", () => {
  const { filtered, control } = probeResults();
  for (const [probe, want] of ALLOWED) {
    assert.equal(filtered[probe], want === "control" ? control[probe] : want, probe);
  }
  assert.equal(filtered["clone_no_namespace"], "EINVAL", "a clone without namespace flags reaches the kernel");
});

live("the live probe covers every rule of the table on this arch", () => {
  const { filtered } = probeResults();
  const spec = archSpec(process.arch);
  const ruled = new Set(DEFAULT_RULES.map((r) => r.syscall).filter((s) => !spec.absent.includes(s)));
  const probed = new Set(Object.values(DENIED).map((p) => p.syscall).filter((s) => ruled.has(s)));
  assert.deepEqual([...probed].sort(), [...ruled].sort());
  const known = new Set([...Object.keys(DENIED), ...ALLOWED.map(([p]) => p)]);
  assert.deepEqual(Object.keys(filtered).filter((p) => !known.has(p)), [], "every probe result is asserted");
});

live("a normal Python program works under the filter: compute, subprocess, AF_UNIX, threads", () => {
  const r = python(PYTHON_WORKLOAD);
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), { digest: "a372ddddb4b07d8c", child: "499500", unix: "ping", thread: 42 });
});

live("Node works under the filter (child process, worker thread) and cannot listen on TCP; only that is recorded", () => {
  const r = runInProbeSandbox({ bwrap: BWRAP, program, argv: ["/usr/bin/node", "-e", NODE_WORKLOAD], timeoutMs: 20_000, supervised });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), { child: "42", worker: 42, listen: "EPERM" });
  assert.deepEqual(eventsOf(r.events).map((e) => (e.kind === "denied" ? e.syscall : e.kind)), ["socket"]);
});

live("a truncated, cut or empty program is refused before the command runs (fail closed)", () => {
  const cases: [string, Uint8Array][] = [
    ["3 bytes short", program.subarray(0, program.length - 3)],
    ["cut after 10 instructions", program.subarray(0, 80)],
    ["last instruction dropped", program.subarray(0, program.length - 8)],
    ["one byte", program.subarray(0, 1)],
    ["empty", new Uint8Array(0)],
  ];
  for (const [what, bytes] of cases) {
    const r = python("print('ran')", bytes);
    assert.equal(r.error, undefined, what);
    assert.notEqual(r.status, 0, `${what}: bwrap started the command`);
    assert.equal(r.stdout, "", `${what}: the command ran`);
    assert.match(r.stderr, /seccomp|PR_SET_SECCOMP/, what);
  }
});

live("a filter for another arch is refused before the command runs, instead of allowing everything", () => {
  const other = process.arch === "x64" ? "arm64" : "x64";
  const r = python("print('ran')", compileFilter(DEFAULT_RULES, other));
  assert.equal(r.status, 71);
  assert.equal(r.stdout, "");
  assert.match(r.stderr, /architecture/);
  assert.deepEqual(eventsOf(r.events).map((e) => e.kind), ["failed"], "the supervisor says no listener came");
});

live("a kill rule kills the process with SIGSYS at the denied call", () => {
  const rules: SeccompRule[] = [
    { syscall: "socket", action: "kill", when: { arg: 0, op: "eq", value: 2 }, why: "test" },
  ];
  const code = "import ctypes\nlibc = ctypes.CDLL(None)\nprint(libc.socket(1, 1, 0) >= 0, flush=True)\nlibc.socket(2, 1, 0)\nprint('after')";
  const r = python(code, compileFilter(rules));
  assert.equal(r.status, SIGSYS_STATUS);
  assert.equal(r.stdout, "True\n");
});

live("a syscall through the i386 ABI (int 0x80) never runs: the supervisor records it and kills the sandbox", () => {
  if (process.arch !== "x64") {
    // No second ABI to reach on this arch; the arch check itself is in compile-filter.test.ts.
    assert.equal(archSpec(process.arch).x32SyscallBit, null);
    return;
  }
  // What the host offers: some kernels have no i386 entry at all (int 0x80 is then a SIGSEGV
  // with or without any filter); detect it here, then assert what the filter must do there.
  const control = python(I386_PROBE, null);
  const emulated = control.status === 0;
  if (emulated) assert.match(control.stdout, /^before\n\d+\n$/);
  else assert.equal(control.status, 128 + 11, `int 0x80 without a filter: neither a pid nor SIGSEGV: ${control.status} ${control.stderr}`);
  const r = python(I386_PROBE);
  assert.equal(r.stdout, "before\n", "the call never returned into the program");
  const events = eventsOf(r.events);
  if (emulated) {
    assert.equal(r.signal, "SIGKILL", `the sandbox was killed (status ${String(r.status)})`);
    assert.deepEqual(events.map((e) => (e.kind === "killed" ? e.syscall : e.kind)), ["i386:20"]);
  } else {
    assert.equal(r.status, 128 + 11, "no i386 entry: the kernel faults before seccomp sees the call");
    assert.deepEqual(events, []);
  }
});
