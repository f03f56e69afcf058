// A module refused by load-time vetting is audited once, as policy.refused under
// wasm-module-vetting with the cap's fields, and the typed error still reaches the caller.
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { AuditLog } from "../audit/index.js";
import { ToolRefused } from "../errors.js";
import { makePolicyDir, policyYaml } from "../testing/policy-fixture.js";
import { capModule } from "../wasm/module/cap-modules.js";
import { loadAudited } from "./load-policy-audited.js";
import { sha256Hex } from "../crypto/digest.js";

describe("loadAudited", () => {
  it("records one policy.refused naming wasm-module-vetting for a module over a cap", async () => {
    const p = await makePolicyDir();
    const bytes = capModule("functions", 1_000_000);
    writeFileSync(join(p.dir, "modules", "tool.wasm"), bytes);
    const audit = AuditLog.memory();
    await assert.rejects(loadAudited(p.write(policyYaml(sha256Hex(bytes))), audit), (e: unknown) => e instanceof ToolRefused && e.enforcer === "wasm-module-vetting");
    const records = audit.recordsAfter(0);
    assert.equal(records.length, 1);
    const [rec] = records;
    assert.equal(rec?.type, "policy.refused");
    assert.equal(rec?.enforcer, "wasm-module-vetting");
    assert.deepEqual([rec?.["code"], rec?.["tool"], rec?.["reason"], rec?.["cap"], rec?.["limit"], rec?.["declared"], rec?.["offset"]], ["ERR_TOOL_REFUSED", "tool", "too-many-functions", "functions", 20_000, 1_000_000, 18]);
  });

  it("records nothing for a policy whose modules are within their caps", async () => {
    const p = await makePolicyDir();
    const audit = AuditLog.memory();
    const policy = await loadAudited(p.write(policyYaml(p.moduleSha256)), audit);
    assert.equal(policy.tools.size, 1);
    assert.equal(audit.recordsAfter(0).length, 0);
  });
});
