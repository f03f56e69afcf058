import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { detectCgroups, parseMounts } from "./detect-cgroups.js";
import { makeFakeTree } from "./fake-cgroup-tree.js";

void test("v1 hierarchies under the root are available, each at its own mount point", () => {
  const t = makeFakeTree({ v1: { memory: ["memory"], pids: ["pids"], "cpu,cpuacct": ["cpu", "cpuacct"], cpuset: ["cpuset"] } });
  try {
    const s = detectCgroups(t.root, { mountsPath: t.mountsPath });
    assert.deepEqual(s.controllers, {
      memory: { available: true, version: "v1", path: join(t.root, "memory") },
      pids: { available: true, version: "v1", path: join(t.root, "pids") },
      cpu: { available: true, version: "v1", path: join(t.root, "cpu,cpuacct") },
    });
  } finally {
    t.cleanup();
  }
});

void test("'cpuset' and 'cpuacct' do not count as 'cpu'", () => {
  const t = makeFakeTree({ v1: { cpuset: ["cpuset"], cpuacct: ["cpuacct"] } });
  try {
    const cpu = detectCgroups(t.root, { mountsPath: t.mountsPath }).controllers.cpu;
    assert.equal(cpu.available, false);
    assert.equal(!cpu.available && cpu.reason, "not-mounted");
  } finally {
    t.cleanup();
  }
});

void test("a read-only v1 mount is reported, not used", () => {
  const t = makeFakeTree({ v1: { pids: ["ro", "pids"] } });
  try {
    const pids = detectCgroups(t.root, { mountsPath: t.mountsPath }).controllers.pids;
    assert.deepEqual(pids.available ? null : [pids.version, pids.reason], ["v1", "read-only"]);
  } finally {
    t.cleanup();
  }
});

void test("a controller only the unified hierarchy offers is v2-not-implemented, never available", () => {
  const t = makeFakeTree({ v2: { dir: ".", controllers: ["cpuset", "cpu", "io", "memory", "pids"] } });
  try {
    const s = detectCgroups(t.root, { mountsPath: t.mountsPath });
    for (const c of ["memory", "pids", "cpu"] as const) {
      const got = s.controllers[c];
      assert.deepEqual(got.available ? null : [got.version, got.reason], ["v2", "v2-not-implemented"], c);
    }
  } finally {
    t.cleanup();
  }
});

void test("hybrid host (this one): v1 wins, and v2's hugetlb-only unified mount offers nothing else", () => {
  const t = makeFakeTree({ v1: { memory: ["memory"] }, v2: { dir: "unified", controllers: ["hugetlb"] } });
  try {
    const s = detectCgroups(t.root, { mountsPath: t.mountsPath });
    assert.equal(s.controllers.memory.available, true);
    const pids = s.controllers.pids;
    assert.deepEqual(pids.available ? null : [pids.version, pids.reason], [null, "not-mounted"]);
  } finally {
    t.cleanup();
  }
});

void test("mounts outside the root are ignored", () => {
  const t = makeFakeTree({ v1: { pids: ["pids"] } });
  try {
    const s = detectCgroups(join(t.root, "elsewhere"), { mountsPath: t.mountsPath });
    assert.equal(s.controllers.pids.available, false);
  } finally {
    t.cleanup();
  }
});

void test("an unreadable mount table makes every controller unavailable", () => {
  const s = detectCgroups("/sys/fs/cgroup", { mountsPath: "/nonexistent/mounts" });
  for (const c of ["memory", "pids", "cpu"] as const) {
    const got = s.controllers[c];
    assert.equal(got.available ? null : got.reason, "mounts-unreadable");
  }
});

void test("parseMounts unescapes octal sequences in mount points", () => {
  assert.deepEqual(parseMounts("cgroup /a\\040b cgroup rw,pids 0 0\n"), [
    { mountpoint: "/a b", fstype: "cgroup", options: ["rw", "pids"] },
  ]);
});
