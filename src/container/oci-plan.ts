// A container call's bundle as data: the OCI config.json planned from the policy by a pure
// function, so it can be unit-tested and printed. Hardening, line by line:
// - root: the image's read-only, content-addressed rootfs (root.readonly);
// - process: noNewPrivileges, every capability set empty, container uid/gid 0 mapped by a user
//   namespace to the session's own unprivileged host uid (one per session), an environment from
//   an allowlist, rlimits (nofile, nproc = limits.pids, fsize = limits.disk, no core dumps);
// - namespaces: user, pid, ipc, uts, mount, cgroup and network (only `lo`; runsc: --network=none);
// - /proc (nosuid, noexec, nodev) with its dangerous files masked and /proc/sys, /proc/sysrq-trigger,
//   /proc/irq, /proc/bus, /proc/fs read-only; /sys read-only with /sys/firmware and powercap masked;
// - /dev a tiny tmpfs with the runtime's default nodes, /dev/shm capped and noexec;
// - /workspace and /tmp: the session's own capped tmpfs mounts (nosuid, nodev, noexec unless an
//   exec grant names them); no host path unless a grant names it (read-only unless fs.write);
// - cgroup: the call's own cgroup, which the runtime and the container are started in, holds
//   memory and memory+swap = limits.memory, pids = limits.pids (runsc: at least 1024, which its
//   own threads need; the tool is then held by RLIMIT_NPROC inside gVisor) and one CPU;
// - seccomp: crun runs the command under /.cordon/seccomp-exec, which installs cordon's filter
//   with a listener (every denial recorded live); linux.seccomp is a second wall that answers the
//   same calls with SCMP_ACT_TRACE, which ranks below USER_NOTIF (so the notifier still decides)
//   and fails them with ENOSYS should cordon's filter ever be missing. runsc applies
//   linux.seccomp inside its sandbox (--oci-seccomp) with EPERM for every denied call.
import type { Bind } from "../sandbox/bwrap-plan.js";
import { SECCOMP_EXEC_PATH } from "../sandbox/bwrap-plan.js";
import type { ContainerRuntimeName, ContainerTool } from "../policy/load-policy.js";
import type { SeccompRule } from "../sandbox/seccomp/rules.js";
import { PROCESS_ENV, WORKSPACE } from "../process/process-plan.js";

/** Where probe fixtures are bound inside a container (a mount point every cordon image has). */
export const PROBE_DIR = "/.cordon/probe";
/** gVisor's own threads count against the host pids cgroup: below this it cannot start. */
export const RUNSC_MIN_PIDS = 1024;
/** Open files per container process. */
export const CONTAINER_NOFILE = 256;
/** fd numbers the supervised entry point finds inside a crun container (crun --preserve-fds 2). */
export const CONTAINER_FILTER_FD = 3;
export const CONTAINER_NOTIFY_FD = 4;

/** Paths no container sees (masked: an empty file or directory in their place). */
export const MASKED_PATHS: readonly string[] = Object.freeze([
  "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
  "/proc/sched_debug", "/proc/scsi", "/proc/interrupts", "/sys/firmware", "/sys/devices/virtual/powercap", "/sys/kernel/debug",
]);
/** Paths every container sees read-only. */
export const READONLY_PATHS: readonly string[] = Object.freeze(["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]);

export type OciMount = { readonly destination: string; readonly type: string; readonly source: string; readonly options: readonly string[] };

export interface OciSeccompRule {
  readonly names: readonly string[];
  readonly action: string;
  readonly errnoRet?: number;
  readonly args?: ReadonlyArray<{ readonly index: number; readonly value: number; readonly valueTwo?: number; readonly op: string }>;
}

export interface OciSeccomp {
  readonly defaultAction: "SCMP_ACT_ALLOW";
  readonly architectures: readonly string[];
  readonly syscalls: readonly OciSeccompRule[];
}

/** The config.json object (only the fields cordon sets). */
export interface OciConfig {
  readonly ociVersion: string;
  readonly process: Record<string, unknown>;
  readonly root: { readonly path: string; readonly readonly: true };
  readonly hostname: string;
  readonly mounts: readonly OciMount[];
  readonly linux: Record<string, unknown>;
}

export interface ContainerPlanInput {
  readonly tool: ContainerTool;
  readonly runtime: ContainerRuntimeName;
  /** The command inside the image (the script's text already in place of `{script}`). */
  readonly argv: readonly string[];
  readonly rootfs: string;
  /** The session's host uid: container root is this uid on the host. Never 0. */
  readonly hostUid: number;
  /** Host directories bound at /workspace and /tmp (the session's capped tmpfs mounts); null: a capped tmpfs of the container's own. */
  readonly workspace: string | null;
  readonly tmp: string | null;
  /** Whether /workspace and /tmp allow exec (an exec grant). */
  readonly execIn: { readonly workspace: boolean; readonly tmp: boolean };
  /** Extra read-only binds (probes: the native fixtures at PROBE_DIR). */
  readonly extraRo?: readonly Bind[];
  /** crun: cordon-seccomp-exec on the host, bound at SECCOMP_EXEC_PATH and made the entry point. */
  readonly seccompExec: string | null;
  /** The rule table (cordon's, or a probe's reduced one). */
  readonly rules: readonly SeccompRule[];
}

const ARCHES: Readonly<Record<string, readonly string[]>> = { x64: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"], arm64: ["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"] };

/**
 * cordon's rules as an OCI seccomp section with `action` for every denied call. Conditions
 * translate exactly for eq (low 32 bits: MASKED_EQ 0xffffffff) and ne; masked-any becomes one
 * entry per bit (MASKED_EQ bit, bit), since entries are alternatives. libseccomp compares all
 * 64 bits, so the high-word half of cordon's fail-closed reading is the first wall's alone.
 * Rules a tool's own start needs to pass are left out by `skip` (cordon-seccomp-exec installs
 * its filter with seccomp(2); that filter then denies seccomp and PR_SET_SECCOMP itself).
 */
export function ociSeccomp(rules: readonly SeccompRule[], action: "SCMP_ACT_TRACE" | "SCMP_ACT_ERRNO", arch: string = process.arch, skip: readonly string[] = []): OciSeccomp {
  const out: OciSeccompRule[] = [];
  const errno = action === "SCMP_ACT_ERRNO" ? { errnoRet: 1 } : {};
  for (const r of rules) {
    if (skip.includes(r.syscall)) continue;
    const act = r.action === "errno" ? { action: "SCMP_ACT_ERRNO", errnoRet: r.errno === "ENOSYS" ? 38 : 1 } : r.action === "kill" ? { action: "SCMP_ACT_KILL_PROCESS" } : { action, ...errno };
    const w = r.when;
    if (w === undefined) out.push({ names: [r.syscall], ...act });
    else if (w.op === "eq") out.push({ names: [r.syscall], ...act, args: [{ index: w.arg, value: w.value, valueTwo: w.value, op: "SCMP_CMP_MASKED_EQ" }] });
    else if (w.op === "ne") out.push({ names: [r.syscall], ...act, args: [{ index: w.arg, value: w.value, op: "SCMP_CMP_NE" }] });
    else {
      for (let bit = 0; bit < 32; bit++) {
        const b = 2 ** bit;
        if ((w.value & b) !== 0) out.push({ names: [r.syscall], ...act, args: [{ index: w.arg, value: b, valueTwo: b, op: "SCMP_CMP_MASKED_EQ" }] });
      }
    }
  }
  return { defaultAction: "SCMP_ACT_ALLOW", architectures: ARCHES[arch] ?? [], syscalls: out };
}

function bind(host: string, guest: string, writable: boolean, exec: boolean): OciMount {
  return { destination: guest, type: "bind", source: host, options: ["rbind", writable ? "rw" : "ro", "nosuid", "nodev", ...(exec ? [] : ["noexec"]), "rprivate"] };
}

function tmpfs(guest: string, bytes: number, exec: boolean, mode: string): OciMount {
  return { destination: guest, type: "tmpfs", source: "tmpfs", options: ["nosuid", "nodev", exec ? "exec" : "noexec", `size=${bytes}`, `mode=${mode}`] };
}

/** The whole environment of a container's command: nothing is inherited. */
export const CONTAINER_ENV: Readonly<Record<string, string>> = PROCESS_ENV;

export function planContainer(input: ContainerPlanInput): OciConfig {
  if (input.hostUid === 0) throw new Error("refusing to map container root to host root");
  const { tool } = input;
  const limits = tool.limits;
  const crun = input.runtime === "crun";
  const args = crun && input.seccompExec !== null ? [SECCOMP_EXEC_PATH, String(CONTAINER_FILTER_FD), String(CONTAINER_NOTIFY_FD), "--keep-pwd", "--", ...input.argv] : [...input.argv];
  const mounts: OciMount[] = [
    { destination: "/proc", type: "proc", source: "proc", options: ["nosuid", "noexec", "nodev"] },
    // runsc makes its own /dev inside the sandbox (a tmpfs here is refused by its gofer).
    ...(crun ? [{ destination: "/dev", type: "tmpfs", source: "tmpfs", options: ["nosuid", "noexec", "strictatime", "mode=755", "size=65536"] }] : []),
    tmpfs("/dev/shm", 1024 * 1024, false, "1777"),
    { destination: "/sys", type: "sysfs", source: "sysfs", options: ["nosuid", "noexec", "nodev", "ro"] },
    input.workspace === null ? tmpfs(WORKSPACE, limits.diskBytes, input.execIn.workspace, "0700") : bind(input.workspace, WORKSPACE, true, input.execIn.workspace),
    input.tmp === null ? tmpfs("/tmp", limits.diskBytes, input.execIn.tmp, "1777") : bind(input.tmp, "/tmp", true, input.execIn.tmp),
  ];
  for (const g of tool.grants) {
    if (g.kind === "fs.read" || g.kind === "fs.write") mounts.push(bind(g.hostPath, g.mount, g.kind === "fs.write", false));
  }
  if (crun && input.seccompExec !== null) mounts.push({ destination: SECCOMP_EXEC_PATH, type: "bind", source: input.seccompExec, options: ["bind", "ro", "nosuid", "nodev"] });
  for (const b of input.extraRo ?? []) mounts.push(bind(b.host, b.guest, false, true));
  // runsc: gVisor has no clone3 (ENOSYS by itself; its filter would answer EPERM, not the rule's ENOSYS).
  const seccomp = crun ? ociSeccomp(input.rules, "SCMP_ACT_TRACE", process.arch, ["seccomp", "prctl"]) : ociSeccomp(input.rules, "SCMP_ACT_ERRNO", process.arch, ["clone3"]);
  return {
    ociVersion: "1.0.2",
    process: {
      terminal: false,
      user: { uid: 0, gid: 0, additionalGids: [] },
      args,
      env: Object.entries(CONTAINER_ENV).map(([k, v]) => `${k}=${v}`),
      cwd: WORKSPACE,
      capabilities: { bounding: [], effective: [], inheritable: [], permitted: [], ambient: [] },
      rlimits: [
        { type: "RLIMIT_NOFILE", hard: CONTAINER_NOFILE, soft: CONTAINER_NOFILE },
        // runsc: its host cgroup must allow the Sentry 1024 tasks, so the tool is held here, inside gVisor.
        // crun: pids.max of the call's cgroup holds it (an rlimit would fire first and hide the kernel's count).
        ...(crun ? [] : [{ type: "RLIMIT_NPROC", hard: limits.pids, soft: limits.pids }]),
        { type: "RLIMIT_FSIZE", hard: limits.diskBytes, soft: limits.diskBytes },
        { type: "RLIMIT_CORE", hard: 0, soft: 0 },
      ],
      noNewPrivileges: true,
      oomScoreAdj: 1000,
    },
    root: { path: input.rootfs, readonly: true },
    hostname: "tool",
    mounts,
    linux: {
      uidMappings: [{ containerID: 0, hostID: input.hostUid, size: 1 }],
      gidMappings: [{ containerID: 0, hostID: input.hostUid, size: 1 }],
      namespaces: ["user", "pid", "ipc", "uts", "mount", "cgroup", "network"].map((type) => ({ type })),
      // No cgroupsPath and no resources: memory (and memory+swap), pids and CPU are the limits of
      // the call's own cgroup, which cordon creates, joins before exec'ing the runtime (crun
      // --cgroup-manager=disabled, runsc --ignore-cgroups), reads (oom_kill, pids.events) and
      // removes; a runtime's child cgroup would take the counters with it when it is deleted.
      maskedPaths: MASKED_PATHS,
      readonlyPaths: READONLY_PATHS,
      seccomp,
      rootfsPropagation: "private",
    },
  };
}
