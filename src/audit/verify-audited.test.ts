import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { keyId } from "../crypto/dsse.js";
import { AuditLog } from "./audit-log.js";
import { Checkpointer } from "./checkpoint.js";
import { verifyAuditFileAudited } from "./verify-audited.js";

async function checkpointed(n: number) {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  const keyid = keyId(publicKey);
  const path = join(mkdtempSync(join(tmpdir(), "cordon-va-")), "audit.jsonl");
  const log = await AuditLog.open(path);
  const cp = await Checkpointer.start(log, { auditPath: path, key: { keyid, privateKey }, startTimer: () => () => undefined });
  for (let i = 0; i < n; i++) await log.append({ type: "call.allowed", tool: `t${i}` });
  await log.close();
  await cp.close();
  return { path, trusted: new Map([[keyid, publicKey]]) };
}

describe("verifyAuditFileAudited", () => {
  it("records nothing for an intact log, one audit-chain record for an edit, one audit-checkpoint record for a truncation", async () => {
    const live = AuditLog.memory();
    const audit = { append: (e: Parameters<AuditLog["append"]>[0]) => live.append(e) };
    const { path, trusted } = await checkpointed(5);
    assert.equal((await verifyAuditFileAudited(path, { trusted }, audit)).ok, true);
    assert.equal(live.recordsAfter(0).length, 0);

    const lines = readFileSync(path, "utf8").trimEnd().split("\n");
    writeFileSync(path, `${lines.slice(0, 3).join("\n")}\n`);
    await verifyAuditFileAudited(path, { trusted }, audit);
    const truncated = live.recordsAfter(0);
    assert.deepEqual(truncated.map((r) => [r.type, r.enforcer, r.code]), [["audit.refused", "audit-checkpoint", "ERR_AUDIT_TRUNCATED"]]);
    assert.deepEqual(truncated[0]?.["fault"], { checkpointSeq: 5, records: 3 });

    writeFileSync(path, `${lines.map((l, i) => (i === 1 ? l.replace('"t1"', '"tX"') : l)).join("\n")}\n`);
    await verifyAuditFileAudited(path, { trusted }, audit);
    const edited = live.recordsAfter(1);
    assert.deepEqual(edited.map((r) => [r.type, r.enforcer, r["firstBadSeq"], r["reason"]]), [["audit.refused", "audit-chain", 2, "hash"]]);
  });
});
