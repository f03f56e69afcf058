// The OS sandbox every native layer of cordon runs in (cells, tool processes, a VMM): checked
// once on this host, then shared. It holds the native helpers, the compiled seccomp program,
// the pool of unprivileged host uids and this control plane's cgroup parent. A missing layer is
// a TierUnavailable naming it, never a silent downgrade.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { TierUnavailable } from "../errors.js";
import { CellCgroup, detectCgroups } from "./cgroups/index.js";
import type { CellLimits } from "./cgroups/types.js";
import { cgroupParentFor, removeParent } from "./cgroups/control-plane.js";
import { checkSeccompWorks, compileFilter, DEFAULT_RULES } from "./seccomp/index.js";

/** The native helpers every sandbox needs, under the package root. */
export function nativeHelpers(packageRoot: string): { readonly launcher: string; readonly seccompExec: string; readonly hostile: string } {
  const dir = join(packageRoot, "build", "native");
  return { launcher: join(dir, "cordon-launch"), seccompExec: join(dir, "cordon-seccomp-exec"), hostile: join(dir, "hostile") };
}

/** What the OS sandbox is made of on this host, for records and `prove`. */
export interface Layers {
  readonly bwrap: string;
  readonly seccomp: string;
  readonly cgroups: string;
}

export interface OsSandboxOptions {
  readonly packageRoot: string;
  /** Host uids for sandboxes: each allocation gets the next one in [base, base + count). */
  readonly uidBase?: number;
  readonly uidCount?: number;
}

/** Checks every layer on this host; throws TierUnavailable naming the first gap. */
export function checkOsSandbox(packageRoot: string, tier = "wasm"): Layers {
  const native = nativeHelpers(packageRoot);
  for (const [name, path] of Object.entries(native)) {
    if (!existsSync(path)) throw new TierUnavailable(tier, `build/native's ${name} is missing (run npm run build)`);
  }
  const seccomp = checkSeccompWorks({ supervised: { launcher: native.launcher, helper: native.seccompExec } });
  if (!seccomp.ok) throw new TierUnavailable(tier, `bubblewrap with user namespaces and supervised seccomp: ${seccomp.missing}`);
  const cg = detectCgroups();
  for (const name of ["memory", "pids"] as const) {
    const c = cg.controllers[name];
    if (!c.available) throw new TierUnavailable(tier, `cgroup ${name} controller: ${c.reason}`);
  }
  return { bwrap: "bwrap: user, pid, net, ipc, uts, cgroup namespaces", seccomp: "seccomp: classic BPF with a user-notification listener; every denial recorded by the supervisor", cgroups: "cgroup v1: memory, pids, cpu" };
}

export class OsSandbox {
  /** cordon's rule table compiled for this arch ("notify" mode: every denial recorded). */
  readonly seccomp = compileFilter(DEFAULT_RULES);
  readonly launcher: string;
  readonly seccompExec: string;
  private nextUid = 0;

  private constructor(readonly packageRoot: string, readonly layers: Layers, private readonly opts: OsSandboxOptions) {
    const native = nativeHelpers(packageRoot);
    this.launcher = native.launcher;
    this.seccompExec = native.seccompExec;
  }

  /** The sandbox of this host, or TierUnavailable. */
  static check(opts: OsSandboxOptions): OsSandbox {
    return new OsSandbox(opts.packageRoot, checkOsSandbox(opts.packageRoot), opts);
  }

  /** A fresh host uid (never 0) for one sandbox or session. */
  allocUid(): number {
    const base = this.opts.uidBase ?? 200_000;
    const count = this.opts.uidCount ?? 60_000;
    const uid = base + (this.nextUid % count);
    this.nextUid += 1;
    return uid;
  }

  /** A cgroup under this control plane's parent. */
  cgroup(id: string, limits: CellLimits): CellCgroup {
    return CellCgroup.create(id, limits, { parent: cgroupParentFor() });
  }

  /** Removes this control plane's (now empty) cgroup parent; call after every sandbox is gone. */
  release(): void {
    removeParent(cgroupParentFor());
  }
}
