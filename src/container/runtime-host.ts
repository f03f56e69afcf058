// What an OCI runtime needs from this host before the container tier is offered, found out
// rather than assumed: the binary (Debian's crun or runsc), root, a cgroup layout crun accepts,
// a private --root for the runtime's state and a root-only directory for bundles. A runtime
// whose needs are not met is TierUnavailable with the reason, never a fallback. The commands
// themselves are built here as data (runtimeArgs), so they are tested and printed like plans.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { TierUnavailable } from "../errors.js";
import type { ContainerRuntimeName } from "../policy/load-policy.js";

export interface ContainerRuntimeHost {
  readonly name: ContainerRuntimeName;
  readonly bin: string;
  readonly version: string;
  /** --root: the runtime's state for this control plane's containers only. */
  readonly stateRoot: string;
  /** runsc only: the platform that worked here (kvm when it runs, else ptrace). */
  readonly platform: string | null;
}

export const RUNTIME_BINS: Readonly<Record<ContainerRuntimeName, string>> = { crun: "/usr/bin/crun", runsc: "/usr/bin/runsc" };

export type RuntimeVerb = "run" | "create" | "start" | "delete";

/** The runtime's argv (after the binary) for one verb on one container. Pure. */
export function runtimeArgs(host: ContainerRuntimeHost, verb: RuntimeVerb, id: string, bundle: string): string[] {
  if (host.name === "crun") {
    // cgroups are cordon's: the launcher joins the call's cgroup before exec'ing crun, so crun and
    // the container inherit it; crun itself creates none (its child cgroup's counters would die with it).
    const global = ["--root", host.stateRoot, "--cgroup-manager=disabled"];
    switch (verb) {
      case "run":
      case "create":
        // fds 3 and 4: the seccomp program and the notify socket, for cordon-seccomp-exec.
        return [...global, verb, "--bundle", bundle, "--preserve-fds", "2", "--no-new-keyring", id];
      case "start":
        return [...global, "start", id];
      case "delete":
        return [...global, "delete", "--force", id];
    }
  }
  // runsc: no network at all (not even a netstack loopback to the host), the OCI filter applied
  // inside the sandbox, and the Sentry's debug log (only the boot process's) where its seccomp
  // denials are written, kept in the call's own bundle directory.
  const global = ["--root", host.stateRoot, "--network=none", `--platform=${host.platform ?? "ptrace"}`, "--oci-seccomp", "--ignore-cgroups"];
  switch (verb) {
    case "run":
    case "create":
      return [...global, "--debug", `--debug-log=${bundle}/runsc-%COMMAND%.log`, "--debug-command=boot", verb, "--bundle", bundle, id];
    case "start":
      return [...global, "start", id];
    case "delete":
      return [...global, "delete", "--force", id];
  }
}

function versionOf(bin: string): string | null {
  const r = spawnSync(bin, ["--version"], { encoding: "utf8", env: {}, shell: false, timeout: 5_000 });
  if (r.error !== undefined || r.status !== 0) return null;
  return r.stdout.split("\n")[0]?.trim().slice(0, 80) ?? "";
}

/**
 * Controllers that the unified (v2) hierarchy holds while the v1 ones are mounted beside it (a
 * "hybrid" layout). crun 1.8 refuses to run at all then ("cgroups in hybrid mode not supported,
 * drop all controllers from cgroupv2"); on this kind of host it is hugetlb.
 */
export function hybridControllers(root = "/sys/fs/cgroup"): string[] {
  try {
    const controllers = readFileSync(join(root, "unified", "cgroup.controllers"), "utf8").trim();
    return controllers === "" ? [] : controllers.split(/\s+/);
  } catch {
    return [];
  }
}

/** v1 hierarchies mounted under the cgroup root (their directories), the unified one excluded. */
export function v1Hierarchies(root = "/sys/fs/cgroup"): string[] {
  const mounts = readFileSync("/proc/self/mountinfo", "utf8").split("\n");
  const out: string[] = [];
  for (const line of mounts) {
    const [left, right] = line.split(" - ");
    if (left === undefined || right === undefined || !right.startsWith("cgroup ")) continue;
    const point = left.split(" ")[4] ?? "";
    if (point.startsWith(`${root}/`)) out.push(point);
  }
  return out.sort();
}

/**
 * Moves each controller the unified hierarchy holds (and nothing uses: its subtree_control is
 * empty) to a v1 mount of its own, the layout crun needs. Returns what it mounted; throws
 * TierUnavailable where it cannot (not root, a controller in use by v2 cgroups).
 */
export function fixHybridCgroups(root = "/sys/fs/cgroup"): string[] {
  const held = hybridControllers(root);
  if (held.length === 0) return [];
  if (process.getuid?.() !== 0) throw new TierUnavailable("container", `cgroup v2 holds ${held.join(", ")} beside the v1 hierarchies and crun refuses that layout; moving it needs root`);
  let used = "";
  try {
    used = readFileSync(join(root, "unified", "cgroup.subtree_control"), "utf8").trim();
  } catch {
    // no unified hierarchy: nothing to move
  }
  if (used !== "") throw new TierUnavailable("container", `cgroup v2 uses ${used}; crun 1.8 cannot run beside it (mount those controllers as v1)`);
  const mounted: string[] = [];
  for (const c of held) {
    if (!/^[a-z_]+$/.test(c)) continue;
    const dir = join(root, c);
    mkdirSync(dir, { recursive: true });
    const r = spawnSync("/usr/bin/mount", ["-t", "cgroup", "-o", c, "cgroup", dir], { encoding: "utf8", env: {}, shell: false, timeout: 5_000 });
    if (r.status !== 0) throw new TierUnavailable("container", `could not mount the ${c} cgroup controller as v1: ${(r.stderr || String(r.error)).trim().slice(0, 200)}`);
    mounted.push(c);
  }
  return mounted;
}

export interface PreparedRuntime {
  readonly host: ContainerRuntimeHost;
  /** Controllers moved off cgroup v2 for crun (the host change is recorded). */
  readonly mountedControllers: readonly string[];
}

/** Finds `name` on this host and gives it a private state root; TierUnavailable when it cannot run here. */
export function prepareRuntime(name: ContainerRuntimeName, base: string, platform: string | null = null): PreparedRuntime {
  if (process.getuid?.() !== 0) throw new TierUnavailable("container", `${name} is started by cordon as root (to map container root to an unprivileged uid); cordon is not root`);
  const bin = RUNTIME_BINS[name];
  if (!existsSync(bin)) throw new TierUnavailable("container", `${bin} is missing (scripts/setup.sh installs ${name === "runsc" ? "runsc (gVisor)" : "crun"})`);
  const version = versionOf(bin);
  if (version === null) throw new TierUnavailable("container", `${bin} --version failed`);
  const mountedControllers = fixHybridCgroups();
  const stateRoot = join(base, name);
  mkdirSync(stateRoot, { recursive: true, mode: 0o700 });
  return { host: { name, bin, version, stateRoot, platform: name === "runsc" ? platform ?? "ptrace" : null }, mountedControllers };
}

/** Platforms to try for runsc, best first: kvm only where /dev/kvm exists (it may still hang: probed with a deadline). */
export function runscPlatforms(): string[] {
  return existsSync("/dev/kvm") ? ["kvm", "ptrace"] : ["ptrace"];
}

/** Removes a control plane's runtime state and bundle directories (after its containers are deleted). */
export function removeRuntimeBase(base: string): void {
  try {
    for (const e of readdirSync(base)) rmSync(join(base, e), { recursive: true, force: true });
    rmSync(base, { recursive: true, force: true });
  } catch {
    // already gone
  }
}
