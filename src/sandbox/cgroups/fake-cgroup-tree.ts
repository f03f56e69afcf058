// Test support: a fake cgroup v1 tree in a temp dir, with a mount table naming it and a host
// whose mkdir populates control files the way the kernel does. Not exported from index.ts.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import type { Dirent } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import type { CgroupHost, ControllerName } from "./types.js";

export interface FakeTreeSpec {
  /** v1 mounts: directory name under the root -> mount options (controllers, "ro"). */
  readonly v1?: Readonly<Record<string, readonly string[]>>;
  /** A cgroup2 mount at <root>/<dir> offering these controllers. */
  readonly v2?: { readonly dir: string; readonly controllers: readonly string[] };
  /** Control files a new cgroup lacks (e.g. "memory.memsw.limit_in_bytes"). */
  readonly missing?: readonly string[];
  /** Control files that swallow writes (a symlink to /dev/null): the read-back shows nothing. */
  readonly deaf?: readonly string[];
}

export interface FakeTree {
  readonly root: string;
  readonly mountsPath: string;
  readonly host: CgroupHost;
  readonly killed: number[];
  /** rmdir failures still to inject, by errno code, consumed in order. */
  readonly rmdirFailures: string[];
  /** When false, kill() leaves the pid in cgroup.procs (an unkillable process). */
  killWorks: boolean;
  cleanup(): void;
}

const POPULATE: Record<ControllerName, Record<string, string>> = {
  memory: {
    "memory.limit_in_bytes": "9223372036854771712\n",
    "memory.memsw.limit_in_bytes": "9223372036854771712\n",
    "memory.oom_control": "oom_kill_disable 0\nunder_oom 0\noom_kill 0\n",
    "memory.failcnt": "0\n",
    "memory.memsw.failcnt": "0\n",
    "memory.max_usage_in_bytes": "0\n",
  },
  pids: { "pids.max": "max\n", "pids.events": "max 0\n" },
  cpu: { "cpu.cfs_period_us": "100000\n", "cpu.cfs_quota_us": "-1\n" },
};

export function makeFakeTree(spec: FakeTreeSpec): FakeTree {
  const base = mkdtempSync(join(tmpdir(), "cordon-cgroups-"));
  const root = join(base, "cgroup");
  const lines: string[] = [`proc ${join(base, "proc")} proc rw 0 0`];
  const controllerOf = new Map<string, ControllerName[]>();
  for (const [dir, options] of Object.entries(spec.v1 ?? {})) {
    const mp = join(root, dir);
    mkdirSync(mp, { recursive: true });
    writeFileSync(join(mp, "cgroup.procs"), "");
    const flags = options.includes("ro") ? options : ["rw", ...options];
    lines.push(`cgroup ${mp.replace(/ /g, "\\040")} cgroup ${flags.join(",")} 0 0`);
    controllerOf.set(mp, options.filter((o): o is ControllerName => o === "memory" || o === "pids" || o === "cpu"));
  }
  if (spec.v2 !== undefined) {
    const mp = join(root, spec.v2.dir);
    mkdirSync(mp, { recursive: true });
    writeFileSync(join(mp, "cgroup.controllers"), `${spec.v2.controllers.join(" ")}\n`);
    lines.push(`cgroup2 ${mp} cgroup2 rw,nsdelegate 0 0`);
  }
  const mountsPath = join(base, "mounts");
  writeFileSync(mountsPath, `${lines.join("\n")}\n`);

  const mountOf = (path: string): string | undefined =>
    [...controllerOf.keys()].find((mp) => !relative(mp, path).startsWith(".."));
  const tree: FakeTree = {
    root,
    mountsPath,
    killed: [],
    rmdirFailures: [],
    killWorks: true,
    cleanup: () => rmSync(base, { recursive: true, force: true }),
    host: {
      procRoot: join(base, "proc"),
      now: () => performance.now(),
      sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
      mkdir(path) {
        mkdirSync(path);
        writeFileSync(join(path, "cgroup.procs"), "");
        const mp = mountOf(path);
        for (const c of mp === undefined ? [] : controllerOf.get(mp) ?? []) {
          for (const [file, text] of Object.entries(POPULATE[c])) {
            if (spec.missing?.includes(file)) continue;
            if (spec.deaf?.includes(file)) symlinkSync("/dev/null", join(path, file));
            else writeFileSync(join(path, file), text);
          }
        }
      },
      rmdir(path) {
        const failure = tree.rmdirFailures.shift();
        if (failure !== undefined) throw Object.assign(new Error(`fake ${failure}`), { code: failure });
        if (readFileSync(join(path, "cgroup.procs"), "utf8").trim() !== "") {
          throw Object.assign(new Error("fake EBUSY"), { code: "EBUSY" });
        }
        rmSync(path, { recursive: true });
      },
      kill(pid) {
        tree.killed.push(pid);
        if (tree.killWorks) clearPid(root, pid);
      },
    },
  };
  return tree;
}

/** Remove `pid` from every cgroup.procs under `dir` (what the kernel does when it exits). */
function clearPid(dir: string, pid: number): void {
  let entries: Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) clearPid(path, pid);
    else if (entry.name === "cgroup.procs") {
      const kept = readFileSync(path, "utf8").split(/\s+/).filter((w) => w !== "" && w !== String(pid));
      writeFileSync(path, kept.map((w) => `${w}\n`).join(""));
    }
  }
}
