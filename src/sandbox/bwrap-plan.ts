// The OS sandbox as data: everything bubblewrap is told, built by a pure function so it can be
// unit-tested and printed by `prove`. Only the runner (spawn-sandboxed.ts) does I/O.
import { dirname } from "node:path";

export interface Bind {
  readonly host: string;
  /** Absolute path inside the sandbox. */
  readonly guest: string;
  readonly writable: boolean;
}

export interface SandboxSpec {
  /** Program and arguments inside the sandbox; never a shell string. */
  readonly argv: readonly string[];
  /** Read-only or writable binds beyond the base system. */
  readonly binds: readonly Bind[];
  /** Environment inside the sandbox, from an allowlist; nothing is inherited. */
  readonly env: Readonly<Record<string, string>>;
  /** uid/gid inside the user namespace. */
  readonly uid: number;
  readonly gid: number;
  /**
   * How the seccomp program is installed: by cordon-seccomp-exec inside the sandbox with a
   * listener that the supervisor outside answers and reports (every denial recorded), or null
   * for none (only the host checks and tests of the plan itself).
   */
  readonly seccomp: SupervisedSeccomp | null;
  /** Working directory inside the sandbox. */
  readonly cwd: string;
  readonly hostname: string;
}

/** cordon-seccomp-exec, and the fd numbers it finds inside the sandbox (see spawn-sandboxed.ts). */
export interface SupervisedSeccomp {
  /** cordon-seccomp-exec on the host; bound read-only into the sandbox at SECCOMP_EXEC_PATH. */
  readonly helper: string;
  /** The fd carrying the compiled program (read to EOF, then closed, by the helper). */
  readonly filterFd: number;
  /** This sandbox's end of the socket pair to the supervisor. */
  readonly notifyFd: number;
}

/** Where cordon-seccomp-exec appears inside every sandbox. */
export const SECCOMP_EXEC_PATH = "/.cordon/seccomp-exec";

export interface SandboxPlan {
  readonly file: string;
  readonly args: readonly string[];
}

/** What every sandbox sees of the host: the read-only system, nothing else. */
const BASE_RO = ["/usr"] as const;
const USR_MERGED_LINKS = [
  ["usr/lib", "/lib"],
  ["usr/lib64", "/lib64"],
  ["usr/bin", "/bin"],
  ["usr/sbin", "/sbin"],
] as const;

/** Files from /etc that programs need to start (no passwd/shadow/hosts: nothing about the host). */
export const ETC_FILES = ["/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/alternatives", "/etc/localtime", "/etc/ssl/certs"] as const;

export function isUnder(path: string, dir: string): boolean {
  return path === dir || path.startsWith(dir.endsWith("/") ? dir : `${dir}/`);
}

/**
 * bwrap flags for a cell or a process-tier command: every namespace unshared (user, pid, net,
 * ipc, uts, cgroup), no nested user namespaces, all capabilities dropped, a new session (no
 * TIOCSTI), death with the parent, a private /tmp, a fresh /proc and minimal /dev.
 */
export function buildSandboxPlan(spec: SandboxSpec, opts: { bwrap?: string; etcFiles?: readonly string[]; extraRo?: readonly string[] } = {}): SandboxPlan {
  const args: string[] = [
    "--unshare-all",
    "--unshare-user",
    "--disable-userns",
    "--die-with-parent",
    "--new-session",
    "--cap-drop",
    "ALL",
    "--clearenv",
    "--uid",
    String(spec.uid),
    "--gid",
    String(spec.gid),
    "--hostname",
    spec.hostname,
  ];
  for (const dir of BASE_RO) args.push("--ro-bind", dir, dir);
  for (const [target, link] of USR_MERGED_LINKS) args.push("--symlink", target, link);
  for (const file of opts.etcFiles ?? ETC_FILES) args.push("--ro-bind-try", file, file);
  for (const dir of opts.extraRo ?? []) {
    if (!BASE_RO.some((b) => isUnder(dir, b))) args.push("--ro-bind", dir, dir);
  }
  args.push("--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "--dir", "/work");
  for (const b of spec.binds) args.push(b.writable ? "--bind" : "--ro-bind", b.host, b.guest);
  if (spec.seccomp !== null) args.push("--ro-bind", spec.seccomp.helper, SECCOMP_EXEC_PATH);
  // The root is bwrap's own tmpfs; once every mount point exists, nothing outside /tmp and
  // the writable grants can be written.
  args.push("--remount-ro", "/");
  for (const [k, v] of Object.entries(spec.env)) args.push("--setenv", k, v);
  args.push("--chdir", spec.cwd);
  args.push("--");
  // bwrap sets PWD after --chdir; the helper removes it unless the plan's environment has it.
  if (spec.seccomp !== null) {
    args.push(SECCOMP_EXEC_PATH, String(spec.seccomp.filterFd), String(spec.seccomp.notifyFd), ...(Object.hasOwn(spec.env, "PWD") ? ["--keep-pwd"] : []), "--");
  }
  args.push(...spec.argv);
  return { file: opts.bwrap ?? "bwrap", args };
}

/** Read-only binds needed to run `execPath` when it lives outside /usr (e.g. a node in /opt). */
export function runtimeBinds(execPath: string): string[] {
  return BASE_RO.some((b) => isUnder(execPath, b)) ? [] : [dirname(execPath)];
}
