import assert from "node:assert/strict";
import { chmodSync } from "node:fs";
import { describe, it } from "node:test";
import { AuditLog } from "../audit/index.js";
import type { Isolation } from "../tier/tool-host.js";
import type { CellHost } from "../cell/cell-hosts.js";
import { loadPolicy } from "../policy/load-policy.js";
import { makePolicyDir, policyYaml } from "../testing/policy-fixture.js";
import { cellOf, isAlive, Runtime } from "./runtime.js";
import type { SessionLimits } from "./session.js";

async function start(limits: Partial<SessionLimits>, isolation: Isolation = "in-process") {
  const p = await makePolicyDir();
  chmodSync(p.dir, 0o755);
  const policy = loadPolicy(p.write(policyYaml(p.moduleSha256)));
  const audit = AuditLog.memory();
  const runtime = await Runtime.start({ policy, audit, isolation, sessionLimits: limits });
  return { runtime, audit };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("session limits", () => {
  it("ends a session at its maximum number of calls, with one denial record", async () => {
    const { runtime, audit } = await start({ maxCalls: 2 });
    const s = await runtime.openSession("reader");
    assert.ok((await s.call("tool", {})).ok);
    assert.ok((await s.call("tool", {})).ok);
    const third = await s.call("tool", {});
    assert.equal(!third.ok && third.error.code, "ERR_SESSION_EXPIRED");
    const recs = audit.recordsAfter(0);
    assert.equal(recs.filter((r) => r.enforcer === "session-limits").length, 1);
    assert.equal(recs.find((r) => r.type === "session.closed")?.["reason"], "max-calls");
    await runtime.close();
  });

  it("ends an idle session without being called, and refuses calls afterwards", async () => {
    const { runtime, audit } = await start({ idleMs: 100 });
    const s = await runtime.openSession("reader");
    await sleep(400);
    assert.equal(s.ended, true);
    assert.equal(audit.recordsAfter(0).find((r) => r.type === "session.closed")?.["reason"], "idle");
    const r = await s.call("tool", {});
    assert.equal(!r.ok && r.error.code, "ERR_SESSION_EXPIRED");
    await runtime.close();
  });

  it("ends a busy session at its maximum lifetime", async () => {
    const { runtime } = await start({ lifetimeMs: 250, idleMs: 10_000 });
    const s = await runtime.openSession("reader");
    let last;
    for (let i = 0; i < 20; i++) {
      last = await s.call("tool", {});
      if (!last.ok) break;
      await sleep(25);
    }
    assert.equal(last !== undefined && !last.ok && last.error.code, "ERR_SESSION_EXPIRED");
    await runtime.close();
  });

  it("kills an idle session's cell and leaves no process behind", async () => {
    const { runtime } = await start({ idleMs: 200 }, "cell");
    const s = await runtime.openSession("reader");
    const pids = (cellOf(s.toolHost) as CellHost).process.cgroup?.pids() ?? [];
    assert.ok(pids.length > 0);
    await sleep(800);
    assert.equal(s.ended, true);
    assert.deepEqual(pids.filter(isAlive), []);
    await runtime.close();
  });
});
