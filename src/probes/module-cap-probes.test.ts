// The module cap probes as `cordon prove` runs them: one row per cap on a Wasm tool's
// module-shape line, each proven (stopped, with exactly one wasm-module-vetting record).
// In-process here, for prove's bookkeeping; `cordon prove` runs the same probes against cells.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { AuditLog } from "../audit/index.js";
import { MODULE_CAP_NAMES } from "../wasm/module/module-caps.js";
import { findEnforcer, MODULE_CAP_PROBES, probesFor } from "../enforcers.js";
import { loadPolicy } from "../policy/load-policy.js";
import { Runtime } from "../runtime/runtime.js";
import { makePolicyDir, policyYaml } from "../testing/policy-fixture.js";
import { prove } from "./prove.js";
import { PROBES } from "./registry.js";

describe("module cap probes", () => {
  it("exist for every cap, are registered, and are checks of the module-shape line", () => {
    const vetting = findEnforcer("wasm-module-vetting");
    assert.ok(vetting);
    const checks = probesFor(vetting, "module.shape");
    assert.deepEqual(Object.keys(MODULE_CAP_PROBES).sort(), [...MODULE_CAP_NAMES].sort());
    for (const id of Object.values(MODULE_CAP_PROBES)) {
      assert.ok(PROBES.has(id), `${id} is registered`);
      assert.ok(checks.includes(id), `${id} is a check of module.shape`);
    }
    assert.equal(new Set(Object.values(MODULE_CAP_PROBES)).size, MODULE_CAP_NAMES.length, "one id per cap");
  });

  it("prove every row of a tool's module-shape line under the tool's own limits", async () => {
    const p = await makePolicyDir();
    const limits = "{ memory: 128KiB, fuel: 1000000, wallClockMs: 200, inputBytes: 1KiB, outputBytes: 1KiB, maxFunctions: 50 }";
    const policy = loadPolicy(p.write(policyYaml(p.moduleSha256, { limits })));
    const runtime = await Runtime.start({ policy, audit: AuditLog.memory(), strict: false, isolation: "in-process" });
    try {
      const ids = new Set(Object.values(MODULE_CAP_PROBES));
      const rows = await prove(runtime, undefined, new Map([...PROBES].filter(([id]) => ids.has(id))));
      const shape = rows.filter((r) => r.check !== null && ids.has(r.check));
      assert.equal(shape.length, ids.size);
      for (const row of shape) {
        assert.equal(row.status, "proven", `${row.check}: ${row.detail}`);
        assert.equal(row.enforcer, "wasm-module-vetting");
        const record = runtime.audit.recordsAfter(0).find((r) => r.seq === row.auditSeq);
        assert.equal(record?.type, "session.refused");
      }
      assert.match(shape.find((r) => r.check === "module-too-many-functions")?.detail ?? "", /^51 against the functions cap of 50 /);
      assert.match(shape.find((r) => r.check === "module-data-too-large")?.detail ?? "", /^131073 against the dataBytes cap of 131072 /);
    } finally {
      await runtime.close();
    }
  });
});
