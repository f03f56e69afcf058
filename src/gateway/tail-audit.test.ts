import assert from "node:assert/strict";
import { appendFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { AuditLog, type AuditRecord } from "../audit/index.js";
import { classifyRecord, formatDenial } from "./classify-record.js";
import { tailAudit } from "./tail-audit.js";

describe("tailAudit", () => {
  it("streams records as they are appended, complete lines only, skipping garbage", async () => {
    const path = join(mkdtempSync(join(tmpdir(), "cordon-tail-")), "audit.jsonl");
    const log = await AuditLog.open(path);
    await log.append({ type: "policy.loaded" });
    const controller = new AbortController();
    const seen: AuditRecord[] = [];
    let wake: () => void = () => undefined;
    const enough = new Promise<void>((resolve) => (wake = resolve));
    const done = tailAudit({ path, fromStart: true, pollMs: 5, signal: controller.signal, onRecord: (r) => { seen.push(r); if (seen.length === 3) wake(); } });
    await log.append({ type: "call.denied", enforcer: "role-toolset", code: "ERR_TOOL_NOT_FOUND", tool: "file-stats" });
    await log.close();
    appendFileSync(path, "not json\n");
    appendFileSync(path, '{"type":"authn.denied","enforcer":"authn-token","seq":99,"time":"t"}\n{"type":"half');
    await enough;
    controller.abort();
    await done;
    assert.deepEqual(seen.map((r) => r.type), ["policy.loaded", "call.denied", "authn.denied"]);
    assert.equal(classifyRecord(seen[1] as AuditRecord), "denial");
    assert.match(formatDenial(seen[1] as AuditRecord), /seq=2 call\.denied enforcer=role-toolset code=ERR_TOOL_NOT_FOUND tool=file-stats/);
  });

  it("classifies: *.denied/*.refused with an enforcer are denials, limit.exceeded is a limit, the rest is other", () => {
    assert.equal(classifyRecord({ type: "session.refused", enforcer: "module-digest" }), "denial");
    assert.equal(classifyRecord({ type: "limit.exceeded", enforcer: "wasm-fuel" }), "limit");
    assert.equal(classifyRecord({ type: "call.denied" }), "other");
    assert.equal(classifyRecord({ type: "call.completed", enforcer: "seccomp" }), "other");
  });
});
