// Syscall numbers per architecture, for the names cordon's rules use (and their neighbours a
// rule is likely to want next). Numbers are the kernel's uapi `__NR_<name>` values:
// x86_64 from arch/x86/entry/syscalls/syscall_64.tbl (asm/unistd_64.h), aarch64 from the
// generic table (asm-generic/unistd.h). syscall-table.test.ts checks both against the kernel
// headers installed on the host.
//
// A name a rule uses must be either numbered or listed as `absent` for every supported arch:
// an unknown name is an error (a typo must not silently drop a deny rule), while an absent one
// (iopl on aarch64) simply has nothing to deny there.

import { SeccompArchUnsupported } from "../../errors.js";

export interface ArchSpec {
  /** Node's name for it (`process.arch`). */
  readonly nodeArch: "x64" | "arm64";
  /** The kernel's name, for humans. */
  readonly kernelArch: "x86_64" | "aarch64";
  /** AUDIT_ARCH_* as seccomp_data.arch reports it for this ABI. */
  readonly auditArch: number;
  /**
   * x86_64 only: syscall numbers with this bit set are the x32 ABI, which reports the same
   * arch word. The filter denies them all, so x32 cannot reach a syscall under another number.
   */
  readonly x32SyscallBit: number | null;
  readonly numbers: Readonly<Record<string, number>>;
  /** Names that do not exist on this arch at all. */
  readonly absent: readonly string[];
}

const X86_64_NUMBERS: Readonly<Record<string, number>> = Object.freeze({
  read: 0, write: 1, open: 2, close: 3, ioctl: 16,
  getpid: 39,
  socket: 41, connect: 42, accept: 43, sendto: 44, recvfrom: 45, sendmsg: 46, recvmsg: 47,
  shutdown: 48, bind: 49, listen: 50, getsockname: 51, getpeername: 52, socketpair: 53,
  setsockopt: 54, getsockopt: 55,
  clone: 56, fork: 57, vfork: 58, execve: 59, exit: 60, kill: 62, uname: 63,
  ptrace: 101, syslog: 103, uselib: 134, personality: 135,
  pivot_root: 155, prctl: 157, chroot: 161, acct: 163, mount: 165, umount2: 166,
  swapon: 167, swapoff: 168, reboot: 169, iopl: 172, ioperm: 173,
  init_module: 175, delete_module: 176, quotactl: 179,
  lookup_dcookie: 212, exit_group: 231, tgkill: 234,
  kexec_load: 246, add_key: 248, request_key: 249, keyctl: 250,
  openat: 257, unshare: 272, accept4: 288, perf_event_open: 298, fanotify_init: 300,
  name_to_handle_at: 303, open_by_handle_at: 304, setns: 308,
  process_vm_readv: 310, process_vm_writev: 311, finit_module: 313, seccomp: 317,
  kexec_file_load: 320, bpf: 321, execveat: 322, userfaultfd: 323,
  io_uring_setup: 425, io_uring_enter: 426, io_uring_register: 427,
  open_tree: 428, move_mount: 429, fsopen: 430, fsconfig: 431, fsmount: 432, fspick: 433,
  pidfd_open: 434, clone3: 435, pidfd_getfd: 438, process_madvise: 440,
  mount_setattr: 442, quotactl_fd: 443,
  landlock_create_ruleset: 444, landlock_add_rule: 445, landlock_restrict_self: 446,
});

const AARCH64_NUMBERS: Readonly<Record<string, number>> = Object.freeze({
  lookup_dcookie: 18, ioctl: 29, umount2: 39, mount: 40, pivot_root: 41, chroot: 51,
  openat: 56, close: 57, quotactl: 60, read: 63, write: 64,
  acct: 89, personality: 92, exit: 93, exit_group: 94, unshare: 97,
  kexec_load: 104, init_module: 105, delete_module: 106, syslog: 116, ptrace: 117,
  kill: 129, tgkill: 131, reboot: 142, uname: 160, prctl: 167, getpid: 172,
  socket: 198, socketpair: 199, bind: 200, listen: 201, accept: 202, connect: 203,
  getsockname: 204, getpeername: 205, sendto: 206, recvfrom: 207, setsockopt: 208,
  getsockopt: 209, shutdown: 210, sendmsg: 211, recvmsg: 212,
  add_key: 217, request_key: 218, keyctl: 219, clone: 220, execve: 221,
  swapon: 224, swapoff: 225, perf_event_open: 241, accept4: 242,
  fanotify_init: 262, name_to_handle_at: 264, open_by_handle_at: 265, setns: 268,
  process_vm_readv: 270, process_vm_writev: 271, finit_module: 273, seccomp: 277,
  bpf: 280, execveat: 281, userfaultfd: 282, kexec_file_load: 294,
  io_uring_setup: 425, io_uring_enter: 426, io_uring_register: 427,
  open_tree: 428, move_mount: 429, fsopen: 430, fsconfig: 431, fsmount: 432, fspick: 433,
  pidfd_open: 434, clone3: 435, pidfd_getfd: 438, process_madvise: 440,
  mount_setattr: 442, quotactl_fd: 443,
  landlock_create_ruleset: 444, landlock_add_rule: 445, landlock_restrict_self: 446,
});

export const ARCH_SPECS: readonly ArchSpec[] = Object.freeze([
  Object.freeze({
    nodeArch: "x64",
    kernelArch: "x86_64",
    auditArch: 0xc000003e, // EM_X86_64 | __AUDIT_ARCH_64BIT | __AUDIT_ARCH_LE
    x32SyscallBit: 0x40000000,
    numbers: X86_64_NUMBERS,
    absent: Object.freeze([]),
  }),
  Object.freeze({
    nodeArch: "arm64",
    kernelArch: "aarch64",
    auditArch: 0xc00000b7, // EM_AARCH64 | __AUDIT_ARCH_64BIT | __AUDIT_ARCH_LE
    x32SyscallBit: null,
    numbers: AARCH64_NUMBERS,
    // The legacy x86 calls; aarch64 never had them (fork/vfork/open go through clone/openat).
    absent: Object.freeze(["open", "fork", "vfork", "iopl", "ioperm", "uselib"]),
  }),
]);

/** The spec for `arch` (a `process.arch` value), or SeccompArchUnsupported: fail closed. */
export function archSpec(arch: string): ArchSpec {
  const spec = ARCH_SPECS.find((s) => s.nodeArch === arch);
  if (spec === undefined) throw new SeccompArchUnsupported(arch, ARCH_SPECS.map((s) => s.nodeArch));
  return spec;
}

/** The number of `name` on `spec`'s arch: a number, "absent", or undefined when unknown. */
export function syscallNumber(spec: ArchSpec, name: string): number | "absent" | undefined {
  if (Object.hasOwn(spec.numbers, name)) return spec.numbers[name];
  return spec.absent.includes(name) ? "absent" : undefined;
}
