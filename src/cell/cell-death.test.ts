// A cell killed at each stage of its life: the caller always gets a typed error, the session
// always ends with a record, and the record says what killed the cell. Nothing hangs.
import assert from "node:assert/strict";
import { chmodSync } from "node:fs";
import { it } from "node:test";
import { AuditLog, type AuditRecord } from "../audit/index.js";
import { CordonError } from "../errors.js";
import { loadPolicy } from "../policy/load-policy.js";
import { Runtime } from "../runtime/runtime.js";
import { makePolicyDir, policyYaml } from "../testing/policy-fixture.js";
import type { CellProcess, CellStage } from "./cell-process.js";
import { describeWithCells } from "../testing/host.js";

/** A runtime whose cells are SIGKILLed (from outside, as an OOM killer or an operator would) on entering `stage`. */
async function killingAt(stage: CellStage, poolSize = 0) {
  const p = await makePolicyDir();
  chmodSync(p.dir, 0o755);
  const policy = loadPolicy(p.write(policyYaml(p.moduleSha256)));
  const audit = AuditLog.memory();
  let armed = true;
  const kill = (cell: CellProcess, at: CellStage) => {
    if (!armed || at !== stage || cell.pid === undefined) return;
    armed = false;
    process.kill(cell.pid, "SIGKILL");
  };
  const runtime = await Runtime.start({ policy, audit, isolation: "cell", poolSize, onCellStage: kill });
  return { runtime, audit, arm: () => (armed = true) };
}

async function until(audit: AuditLog, pred: (r: AuditRecord) => boolean, ms = 5_000): Promise<AuditRecord> {
  for (let waited = 0; waited < ms; waited += 20) {
    const hit = audit.recordsAfter(0).find(pred);
    if (hit !== undefined) return hit;
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.fail("no such record");
}

describeWithCells("a cell killed at each stage of its life", () => {
  for (const stage of ["starting", "loading"] as const) {
    it(`while ${stage}: the session is refused with a typed error and one record`, async () => {
      const { runtime, audit } = await killingAt(stage);
      try {
        await assert.rejects(runtime.openSession("reader"), (e) => e instanceof CordonError && (e.code === "ERR_CELL_EXITED" || e.code === "ERR_TIER_UNAVAILABLE"));
        const refused = audit.recordsAfter(0).filter((r) => r.type === "session.refused");
        assert.equal(refused.length, 1);
        assert.match(JSON.stringify(refused[0]), /SIGKILL|killed|died/);
      } finally {
        await runtime.close();
      }
    });
  }

  it("while pooled: the death is recorded, and the next session gets a fresh cell", async () => {
    const { runtime, audit } = await killingAt("pooled", 1);
    try {
      await runtime.warm();
      const exited = await until(audit, (r) => r.type === "cell.exited");
      assert.deepEqual([exited["stage"], exited["killedBy"]], ["pooled", "killed by SIGKILL"]);
      assert.match(exited["session"] as string, /^pooled:/);
      const session = await runtime.openSession("reader");
      const r = await session.call("tool", {});
      assert.ok(r.ok, JSON.stringify(r));
    } finally {
      await runtime.close();
    }
  });

  it("while bound and idle: the session ends at once, recorded with the cause; a later call is refused, typed", async () => {
    const { runtime, audit, arm } = await killingAt("bound");
    try {
      const session = await runtime.openSession("reader");
      const exited = await until(audit, (r) => r.type === "cell.exited");
      assert.deepEqual([exited["stage"], exited["session"], exited["signal"]], ["bound", session.id, "SIGKILL"]);
      const closed = await until(audit, (r) => r.type === "session.closed" && r["session"] === session.id);
      assert.equal(closed["reason"], "cell-exited");
      arm();
      const r = await session.call("tool", {});
      assert.equal(r.ok ? "ok" : r.error.code, "ERR_SESSION_EXPIRED");
    } finally {
      await runtime.close();
    }
  });

  it("while calling: the call fails typed (ERR_CELL_EXITED with the cause), the session ends, both recorded", async () => {
    const { runtime, audit } = await killingAt("calling");
    try {
      const session = await runtime.openSession("reader");
      const r = await session.call("tool", {});
      assert.ok(!r.ok);
      assert.equal(r.error.code, "ERR_CELL_EXITED");
      assert.equal(r.error.fields()["stage"], "calling");
      const failed = audit.recordsAfter(0).find((x) => x.seq === r.auditSeq);
      assert.deepEqual([failed?.type, failed?.["killedBy"]], ["call.failed", "killed by SIGKILL"]);
      const closed = await until(audit, (x) => x.type === "session.closed" && x["session"] === session.id);
      assert.equal(closed["reason"], "cell-exited");
    } finally {
      await runtime.close();
    }
  });
});
