// The container tier, side by side in one run: a cordon container call, cold (bundle, cgroup,
// launcher + supervisor, crun run, cordon-seccomp-exec, answer, delete, cgroup removed) against
// bare `crun run` of a minimal bundle of the same image; the same for runsc; session start to
// first answer from the warm pool; memory per idle (warm) container session; and `podman run
// --rm` of the same image as the daemonless-engine baseline. Calls are interleaved per iteration.
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ContainerTier } from "../container/container-tier.js";
import type { ContainerTool } from "../policy/load-policy.js";
import { loadPolicy } from "../policy/load-policy.js";
import { EXAMPLE_POLICY } from "../config/defaults.js";
import { REPO_ROOT } from "./guests.js";
import { summarise, type Stats } from "./measure.js";
import { failedRow, p50Target, type Row } from "./rows.js";

const NATIVE = join(REPO_ROOT, "build", "native");
const ITER = 30;
const INPUT = new TextEncoder().encode("{}");

function spawnWait(file: string, args: readonly string[]): Promise<number | null> {
  return new Promise((resolve, reject) => {
    const c = spawn(file, args, { stdio: ["ignore", "pipe", "ignore"], env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin" }, shell: false });
    c.stdout.resume();
    c.once("error", reject);
    c.once("exit", (code) => resolve(code));
  });
}

/** A minimal bundle of the image's rootfs running /usr/bin/cat (crun's defaults: no user namespace, no seccomp, no limits). */
function bareBundle(dir: string, rootfs: string, runsc: boolean): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const config = {
    ociVersion: "1.0.2",
    process: { terminal: false, user: { uid: 0, gid: 0 }, args: ["/usr/bin/true"], env: ["PATH=/usr/bin:/bin"], cwd: "/", noNewPrivileges: true },
    root: { path: rootfs, readonly: true },
    hostname: "bare",
    mounts: [{ destination: "/proc", type: "proc", source: "proc" }, ...(runsc ? [] : [{ destination: "/dev", type: "tmpfs", source: "tmpfs", options: ["nosuid", "mode=755", "size=65536"] }])],
    linux: { namespaces: ["pid", "ipc", "uts", "mount", "network"].map((type) => ({ type })) },
  };
  writeFileSync(join(dir, "config.json"), JSON.stringify(config));
}

const ms = (us: number): string => `${(us / 1000).toFixed(1)} ms`;

function rssOf(pid: number): { rss: number; pss: number } {
  try {
    const rss = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0) * 1024;
    const pss = Number(/Pss:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/smaps_rollup`, "utf8"))?.[1] ?? 0) * 1024;
    return { rss, pss };
  } catch {
    return { rss: 0, pss: 0 };
  }
}

export async function benchContainers(progress: (s: string) => void): Promise<Row[]> {
  const rows: Row[] = [];
  const base = (id: string, label: string) => ({ id: `containers.${id}`, section: "containers", label }) as const;
  if (process.getuid?.() !== 0) return [{ ...base("skipped", "container tier"), kind: "info", text: "not run: cordon starts OCI runtimes as root" }];
  const policy = loadPolicy(EXAMPLE_POLICY);
  const crunTool = policy.tools.get("build-test") as ContainerTool;
  // The same tool under each runtime, its command replaced by cat (the answer is the input).
  const cat = (t: ContainerTool, runtime: "crun" | "runsc"): ContainerTool => Object.freeze({ ...t, runtime, command: { argv: ["/usr/bin/cat"], script: null } });
  let uid = 260_000;
  const tier = new ContainerTier({ launcher: join(NATIVE, "cordon-launch"), seccompExec: join(NATIVE, "cordon-seccomp-exec"), allocUid: () => uid++, cgroupParent: `cordon-bench-${process.pid}`, poolSize: 1 });
  const scratch = join("/run", `cordon-bench-${process.pid}`);
  try {
    const rootfs = tier.rootfs(crunTool);
    for (const runtime of ["crun", "runsc"] as const) {
      progress(`containers: ${runtime} cold call vs bare ${runtime} run`);
      try {
        const tool = cat(crunTool, runtime);
        const host = await tier.runtime(runtime, tool);
        const bundle = join(scratch, `bare-${runtime}`);
        bareBundle(bundle, rootfs, runtime === "runsc");
        const state = join(scratch, `state-${runtime}`);
        mkdirSync(state, { recursive: true, mode: 0o700 });
        const bareArgs = (id: string) => (runtime === "crun" ? ["--root", state, "run", "--bundle", bundle, id] : ["--root", state, "--network=none", `--platform=${host.platform ?? "ptrace"}`, "--ignore-cgroups", "run", "--bundle", bundle, id]);
        const cordon: number[] = [];
        const bare: number[] = [];
        const n = runtime === "crun" ? ITER : Math.ceil(ITER / 2);
        for (let i = -3; i < n; i++) {
          let t = process.hrtime.bigint();
          const call = tier.newCall(host, { tool, hostUid: uid++, places: null }, "run");
          const r = await call.call(INPUT);
          await call.settled(); // the bare runtime's time includes its own deletion too
          if (r.exitCode !== 0 || r.stdout.toString() !== "{}") throw new Error(`cordon call failed: ${r.exitCode ?? r.signal} ${r.stderrTail.slice(-200)}`);
          if (i >= 0) cordon.push(Number(process.hrtime.bigint() - t));
          t = process.hrtime.bigint();
          const code = await spawnWait(host.bin, bareArgs(`bare-${process.pid}-${i + 3}`));
          if (code !== 0) throw new Error(`bare ${runtime} run failed (${code})`);
          if (i >= 0) bare.push(Number(process.hrtime.bigint() - t));
          if (runtime === "runsc") spawnSync(host.bin, ["--root", state, "delete", "--force", `bare-${process.pid}-${i + 3}`], { stdio: "ignore", shell: false });
        }
        const c = summarise(cordon);
        const b = summarise(bare);
        const budgetMs = runtime === "crun" ? 3 : 10;
        rows.push({ ...base(`${runtime}.bare`, `bare \`${runtime} run\` of a minimal bundle of the same image (/usr/bin/true; no user namespace, seccomp or limits)`), kind: "timing", stats: b });
        rows.push({
          ...base(`${runtime}.cold`, `cordon container call, cold, ${runtime}: cgroup, bundle, supervised ${runtime} run, the answer (cat), delete — target ≤ bare + ${budgetMs} ms`),
          kind: "timing",
          stats: c,
          target: p50Target(c, b.p50Us + budgetMs * 1000),
          note: `cordon − bare = ${ms(c.p50Us - b.p50Us)} p50${runtime === "runsc" ? ` (platform ${host.platform ?? "?"})` : ""}`,
        });
      } catch (err) {
        rows.push(failedRow(base(`${runtime}.cold`, `cordon container call, cold, ${runtime}`), err));
      }
    }
    progress("containers: warm pool, session start to first answer (crun)");
    try {
      const tool = cat(crunTool, "crun");
      const warm: number[] = [];
      tier.fill(tool, [tool]);
      for (let i = -2; i < ITER; i++) {
        await tier.settled();
        const t = process.hrtime.bigint();
        const slot = tier.takeWarm(tool, [tool]);
        if (slot === null) throw new Error("the pool was empty");
        const r = await slot.call.call(INPUT);
        if (i >= 0) warm.push(Number(process.hrtime.bigint() - t));
        await slot.call.settled();
        slot.places.remove();
        if (r.stdout.toString() !== "{}") throw new Error(`warm call failed: ${r.stderrTail.slice(-200)}`);
      }
      const w = summarise(warm);
      rows.push({ ...base("crun.warm", "session start to first answer from the warm pool (a `crun create`d container, bound, released, answered; its deletion follows the answer) — target ≤ 5 ms"), kind: "timing", stats: w, target: p50Target(w, 5_000), note: "the pool refills behind each session; each iteration waits for the refill, so the figure is the idle-gateway case" });
      await tier.settled();
      progress("containers: memory per idle (warm) container session");
      const slots = [];
      for (let i = 0; i < 8; i++) {
        tier.fill(tool, [tool]);
        await tier.settled();
        const s = tier.takeWarm(tool, [tool]);
        if (s !== null) slots.push(s);
      }
      await tier.settled();
      await new Promise((r) => setTimeout(r, 500));
      let rss = 0;
      let pss = 0;
      let procs = 0;
      for (const s of slots) {
        const dir = join("/sys/fs/cgroup/memory", `cordon-bench-${process.pid}`, s.call.id, "cgroup.procs");
        for (const pid of readFileSync(dir, "utf8").split("\n").filter(Boolean).map(Number)) {
          const m = rssOf(pid);
          rss += m.rss;
          pss += m.pss;
          procs += 1;
        }
      }
      const per = (x: number) => Math.round((x / slots.length / 2 ** 20) * 100) / 100;
      rows.push({ ...base("crun.idle-memory", "memory per idle container session (a created crun container and its supervisor)"), kind: "value", value: per(rss), unit: "MB", detail: `RSS ${per(rss)} MB, PSS ${per(pss)} MB per session; ${procs / Math.max(1, slots.length)} processes each (${slots.length} sessions)`, data: { pssMB: per(pss) } });
      for (const s of slots) {
        await s.call.discard();
        s.places.remove();
      }
    } catch (err) {
      rows.push(failedRow(base("crun.warm", "warm pool"), err));
    }
    progress("containers: podman run --rm of the same image (baseline)");
    try {
      const tag = "localhost/cordon-build-test:bench";
      const have = spawnSync("/usr/bin/podman", ["image", "exists", tag], { stdio: "ignore", shell: false });
      if (have.status !== 0) {
        const imp = spawnSync("/usr/bin/podman", ["import", crunTool.image.absPath, tag], { stdio: "ignore", shell: false, timeout: 300_000 });
        if (imp.status !== 0) throw new Error("podman import failed");
      }
      const podman: number[] = [];
      for (let i = -2; i < 10; i++) {
        const t = process.hrtime.bigint();
        const code = await spawnWait("/usr/bin/podman", ["run", "--rm", "--network=none", "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024", tag, "/usr/bin/true"]);
        if (code !== 0) throw new Error(`podman run failed (${code})`);
        if (i >= 0) podman.push(Number(process.hrtime.bigint() - t));
      }
      const p: Stats = summarise(podman);
      rows.push({ ...base("podman", "`podman run --rm` of the same image (imported from its tar; /usr/bin/true)"), kind: "timing", stats: p });
    } catch (err) {
      rows.push(failedRow(base("podman", "podman run --rm"), err));
    }
  } finally {
    await tier.close();
    rmSync(scratch, { recursive: true, force: true });
    for (const c of ["memory", "pids", "cpu"]) {
      try {
        rmdirSync(join("/sys/fs/cgroup", c, `cordon-bench-${process.pid}`));
      } catch {
        // absent
      }
    }
  }
  return rows;
}
