// Load-time module vetting: a verified module over a cap is refused by loadPolicy itself, in
// the control plane, with a typed ToolRefused naming wasm-module-vetting and the cap's fields,
// before any cell is started or sent its bytes.
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { sha256Hex } from "../crypto/digest.js";
import { ModuleCapExceeded, PolicyInvalid, ToolRefused } from "../errors.js";
import { makePolicyDir, policyYaml } from "../testing/policy-fixture.js";
import { capModule } from "../wasm/module/cap-modules.js";
import { loadPolicy } from "./load-policy.js";

async function policyWith(bytes: Uint8Array, limits?: string): Promise<string> {
  const p = await makePolicyDir();
  writeFileSync(join(p.dir, "modules", "tool.wasm"), bytes);
  return p.write(policyYaml(sha256Hex(bytes), limits === undefined ? {} : { limits }));
}

function refusal(path: string): ToolRefused {
  try {
    loadPolicy(path);
  } catch (err) {
    assert.ok(err instanceof ToolRefused, `expected ToolRefused, got ${String(err)}`);
    return err;
  }
  return assert.fail("policy loaded");
}

describe("loadPolicy vets each module's shape", () => {
  it("refuses a module declaring a million functions, at the count, naming the cap", async () => {
    const err = refusal(await policyWith(capModule("functions", 1_000_000)));
    assert.equal(err.code, "ERR_TOOL_REFUSED");
    assert.equal(err.enforcer, "wasm-module-vetting");
    assert.equal(err.tool, "tool");
    assert.ok(err.reason instanceof ModuleCapExceeded);
    assert.deepEqual(err.fields(), {
      tool: "tool", enforcer: "wasm-module-vetting", reasonCode: "ERR_MODULE_REFUSED", reason: "too-many-functions",
      detail: err.reason.detail, cap: "functions", limit: 20_000, declared: 1_000_000, offset: 18,
    });
  });

  it("holds the module to the tool's own limits.maxFunctions and, for data, limits.memory", async () => {
    const limits = "{ memory: 64KiB, fuel: 1000, wallClockMs: 200, inputBytes: 1KiB, outputBytes: 1KiB, maxFunctions: 5 }";
    assert.equal(loadPolicy(await policyWith(capModule("functions", 5), limits)).tools.size, 1);
    assert.deepEqual((refusal(await policyWith(capModule("functions", 6), limits)).reason as ModuleCapExceeded).limit, 5);
    assert.equal(loadPolicy(await policyWith(capModule("dataBytes", 65536), limits)).tools.size, 1);
    assert.equal((refusal(await policyWith(capModule("dataBytes", 65537), limits)).reason as ModuleCapExceeded).cap, "dataBytes");
  });

  it("refuses the fixed caps, a module over its byte cap, and a malformed module the same way", async () => {
    assert.equal((refusal(await policyWith(capModule("nestingDepth", 1001))).reason as ModuleCapExceeded).cap, "nestingDepth");
    const limits = "{ memory: 1MiB, fuel: 1000, wallClockMs: 200, inputBytes: 1KiB, outputBytes: 1KiB, moduleBytes: 1KiB }";
    const oversized = refusal(await policyWith(capModule("types", 1000), limits));
    assert.deepEqual([oversized.reason.code, oversized.fields()["reason"]], ["ERR_MODULE_REFUSED", "oversized"]);
    assert.equal(refusal(await policyWith(Uint8Array.of(0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 3, 2, 1))).reason.code, "ERR_MODULE_MALFORMED");
  });

  it("reports ordinary problems first (PolicyInvalid), vetting only verified bytes", async () => {
    const p = await makePolicyDir();
    writeFileSync(join(p.dir, "modules", "tool.wasm"), capModule("functions", 1_000_000));
    // the digest is the fixture's, not the hostile file's: its digest check fails before any vetting
    assert.throws(() => loadPolicy(p.write(policyYaml(p.moduleSha256))), (e: unknown) => e instanceof PolicyInvalid && e.issues.some((i) => i.path.endsWith(".module.sha256")));
  });
});
