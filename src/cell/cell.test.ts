// The cell tier on this host: real bwrap, seccomp, cgroups. Every test here must pass on a
// host with the layers; on a host without them, Runtime.start must refuse (tested below).
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { chmodSync, existsSync } from "node:fs";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { AuditLog } from "../audit/index.js";
import type { Json } from "../errors.js";
import { loadPolicy } from "../policy/load-policy.js";
import { cellOf, isAlive, Runtime } from "../runtime/runtime.js";
import type { LoadedTool } from "../policy/load-policy.js";
import { openProbeSession } from "../probes/probe-session.js";
import { makePolicyDir, policyYaml } from "../testing/policy-fixture.js";
import type { CellHost } from "./cell-hosts.js";

async function cellRuntime() {
  const p = await makePolicyDir();
  chmodSync(p.dir, 0o755);
  const policy = loadPolicy(p.write(policyYaml(p.moduleSha256, { grants: "      - { kind: fs.read, path: data, mount: /data, enforcer: wasi-jail, check: fs-escape-dotdot }" })));
  const audit = AuditLog.memory();
  const runtime = await Runtime.start({ policy, audit, isolation: "cell" });
  return { runtime, audit };
}

/** A session in the probe cell (self-attacks and forged frames on request), over the real sandbox. */
function probeCell(runtime: Runtime) {
  return openProbeSession(runtime, "reader", [runtime.policy.tools.get("tool") as LoadedTool], { hostileCell: true });
}

async function gone(pids: readonly number[], withinMs = 3000): Promise<boolean> {
  const until = Date.now() + withinMs;
  while (Date.now() < until) {
    if (pids.every((p) => !isAlive(p))) return true;
    await new Promise((r) => setTimeout(r, 25));
  }
  return false;
}

type Report = { report: { succeeded: boolean; errno: number; names?: string[]; fds?: Array<{ fd: number }>; forked?: number } | null; status: number | null; signal: string | null };

describe("cells", () => {
  it("the real cell does nothing a probe asks for: a selftest frame ends it as a bad frame", async () => {
    const { runtime } = await cellRuntime();
    try {
      const session = await runtime.openSession("reader");
      const cell = (cellOf(session.toolHost) as CellHost).process;
      await assert.rejects(cell.selftest("socket-inet"), (e: Error & { code?: string; exitCode?: number | null }) => e.code === "ERR_CELL_EXITED" && e.exitCode === 2);
    } finally {
      await runtime.close();
    }
  });

  it("run a session's tools in a sandboxed process and record the isolation", async () => {
    const { runtime, audit } = await cellRuntime();
    const session = await runtime.openSession("reader");
    assert.equal(session.isolation, "cell");
    const r = await session.call("tool", {});
    assert.ok(r.ok, JSON.stringify(r));
    assert.deepEqual(r.output, { ok: true });
    assert.equal(audit.recordsAfter(0).find((x) => x.type === "session.opened")?.["isolation"], "cell");
    await runtime.close();
  });

  it("hold their walls: no network, no ptrace/mount/unshare, no host files, no env, no stray fds", async () => {
    const { runtime } = await cellRuntime();
    const session = await probeCell(runtime);
    const cell = (cellOf(session.toolHost) as CellHost).process;
    const test = async (probe: string) => (await cell.selftest(probe)) as unknown as Report;
    for (const probe of ["socket-inet", "connect-unix", "ptrace", "mount", "unshare"]) {
      const r = await test(probe);
      assert.equal(r.report?.succeeded, false, `${probe}: ${JSON.stringify(r)}`);
      assert.equal(r.report?.errno, 1, `${probe} must be EPERM from seccomp: ${JSON.stringify(r)}`);
    }
    assert.equal((await test("read /etc/shadow")).report?.errno, 2);
    assert.equal((await test("read /root/.bashrc")).report?.succeeded, false);
    assert.equal((await test("write /cordon/dist/pwned")).report?.errno, 30);
    assert.equal((await test("write /grants/0/pwned")).report?.errno, 30, "a read-only grant is bound read-only");
    assert.deepEqual((await test("environ")).report?.names, []);
    assert.deepEqual((await test("fds")).report?.fds?.map((f) => f.fd), [0, 1, 2]);
    await runtime.close();
  });

  it("cap a fork bomb with the cgroup pids limit and leave no process behind", async () => {
    const { runtime } = await cellRuntime();
    const session = await probeCell(runtime);
    const cell = (cellOf(session.toolHost) as CellHost).process;
    const r = (await cell.selftest("fork-bomb")) as unknown as Report;
    assert.ok((r.report?.forked ?? 1e9) < 64, JSON.stringify(r));
    assert.ok((cell.cgroup?.events().pidsMaxHits ?? 0) > 0);
    const pids = cell.cgroup?.pids() ?? [];
    await runtime.closeSession(session);
    assert.ok(await gone(pids), "processes left after the session ended");
    await runtime.close();
  });

  it("OOM-kill a memory hog at the cell's cgroup limit", async () => {
    const { runtime } = await cellRuntime();
    const session = await probeCell(runtime);
    const cell = (cellOf(session.toolHost) as CellHost).process;
    const r = (await cell.selftest("mem-hog 2048")) as unknown as Report;
    assert.equal(r.signal, "SIGKILL", JSON.stringify(r));
    assert.ok((cell.cgroup?.events().oomKills ?? 0) > 0);
    await runtime.close();
  });

  it("kill a cell that forges a frame for another session, and audit it under frame-guard", async () => {
    for (const probe of ["forge-session", "oversized-frame"]) {
      const { runtime, audit } = await cellRuntime();
      const session = await probeCell(runtime);
      const cell = (cellOf(session.toolHost) as CellHost).process;
      await assert.rejects(cell.selftest(probe));
      assert.ok(await gone([cell.pid ?? 0]));
      await new Promise((r) => setTimeout(r, 20));
      const killed = audit.recordsAfter(0).filter((x) => x.type === "cell.killed");
      assert.equal(killed.length, 1, probe);
      assert.equal(killed[0]?.["enforcer"], "frame-guard");
      const after = await session.call("tool", {});
      assert.equal(!after.ok && after.error.code, "ERR_CELL_EXITED");
      await runtime.close();
    }
  });

  it("leave nothing behind when the control plane is SIGKILLed", async () => {
    const script = fileURLToPath(new URL("./cell-holder.fixture.js", import.meta.url));
    const p = await makePolicyDir();
    chmodSync(p.dir, 0o755);
    p.write(policyYaml(p.moduleSha256));
    const child = spawn(process.execPath, [script, p.policyPath], { stdio: ["ignore", "pipe", "inherit"] });
    const line = await new Promise<string>((resolve) => child.stdout.once("data", (d: Buffer) => resolve(d.toString("utf8"))));
    const { pids, cgroup } = JSON.parse(line) as { pids: number[]; cgroup: string };
    assert.ok(pids.length > 0 && pids.every(isAlive));
    child.kill("SIGKILL");
    assert.ok(await gone(pids), `cell processes survived their control plane: ${pids.filter(isAlive).join(",")}`);
    // The next control plane's start-up reaper removes the dead one's cgroups.
    const { runtime } = await cellRuntime();
    assert.equal(existsSync(cgroup), false);
    await runtime.close();
  });

  it("hand out pre-compiled pooled cells, each to exactly one session, never reused", async () => {
    const p = await makePolicyDir();
    chmodSync(p.dir, 0o755);
    const policy = loadPolicy(p.write(policyYaml(p.moduleSha256)));
    const runtime = await Runtime.start({ policy, audit: AuditLog.memory(), isolation: "cell", poolSize: 1 });
    await runtime.warm();
    const a = await runtime.openSession("reader");
    const b = await runtime.openSession("reader");
    const pa = (cellOf(a.toolHost) as CellHost).process;
    const pb = (cellOf(b.toolHost) as CellHost).process;
    assert.notEqual(pa.id, pb.id);
    assert.ok((await a.call("tool", {})).ok);
    assert.ok((await b.call("tool", {})).ok);
    const pidsA = pa.cgroup?.pids() ?? [];
    await runtime.closeSession(a);
    assert.ok(await gone(pidsA));
    assert.ok((await b.call("tool", {})).ok, "closing one session must not touch another's cell");
    await runtime.close();
  });

  it("is refused with a typed error and an audit record when a layer is missing", async () => {
    const p = await makePolicyDir();
    const policy = loadPolicy(p.write(policyYaml(p.moduleSha256)));
    const audit = AuditLog.memory();
    await assert.rejects(Runtime.start({ policy, audit, isolation: "cell", packageRoot: "/nonexistent" }), (e: Error & { code?: string }) => e.code === "ERR_TIER_UNAVAILABLE");
    const rec = audit.recordsAfter(0).at(-1) as Record<string, Json> | undefined;
    assert.equal(rec?.["type"], "tier.refused");
    assert.equal(rec?.["code"], "ERR_TIER_UNAVAILABLE");
    assert.match(rec?.["missing"] as string, /launcher is missing/, "the record names the missing layer");
    assert.equal(rec?.["enforcer"], undefined, "a host gap names no enforcer: none fired");
  });
});
