// The seccomp rule table, as data. `cordon prove` prints it (see describe-filter.ts) and
// compile-filter.ts turns it into the classic-BPF program bwrap installs right before it
// exec()s the sandboxed command.
//
// It is a DENYLIST: whatever no rule names is allowed. The programs inside the process tier
// are Node and build tools (compilers, package managers, test runners); an allowlist that
// keeps them working is out of scope here. The other enforcers (namespaces, --cap-drop ALL,
// --disable-userns, no network namespace, Landlock, cgroups) carry most of the weight; this
// table removes the kernel attack surface those programs never need.
//
// Semantics (the compiler, the interpreter in the tests and describeRules agree on them):
// - Rules are tried in order; the first rule whose `syscall` matches and whose `when` holds
//   decides. If none does, the call is allowed.
// - `when` looks at one 64-bit argument `args[arg]`, compared against a 32-bit `value`:
//     eq          the low 32 bits equal `value`
//     ne          the full 64-bit argument differs from `value`
//     masked-any  the argument has any bit of `value` set, or any bit of its high word set
//   Why: most syscalls read these arguments as a C `int`, i.e. only the low 32 bits, but the
//   filter cannot know which ones. So a match is decided the way that DENIES in both readings
//   (fail closed): a high word that the kernel will ignore never turns a deny into an allow.
//   A legitimate caller never sets the high word of an int or a flags argument.
// - Actions: "deny" is EPERM for "you may not", and it is RECORDED: the compiled program returns
//   SECCOMP_RET_USER_NOTIF, the supervisor outside the sandbox (cordon-launch --supervise)
//   answers EPERM and the control plane writes one audit record naming `seccomp`, the syscall,
//   the session and the tool (seed 004: a log that must stay silent, so that it firing means
//   something). "errno" is a silent errno for calls that ordinary programs make as part of a
//   fallback: ENOSYS for clone3, so that glibc falls back to clone, whose flags (unlike
//   clone3's, which sit in memory) the filter can read; glibc tries clone3 on every thread and
//   fork, so recording it would bury real denials. "kill" is SECCOMP_RET_KILL_PROCESS.

/** The errno a silently refused call returns. */
export type SeccompErrno = "EPERM" | "ENOSYS";

export type ArgIndex = 0 | 1 | 2 | 3 | 4 | 5;

export type ConditionOp = "eq" | "ne" | "masked-any";

export interface ArgCondition {
  readonly arg: ArgIndex;
  readonly op: ConditionOp;
  /** A 32-bit unsigned value (0 … 0xffffffff). */
  readonly value: number;
}

interface RuleBase {
  /** The syscall's name as in the kernel's `__NR_<name>` (see syscall-table.ts). */
  readonly syscall: string;
  /** No `when`: the rule matches every call of `syscall`. */
  readonly when?: ArgCondition;
  /** One line for the operator: what this rule prevents. */
  readonly why: string;
}

/** EPERM, recorded: the supervisor answers it and the control plane writes the audit record. */
export interface DenyRule extends RuleBase {
  readonly action: "deny";
}

/** A silent errno, for fallbacks ordinary programs rely on (never for an attack surface). */
export interface ErrnoRule extends RuleBase {
  readonly action: "errno";
  readonly errno: SeccompErrno;
}

export interface KillRule extends RuleBase {
  /** SECCOMP_RET_KILL_PROCESS; the kernel logs it (audit type=1326). */
  readonly action: "kill";
}

export type SeccompRule = DenyRule | ErrnoRule | KillRule;

/** errno numbers; the same on x86_64 and aarch64 (both use the generic Linux errno table). */
export const ERRNO_NUMBERS: Readonly<Record<SeccompErrno, number>> = Object.freeze({ EPERM: 1, ENOSYS: 38 });

export const AF_UNIX = 1;

/** Every clone() flag that creates a namespace. (CLONE_NEWTIME exists only for clone3/unshare.) */
export const CLONE_NAMESPACE_FLAGS = Object.freeze({
  CLONE_NEWNS: 0x00020000,
  CLONE_NEWCGROUP: 0x02000000,
  CLONE_NEWUTS: 0x04000000,
  CLONE_NEWIPC: 0x08000000,
  CLONE_NEWUSER: 0x10000000,
  CLONE_NEWPID: 0x20000000,
  CLONE_NEWNET: 0x40000000,
});

const CLONE_NAMESPACE_MASK = Object.values(CLONE_NAMESPACE_FLAGS).reduce((a, b) => (a | b) >>> 0, 0);

/** personality() bits that weaken the address-space layout of the programs the caller execs. */
export const PERSONALITY_WEAKENING_FLAGS = Object.freeze({
  ADDR_NO_RANDOMIZE: 0x0040000,
  MMAP_PAGE_ZERO: 0x0100000,
  ADDR_COMPAT_LAYOUT: 0x0200000,
  READ_IMPLIES_EXEC: 0x0400000,
});

const PERSONALITY_WEAKENING_MASK = Object.values(PERSONALITY_WEAKENING_FLAGS).reduce((a, b) => (a | b) >>> 0, 0);

function deny(syscall: string, why: string, when?: ArgCondition): DenyRule {
  return Object.freeze(when === undefined ? { syscall, action: "deny", why } : { syscall, action: "deny", when: Object.freeze(when), why });
}

/** prctl(2) option that installs a seccomp filter (PR_SET_SECCOMP). */
export const PR_SET_SECCOMP = 22;

/**
 * cordon's seccomp rules for the process tier. `execve`/`execveat` stay allowed on purpose:
 * build tools exec compilers, and bwrap needs the filter to let the command itself start.
 */
export const DEFAULT_RULES: readonly SeccompRule[] = Object.freeze([
  // network: the cell has no network namespace with a route; this also closes netlink,
  // packet, vsock and every other non-local socket family.
  deny("socket", "only AF_UNIX sockets: no IP, netlink, packet, vsock or other families", { arg: 0, op: "ne", value: AF_UNIX }),
  deny("socketpair", "only AF_UNIX socket pairs", { arg: 0, op: "ne", value: AF_UNIX }),
  deny("connect", "no outbound connections of any kind, not even to a Unix socket bound into the sandbox"),

  // other processes' memory
  deny("ptrace", "no tracing or reading other processes"),
  deny("process_vm_readv", "no reading another process's memory"),
  deny("process_vm_writev", "no writing another process's memory"),
  deny("process_madvise", "no acting on another process's memory"),
  deny("pidfd_getfd", "no stealing file descriptors from another process"),

  // the mount table and the root (bwrap set them up before the filter applied)
  deny("mount", "the mount table is fixed by bwrap before exec"),
  deny("umount2", "the mount table is fixed by bwrap before exec"),
  deny("pivot_root", "the root is fixed by bwrap before exec"),
  deny("chroot", "the root is fixed by bwrap before exec"),
  deny("mount_setattr", "new mount API: the mount table is fixed"),
  deny("move_mount", "new mount API: the mount table is fixed"),
  deny("open_tree", "new mount API: no detached copies of mounts"),
  deny("fsopen", "new mount API: no new filesystems"),
  deny("fsconfig", "new mount API: no new filesystems"),
  deny("fsmount", "new mount API: no new filesystems"),
  deny("fspick", "new mount API: no reconfiguring filesystems"),

  // namespaces
  deny("unshare", "no new namespaces (and no other unshare either)"),
  deny("setns", "no joining other namespaces"),
  deny("clone", "no new namespaces through clone flags; plain fork/thread creation stays allowed",
    { arg: 0, op: "masked-any", value: CLONE_NAMESPACE_MASK }),
  Object.freeze({
    syscall: "clone3", action: "errno", errno: "ENOSYS",
    why: "its flags live in memory the filter cannot read; ENOSYS makes glibc fall back to clone",
  }),

  // the filter itself: a filter stacked by the tool could turn cordon's recorded denials into
  // unrecorded ones (a newer filter's answer wins among equal actions)
  deny("seccomp", "no stacking further seccomp filters (or a listener of its own) on top of cordon's"),
  deny("prctl", "no PR_SET_SECCOMP: the same, through prctl", { arg: 0, op: "eq", value: PR_SET_SECCOMP }),

  // kernel attack surface that Node and build tools do not need
  deny("bpf", "no eBPF programs or maps"),
  deny("perf_event_open", "no perf events (a frequent kernel exploit vector)"),
  deny("io_uring_setup", "no io_uring (bypasses syscall filtering; frequent exploit vector)"),
  deny("io_uring_enter", "no io_uring"),
  deny("io_uring_register", "no io_uring"),
  deny("userfaultfd", "no userfaultfd (used to win kernel races)"),
  deny("keyctl", "no kernel keyrings (not namespaced)"),
  deny("add_key", "no kernel keyrings (not namespaced)"),
  deny("request_key", "no kernel keyrings (not namespaced)"),
  deny("open_by_handle_at", "no opening files by handle (escapes bind mounts)"),
  deny("name_to_handle_at", "no file handles (pairs with open_by_handle_at)"),
  deny("fanotify_init", "no filesystem-wide event monitoring"),
  deny("lookup_dcookie", "no kernel dentry cookies"),
  deny("syslog", "no reading or controlling the kernel log"),
  deny("personality", "no disabling ASLR or making data executable for exec'd programs",
    { arg: 0, op: "masked-any", value: PERSONALITY_WEAKENING_MASK }),

  // host administration
  deny("kexec_load", "no loading a new kernel"),
  deny("kexec_file_load", "no loading a new kernel"),
  deny("init_module", "no kernel modules"),
  deny("finit_module", "no kernel modules"),
  deny("delete_module", "no kernel modules"),
  deny("reboot", "no rebooting"),
  deny("swapon", "no swap configuration"),
  deny("swapoff", "no swap configuration"),
  deny("acct", "no process accounting"),
  deny("quotactl", "no disk quota control"),
  deny("quotactl_fd", "no disk quota control"),
  deny("iopl", "no raw I/O port access (x86 only)"),
  deny("ioperm", "no raw I/O port access (x86 only)"),
  deny("uselib", "obsolete a.out loader (x86 only)"),
]);
