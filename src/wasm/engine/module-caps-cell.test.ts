// End to end, on this host's real cells: the module that used to abort a cell (a signed 4 MB
// module declaring a million functions) is refused with a wasm-module-vetting record, never an
// ERR_CELL_EXITED — by the control plane at policy load, and by the cell itself when it is sent
// the bytes anyway (a probe variant skips the load-time pass: defence in depth).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { loadAudited } from "../../artifacts/load-policy-audited.js";
import { sha256Hex } from "../../crypto/digest.js";
import { AuditLog } from "../../audit/index.js";
import { ModuleCapExceeded, ToolRefused } from "../../errors.js";
import { loadPolicy, type WasmTool } from "../../policy/load-policy.js";
import { variant } from "../../probes/variant.js";
import { Runtime } from "../../runtime/runtime.js";
import { makePolicyDir, policyYaml } from "../../testing/policy-fixture.js";
import { capModule } from "../module/cap-modules.js";
import { openProbeSession } from "../../probes/probe-session.js";

const MAIN = fileURLToPath(new URL("../../cli/main.js", import.meta.url));
const HOSTILE = capModule("functions", 1_000_000);

async function hostilePolicy(): Promise<string> {
  const p = await makePolicyDir();
  chmodSync(p.dir, 0o755);
  writeFileSync(join(p.dir, "modules", "tool.wasm"), HOSTILE);
  return p.write(policyYaml(sha256Hex(HOSTILE)));
}

describe("a module declaring a million functions", () => {
  it("is refused by a real cell before compile, naming the cap, with one wasm-module-vetting record", async () => {
    const p = await makePolicyDir();
    chmodSync(p.dir, 0o755);
    const policy = loadPolicy(p.write(policyYaml(p.moduleSha256)));
    const audit = AuditLog.memory();
    const runtime = await Runtime.start({ policy, audit, isolation: "cell" });
    try {
      const before = audit.head?.seq ?? 0;
      const tool = variant(policy.tools.get("tool") as WasmTool, { bytes: HOSTILE });
      await assert.rejects(openProbeSession(runtime, "probe:tool", [tool]), (err: unknown) => {
        assert.ok(err instanceof ToolRefused, `expected ToolRefused, got ${String(err)}`);
        assert.equal(err.enforcer, "wasm-module-vetting");
        assert.ok(err.reason instanceof ModuleCapExceeded, `the cell's reason crossed the wire typed: ${err.reason.code}`);
        assert.deepEqual([err.reason.cap, err.reason.limit, err.reason.declared, err.reason.offset], ["functions", 20_000, 1_000_000, 18]);
        return true;
      });
      const records = audit.recordsAfter(before);
      const vetting = records.filter((r) => r.enforcer === "wasm-module-vetting");
      assert.equal(vetting.length, 1);
      assert.deepEqual([vetting[0]?.type, vetting[0]?.["reason"], vetting[0]?.["declared"]], ["session.refused", "too-many-functions", 1_000_000]);
      assert.ok(!records.some((r) => r["code"] === "ERR_CELL_EXITED" || r.type === "cell.killed"), JSON.stringify(records));
      // The refusal cost the cell nothing: the next session on this runtime works.
      const session = await runtime.openSession("reader");
      assert.ok((await session.call("tool", {})).ok);
    } finally {
      await runtime.close();
    }
  });

  it("in a policy, is refused at load in the control plane, audited, before any cell exists", async () => {
    const audit = AuditLog.memory();
    await assert.rejects(loadAudited(await hostilePolicy(), audit), (e: unknown) => e instanceof ToolRefused && e.enforcer === "wasm-module-vetting");
    const records = audit.recordsAfter(0);
    assert.deepEqual(records.map((r) => [r.type, r.enforcer, r["cap"], r["declared"]]), [["policy.refused", "wasm-module-vetting", "functions", 1_000_000]]);
  });

  it("`cordon run --no-strict` on such a policy exits with ERR_TOOL_REFUSED, not ERR_CELL_EXITED", async () => {
    const home = mkdtempSync(join(tmpdir(), "cordon-caps-"));
    const log = join(home, "audit.jsonl");
    const r = spawnSync(process.execPath, [MAIN, "run", "--no-strict", "--policy", await hostilePolicy(), "--audit", log, "--role", "reader", "tool", "{}"], {
      encoding: "utf8",
      env: { PATH: process.env["PATH"] ?? "", CORDON_HOME: home },
      timeout: 60_000,
    });
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /ERR_TOOL_REFUSED/);
    assert.doesNotMatch(r.stderr, /ERR_CELL_EXITED/);
    const records = readFileSync(log, "utf8").trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
    const refused = records.filter((rec) => rec["enforcer"] === "wasm-module-vetting");
    assert.deepEqual(refused.map((rec) => [rec["type"], rec["reason"], rec["declared"]]), [["policy.refused", "too-many-functions", 1_000_000]]);
    assert.ok(!records.some((rec) => rec["code"] === "ERR_CELL_EXITED"));
  });
});
