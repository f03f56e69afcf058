import type { EnforcerName } from "../enforcers.js";
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { AuditLog } from "../audit/index.js";
import { loadPolicy } from "../policy/load-policy.js";
import { Runtime } from "../runtime/runtime.js";
import { makePolicyDir, policyYaml } from "../testing/policy-fixture.js";
import { prove } from "./prove.js";
import type { Probe } from "./types.js";

async function runtimeWith(grants = "      - { kind: clock, enforcer: wasi-clock, check: clock-ungranted }"): Promise<Runtime> {
  const p = await makePolicyDir();
  const policy = loadPolicy(p.write(policyYaml(p.moduleSha256, { grants })));
  // The subject here is prove's bookkeeping, not isolation: run guests in-process.
  return Runtime.start({ policy, audit: AuditLog.memory(), strict: false, isolation: "in-process" });
}

/** A fake probe that reports `stopped` and writes `records` audit records naming `enforcer`. */
function fake(stopped: boolean, records: number, enforcer: EnforcerName = "wasi-clock"): Probe {
  return async (env) => {
    for (let i = 0; i < records; i++) await env.runtime.audit.append({ type: "guest.denied", enforcer });
    return { stopped, detail: "fake" };
  };
}

describe("prove's accounting", () => {
  it("proves a line only when the probe was stopped AND exactly one record names its enforcer", async () => {
    const cases: Array<[Probe, string]> = [
      [fake(true, 1), "proven"],
      [fake(true, 0), "failed"],
      [fake(true, 2), "failed"],
      [fake(false, 1), "failed"],
      [fake(true, 1, "wasi-random"), "failed"], // a record naming another enforcer is no evidence
      [() => Promise.reject(new Error("boom")), "failed"],
    ];
    for (const [probe, expected] of cases) {
      const rt = await runtimeWith();
      const probes = new Map([["clock-ungranted", probe]]);
      const rows = await prove(rt, undefined, probes);
      const row = rows.find((r) => r.check === "clock-ungranted");
      assert.equal(row?.status, expected);
      // Every probe run leaves its own record too, so prove itself is auditable.
      assert.ok(rt.audit.recordsAfter(0).some((r) => r.type === "probe.ran" && r["probe"] === "clock-ungranted" && r["status"] === expected));
      await rt.close();
    }
  });

  it("shows wishes as rows with status wish, never as skips", async () => {
    const rt = await runtimeWith("      - { kind: clock, enforcer: TBD }");
    const rows = await prove(rt, undefined, new Map());
    assert.deepEqual(rows.filter((r) => r.status === "wish").map((r) => r.line), ["tool tool: clock"]);
    await rt.close();
  });

  it("fails a check whose probe does not exist in this build", async () => {
    const rt = await runtimeWith();
    const rows = await prove(rt, undefined, new Map());
    assert.ok(rows.every((r) => r.status === "failed"));
    await rt.close();
  });

  it("refuses, in strict mode, to start a runtime on a policy with a wish, and audits the refusal", async () => {
    const p = await makePolicyDir();
    const policy = loadPolicy(p.write(policyYaml(p.moduleSha256, { grants: "      - { kind: clock }" })));
    const audit = AuditLog.memory();
    await assert.rejects(Runtime.start({ policy, audit, isolation: "in-process" }), (e: Error & { code?: string }) => e.code === "ERR_POLICY_WISH" && e.message.includes("tool tool: clock"));
    assert.equal(audit.recordsAfter(0)[0]?.type, "policy.refused");
  });
});
