// CellCgroup against a fake tree: validation, read-back, fail-closed paths and teardown logic.
// The same code against the real kernel is in cgroups-live.test.ts.
import assert from "node:assert/strict";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { CellCgroup } from "./cell-cgroup.js";
import type { CellCgroupOptions } from "./cell-cgroup.js";
import { detectCgroups } from "./detect-cgroups.js";
import { makeFakeTree } from "./fake-cgroup-tree.js";
import type { FakeTree, FakeTreeSpec } from "./fake-cgroup-tree.js";
import { sweepStale } from "./sweep.js";

const ALL = { memory: ["memory"], pids: ["pids"], cpu: ["cpu"] } as const;
const LIMITS = { memoryBytes: 32 << 20, pids: 16 };

function withTree(spec: FakeTreeSpec, body: (t: FakeTree, opts: CellCgroupOptions) => Promise<void> | void) {
  return async () => {
    const t = makeFakeTree(spec);
    try {
      await body(t, { support: detectCgroups(t.root, { mountsPath: t.mountsPath }), host: t.host, killTimeoutMs: 100, removeTimeoutMs: 100 });
    } finally {
      t.cleanup();
    }
  };
}

void test("writes every limit and applied() reads them back", withTree({ v1: ALL }, (t, opts) => {
  const cg = CellCgroup.create("cell-1", { ...LIMITS, cpuQuotaPercent: 25 }, opts);
  assert.deepEqual(cg.applied(), {
    "memory.limit_in_bytes": 32 << 20,
    "memory.memsw.limit_in_bytes": 32 << 20,
    "memory.oom_kill_disable": 0,
    "pids.max": 16,
    "cpu.cfs_period_us": 100_000,
    "cpu.cfs_quota_us": 25_000,
  });
  assert.equal(cg.paths.pids, join(t.root, "pids", "cordon", "cell-1"));
}));

void test("without a cpu quota the cpu cgroup is joined but left unlimited", withTree({ v1: ALL }, (_t, opts) => {
  const cg = CellCgroup.create("cell-1", LIMITS, opts);
  assert.equal(cg.applied()["cpu.cfs_quota_us"], -1);
}));

void test("refuses ids and limits that are not safe to turn into a cgroup", withTree({ v1: ALL }, (t, opts) => {
  for (const id of ["", "..", "../x", "a/b", ".hidden", "x".repeat(65), "a b"]) {
    assert.throws(() => CellCgroup.create(id, LIMITS, opts), { code: "ERR_CGROUP_CONFIG_INVALID", field: "id" }, id);
  }
  const bad: Array<[object, string]> = [
    [{ memoryBytes: 1000, pids: 16 }, "limits.memoryBytes"],
    [{ memoryBytes: (32 << 20) + 0.5, pids: 16 }, "limits.memoryBytes"],
    [{ memoryBytes: 32 << 20, pids: 0 }, "limits.pids"],
    [{ memoryBytes: 32 << 20, pids: Number.POSITIVE_INFINITY }, "limits.pids"],
    [{ ...LIMITS, cpuQuotaPercent: 0.5 }, "limits.cpuQuotaPercent"],
    [{ ...LIMITS, cpuQuotaPercent: Number.NaN }, "limits.cpuQuotaPercent"],
  ];
  for (const [limits, field] of bad) {
    assert.throws(() => CellCgroup.create("ok", limits as typeof LIMITS, opts), { code: "ERR_CGROUP_CONFIG_INVALID", field });
  }
  assert.equal(existsSync(join(t.root, "pids", "cordon")), false);
}));

void test("fails closed when a required controller is missing, creating nothing", withTree({ v1: { memory: ["memory"], cpu: ["cpu"] } }, (t, opts) => {
  assert.throws(() => CellCgroup.create("cell-1", LIMITS, opts), { code: "ERR_CGROUP_UNAVAILABLE", controller: "pids", reason: "not-mounted" });
  assert.equal(existsSync(join(t.root, "memory", "cordon")), false);
}));

void test("cpu is required only when a quota is asked for", withTree({ v1: { memory: ["memory"], pids: ["pids"] } }, (_t, opts) => {
  assert.throws(() => CellCgroup.create("c", { ...LIMITS, cpuQuotaPercent: 50 }, opts), { code: "ERR_CGROUP_UNAVAILABLE", controller: "cpu" });
  const cg = CellCgroup.create("c", LIMITS, opts);
  assert.equal(cg.applied()["cpu.cfs_quota_us"], "unavailable");
}));

void test("a control file the kernel did not provide is an error, never created", withTree({ v1: ALL, missing: ["pids.max"] }, (t, opts) => {
  assert.throws(() => CellCgroup.create("cell-1", LIMITS, opts), { code: "ERR_CGROUP_WRITE_FAILED", reason: "ENOENT" });
  for (const c of ["memory", "pids", "cpu"]) assert.equal(existsSync(join(t.root, c, "cordon", "cell-1")), false, c);
}));

void test("a limit the kernel does not read back is not in force", withTree({ v1: ALL, deaf: ["pids.max"] }, (t, opts) => {
  assert.throws(() => CellCgroup.create("cell-1", LIMITS, opts), { code: "ERR_CGROUP_LIMIT_NOT_APPLIED", actual: null });
  assert.equal(existsSync(join(t.root, "pids", "cordon", "cell-1")), false);
}));

void test("without memsw accounting the memory limit still applies and memsw reads unavailable", withTree({ v1: ALL, missing: ["memory.memsw.limit_in_bytes"] }, (_t, opts) => {
  const applied = CellCgroup.create("cell-1", LIMITS, opts).applied();
  assert.equal(applied["memory.limit_in_bytes"], 32 << 20);
  assert.equal(applied["memory.memsw.limit_in_bytes"], "unavailable");
}));

void test("an existing cgroup for the id is refused", withTree({ v1: ALL }, (_t, opts) => {
  CellCgroup.create("cell-1", LIMITS, opts);
  assert.throws(() => CellCgroup.create("cell-1", LIMITS, opts), { code: "ERR_CGROUP_EXISTS" });
}));

void test("destroy sets pids.max to 0, kills what is listed, removes the dirs, and is idempotent", withTree({ v1: ALL }, async (t, opts) => {
  const cg = CellCgroup.create("cell-1", LIMITS, opts);
  const pidsDir = cg.paths.pids!;
  writeFileSync(join(pidsDir, "cgroup.procs"), "101\n102\n");
  writeFileSync(join(cg.paths.memory!, "cgroup.procs"), "101\n102\n103\n");
  assert.deepEqual(cg.pids(), [101, 102, 103]);
  const report = await cg.destroy();
  assert.deepEqual(report.killed, [101, 102, 103]);
  assert.equal(existsSync(pidsDir), false);
  assert.equal(await cg.destroy(), report);
  assert.deepEqual(t.killed.sort(), [101, 102, 103]);
  assert.throws(() => cg.adopt(200), { code: "ERR_CGROUP_ADOPT_FAILED", reason: "destroyed" });
}));

void test("pids.max is 0 and the cpu quota lifted before the first kill", withTree({ v1: ALL }, async (t, opts) => {
  const pidsMax = join(t.root, "pids", "cordon", "cell-1", "pids.max");
  const quota = join(t.root, "cpu", "cordon", "cell-1", "cpu.cfs_quota_us");
  const seen: string[] = [];
  const kill = (pid: number, sig: NodeJS.Signals): void => {
    seen.push(`${readFileSync(pidsMax, "utf8")} ${readFileSync(quota, "utf8")}`);
    t.host.kill(pid, sig);
  };
  const cg = CellCgroup.create("cell-1", { ...LIMITS, cpuQuotaPercent: 10 }, { ...opts, host: { ...t.host, kill } });
  assert.equal(readFileSync(pidsMax, "utf8"), "16");
  writeFileSync(join(cg.paths.pids!, "cgroup.procs"), "101\n");
  await cg.destroy();
  assert.deepEqual(seen, ["0 -1"]);
}));

void test("survivors after the deadline are a typed error listing them; a later destroy retries", withTree({ v1: ALL }, async (t, opts) => {
  const cg = CellCgroup.create("cell-1", LIMITS, opts);
  writeFileSync(join(cg.paths.pids!, "cgroup.procs"), "101\n");
  t.killWorks = false;
  await assert.rejects(cg.destroy(), { code: "ERR_CGROUP_KILL_FAILED", survivors: [101] });
  t.killWorks = true;
  assert.deepEqual((await cg.destroy()).killed, [101]);
}));

void test("EBUSY from rmdir is retried; other errors are not", withTree({ v1: ALL }, async (t, opts) => {
  const cg = CellCgroup.create("cell-1", LIMITS, opts);
  t.rmdirFailures.push("EBUSY", "EBUSY", "EBUSY");
  await cg.destroy();
  const other = CellCgroup.create("cell-2", LIMITS, opts);
  t.rmdirFailures.push("EACCES");
  await assert.rejects(other.destroy(), { code: "ERR_CGROUP_REMOVE_FAILED", reason: "EACCES" });
}));

void test("sweepStale empties and removes every leftover cell, nested cgroups included", withTree({ v1: ALL }, async (t, opts) => {
  const a = CellCgroup.create("old-a", LIMITS, opts);
  CellCgroup.create("old-b", LIMITS, opts);
  writeFileSync(join(a.paths.pids!, "cgroup.procs"), "301\n");
  t.host.mkdir(join(a.paths.pids!, "nested"));
  writeFileSync(join(a.paths.pids!, "nested", "cgroup.procs"), "302\n");
  const result = await sweepStale(t.root, { support: opts.support!, host: t.host });
  assert.deepEqual(result.failed, []);
  assert.deepEqual(result.removed.map((r) => [r.id, r.killed]), [["old-a", [301, 302]], ["old-b", []]]);
  for (const c of ["memory", "pids", "cpu"]) assert.deepEqual(existsSync(join(t.root, c, "cordon", "old-a")), false);
}));
