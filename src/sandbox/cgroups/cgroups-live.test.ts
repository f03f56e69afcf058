// Live tests against the real /sys/fs/cgroup of this host (cgroup v1, run as root). They fail,
// never skip, where the hierarchies are missing. Each run uses its own parent directory
// (cordon-test-<pid>) so it cannot touch the cells of a control plane running beside it.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import type { ChildProcessWithoutNullStreams } from "node:child_process";
import { existsSync, readFileSync, rmdirSync } from "node:fs";
import { join } from "node:path";
import { after, test, type TestContext } from "node:test";
import { CellCgroup } from "./cell-cgroup.js";
import { detectCgroups } from "./detect-cgroups.js";
import { sweepStale } from "./sweep.js";

const ROOT = "/sys/fs/cgroup";
const PARENT = `cordon-test-${process.pid}`;
const PYTHON = "/usr/bin/python3";
const MiB = 1 << 20;

after(async () => {
  await sweepStale(ROOT, { parent: PARENT });
  for (const c of ["memory", "pids", "cpu"]) {
    try { rmdirSync(join(ROOT, c, PARENT)); } catch { /* never created */ }
  }
});

/** Start `python3 -c code` blocked on reading one byte from stdin, so it can be adopted first. */
async function spawnPaused(code: string): Promise<ChildProcessWithoutNullStreams> {
  const child = spawn(PYTHON, ["-c", `import sys\nsys.stdin.read(1)\n${code}`], {
    stdio: ["pipe", "pipe", "pipe"], env: { PATH: "/usr/bin:/bin" }, shell: false,
  });
  await new Promise<void>((resolve, reject) => { child.once("spawn", resolve); child.once("error", reject); });
  return child;
}

function exitOf(child: ChildProcessWithoutNullStreams): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
}

/** /proc/<pid>/stat start time, so a recycled pid is never mistaken for a survivor. */
function procIdentity(pid: number): { state: string; start: string } | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return { state: fields[0] ?? "?", start: fields[19] ?? "?" };
  } catch {
    return null;
  }
}

function survivors(before: ReadonlyMap<number, string>): number[] {
  return [...before].filter(([pid, start]) => {
    const now = procIdentity(pid);
    return now !== null && now.start === start && now.state !== "Z";
  }).map(([pid]) => pid);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// What this host offers, detected: cordon drives cgroup v1. Where memory and pids are not v1
// hierarchies here (a unified v2-only host), each live test asserts the refusal instead.
const layout = detectCgroups(ROOT);
const V1 = layout.controllers.memory.available && layout.controllers.pids.available;
function live(name: string, body: (t: TestContext) => void | Promise<void>): void {
  if (V1) {
    void test(name, body);
    return;
  }
  void test(`${name} [no cgroup v1 memory/pids here: asserting the refusal]`, () => {
    assert.equal(layout.controllers.memory.available && layout.controllers.pids.available, false);
    assert.throws(() => CellCgroup.create("probe", { memoryBytes: 64 * MiB, pids: 16 }, { parent: PARENT }), (e: Error & { code?: string }) => typeof e.code === "string" && e.code.startsWith("ERR_"));
  });
}

live("this host offers writable v1 memory, pids and cpu hierarchies", () => {
  assert.ok(existsSync(join(ROOT, "pids")), "/sys/fs/cgroup/pids is missing");
  const s = detectCgroups(ROOT);
  for (const c of ["memory", "pids", "cpu"] as const) {
    assert.deepEqual(s.controllers[c], { available: true, version: "v1", path: join(ROOT, c) }, c);
  }
});

live("(a) a fork bomb is held at pids.max, and destroy() leaves no process and no cgroup", async (t) => {
  const cg = CellCgroup.create("bomb", { memoryBytes: 64 * MiB, pids: 16, cpuQuotaPercent: 50 }, { parent: PARENT });
  const bomb = await spawnPaused([
    "import os, time",
    "while True:",
    "    try:",
    "        os.fork()",
    "    except OSError:",
    "        time.sleep(0.005)",
  ].join("\n"));
  cg.adopt(bomb.pid!);
  const exited = exitOf(bomb);
  bomb.stdin.write("x");

  const current = join(cg.paths.pids!, "pids.current");
  let maxSeen = 0;
  let maxCurrent = 0;
  for (const start = performance.now(); performance.now() - start < 500;) {
    maxSeen = Math.max(maxSeen, cg.pids().length);
    maxCurrent = Math.max(maxCurrent, Number(readFileSync(current, "utf8")));
    await sleep(2);
  }
  const events = cg.events();
  assert.ok(maxSeen <= 16 && maxCurrent <= 16, `saw ${maxSeen} processes, pids.current ${maxCurrent}`);
  assert.equal(maxCurrent, 16, "the bomb should have reached the cap");
  assert.ok(events.pidsMaxHits > 0, "pids.events max should count refused forks");

  const inCell = cg.pids();
  const identities = new Map(inCell.flatMap((pid) => {
    const id = procIdentity(pid);
    return id === null ? [] : [[pid, id.start] as const];
  }));
  const t0 = performance.now();
  const report = await cg.destroy();
  const destroyMs = performance.now() - t0;
  t.diagnostic(`fork bomb: max processes ${maxSeen} (pids.current ${maxCurrent}), pidsMaxHits ${events.pidsMaxHits}, ` +
    `destroy ${destroyMs.toFixed(1)} ms (kill ${report.killMs.toFixed(1)}, rmdir ${report.removeMs.toFixed(1)}), killed ${report.killed.length}`);

  assert.deepEqual(survivors(identities), []);
  assert.equal((await exited).signal, "SIGKILL");
  for (const dir of Object.values(cg.paths)) assert.equal(existsSync(dir), false, dir);
  assert.ok(destroyMs < 2000);
});

live("(b) a process allocating past 32 MiB is OOM-killed and the counters show it", async (t) => {
  const cg = CellCgroup.create("hog", { memoryBytes: 32 * MiB, pids: 8 }, { parent: PARENT });
  try {
    const hog = await spawnPaused([
      "chunks = []",
      "for i in range(200):",
      "    chunks.append(b'\\x01' * (1 << 20))",
      "print('survived', flush=True)",
    ].join("\n"));
    let out = "";
    hog.stdout.on("data", (b: Buffer) => { out += b.toString(); });
    cg.adopt(hog.pid!);
    const exited = exitOf(hog);
    hog.stdin.end("x");
    const { code, signal } = await exited;
    const events = cg.events();
    t.diagnostic(`memory hog: exit signal ${signal}, events ${JSON.stringify(events)}`);
    assert.equal(signal, "SIGKILL", `exit code ${code}`);
    assert.equal(out, "");
    assert.ok(events.oomKills > 0 || events.memoryFailcnt > 0);
    assert.ok(events.memoryPeakBytes <= 32 * MiB && events.memoryPeakBytes > 16 * MiB, `peak ${events.memoryPeakBytes}`);
  } finally {
    await cg.destroy();
  }
});

live("(c) applied() reads back what the kernel holds", async () => {
  const cg = CellCgroup.create("applied", { memoryBytes: 32 * MiB + 100, pids: 16, cpuQuotaPercent: 25 }, { parent: PARENT });
  try {
    assert.deepEqual(cg.applied(), {
      "memory.limit_in_bytes": 32 * MiB, // rounded down to a page by the kernel
      "memory.memsw.limit_in_bytes": 32 * MiB,
      "memory.oom_kill_disable": 0,
      "pids.max": 16,
      "cpu.cfs_period_us": 100_000,
      "cpu.cfs_quota_us": 25_000,
    });
  } finally {
    await cg.destroy();
  }
  assert.deepEqual(new Set(Object.values(cg.applied())), new Set(["unavailable"]));
});

live("adoptTree() moves a running process and all its descendants", async () => {
  const cg = CellCgroup.create("tree", { memoryBytes: 64 * MiB, pids: 16 }, { parent: PARENT });
  try {
    const parent = await spawnPaused([
      "import os, time",
      "for i in range(3):",
      "    if os.fork() == 0:",
      "        if i == 0 and os.fork() == 0:",
      "            time.sleep(1000)",
      "        time.sleep(1000)",
      "print('ready', flush=True)",
      "time.sleep(1000)",
    ].join("\n"));
    const exited = exitOf(parent);
    parent.stdin.write("x");
    await new Promise((resolve) => parent.stdout.once("data", resolve));
    const adopted = cg.adoptTree(parent.pid!);
    assert.equal(adopted.length, 5);
    assert.deepEqual(cg.pids(), adopted);
    assert.deepEqual(new Set(readFileSync(join(cg.paths.memory!, "cgroup.procs"), "utf8").trim().split("\n").map(Number)), new Set(adopted));
    await cg.destroy();
    assert.equal((await exited).signal, "SIGKILL");
  } finally {
    await cg.destroy();
  }
});

live("(d) sweepStale() kills and removes a cgroup a dead control plane left behind", async () => {
  const leftover = CellCgroup.create("stale-1", { memoryBytes: 32 * MiB, pids: 4 }, { parent: PARENT });
  const sleeper = spawn("/usr/bin/sleep", ["1000"], { stdio: "ignore", env: {}, shell: false });
  await new Promise<void>((resolve, reject) => { sleeper.once("spawn", resolve); sleeper.once("error", reject); });
  const exited = new Promise<NodeJS.Signals | null>((resolve) => sleeper.once("exit", (_c, s) => resolve(s)));
  leftover.adopt(sleeper.pid!);
  const paths = Object.values(leftover.paths);
  // The control plane "dies" here: nothing calls leftover.destroy().

  const result = await sweepStale(ROOT, { parent: PARENT });
  assert.deepEqual(result.failed, []);
  assert.deepEqual(result.removed.map((r) => [r.id, r.killed]), [["stale-1", [sleeper.pid]]]);
  assert.equal(await exited, "SIGKILL");
  for (const dir of paths) assert.equal(existsSync(dir), false, dir);
});

live("(e) destroy() is idempotent and the id can be used again afterwards", async () => {
  const limits = { memoryBytes: 32 * MiB, pids: 4 };
  const first = CellCgroup.create("again", limits, { parent: PARENT });
  assert.throws(() => CellCgroup.create("again", limits, { parent: PARENT }), { code: "ERR_CGROUP_EXISTS" });
  const [r1, r2] = await Promise.all([first.destroy(), first.destroy()]);
  assert.equal(r1, r2);
  assert.equal(await first.destroy(), r1);
  assert.throws(() => first.adopt(process.pid), { code: "ERR_CGROUP_ADOPT_FAILED", reason: "destroyed" });

  const second = CellCgroup.create("again", limits, { parent: PARENT });
  assert.equal(second.applied()["pids.max"], 4);
  await second.destroy();
  for (const dir of Object.values(second.paths)) assert.equal(existsSync(dir), false, dir);
});
