import assert from "node:assert/strict";
import { copyFileSync, mkdtempSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { AuditLog } from "./audit-log.js";
import { Checkpointer } from "./checkpoint.js";
import { checkpointPath } from "./checkpoint-payload.js";
import { auditVerdictOk, verifyAuditFile, type AuditFileVerdict, type WitnessSource } from "./verify-audit-file.js";
import { auditRefusedEvent } from "./verify-audited.js";
import { cosignaturePath } from "./witness-payload.js";
import { freshSigningKey, startTestWitness, switchableFetch, writeWitnessedLog, type TestWitness } from "./witness/witness.fixture.js";

const signer = freshSigningKey();

function witnessError(v: AuditFileVerdict): { code: string; fields: Record<string, unknown> } {
  assert.ok(v.witness !== undefined && !v.witness.ok, `expected a witness failure: ${JSON.stringify(v)}`);
  return { code: v.witness.error.code, fields: v.witness.error.fields() };
}

/** Keeps the first `records` lines of the log and the checkpoints up to that seq: a consistent, shorter pair. */
function truncateBoth(path: string, records: number): void {
  writeFileSync(path, readFileSync(path, "utf8").split("\n").slice(0, records).join("\n") + "\n");
  const kept = readFileSync(checkpointPath(path), "utf8").trimEnd().split("\n").filter((l) => {
    const p = JSON.parse(Buffer.from((JSON.parse(l) as { payload: string }).payload, "base64").toString("utf8")) as { seq: number };
    return p.seq <= records;
  });
  writeFileSync(checkpointPath(path), kept.join("\n") + "\n");
}

describe("audit verify with a witness", () => {
  let w: TestWitness;
  let original = "";
  before(async () => {
    w = await startTestWitness();
    original = join(mkdtempSync(join(tmpdir(), "cordon-vw-")), "audit.jsonl");
    await writeWitnessedLog(original, signer.key, w.url, w.keys, 10, 3);
  });
  after(async () => {
    await w.close();
  });

  /** A copy of the witnessed log (and its checkpoints and cosignatures) to tamper with. */
  function copy(): string {
    const path = join(mkdtempSync(join(tmpdir(), "cordon-vw-")), "audit.jsonl");
    for (const f of [(p: string) => p, checkpointPath, cosignaturePath]) copyFileSync(f(original), f(path));
    return path;
  }

  const viaUrl = (): { source: WitnessSource; keys: typeof w.keys } => ({ source: { url: w.url }, keys: w.keys });

  it("passes an intact log, from the witness itself or from the kept cosignatures", async () => {
    const fromWitness = await verifyAuditFile(original, { trusted: signer.trusted, witness: viaUrl() });
    assert.equal(auditVerdictOk(fromWitness), true);
    assert.deepEqual(fromWitness.witness, { ok: true, cosignatures: 1, witnessedSeq: 10 });
    const fromFile = await verifyAuditFile(original, { trusted: signer.trusted, witness: { source: { file: cosignaturePath(original) }, keys: w.keys } });
    assert.deepEqual(fromFile.witness, { ok: true, cosignatures: 4, witnessedSeq: 10 });
  });

  it("catches the log and its checkpoints cut back together to an earlier checkpoint, which the checkpoints alone accept", async () => {
    const path = copy();
    truncateBoth(path, 6);
    const alone = await verifyAuditFile(path, { trusted: signer.trusted });
    assert.equal(auditVerdictOk(alone), true, "the hole the witness closes");
    const verdict = await verifyAuditFile(path, { trusted: signer.trusted, witness: viaUrl() });
    assert.equal(verdict.ok && verdict.checkpoints?.ok, true);
    assert.equal(auditVerdictOk(verdict), false);
    assert.deepEqual(witnessError(verdict), { code: "ERR_AUDIT_TRUNCATED", fields: { checkpointSeq: 10, records: 6 } });
    const event = auditRefusedEvent(path, verdict);
    assert.equal(event?.enforcer, "audit-witness");
    assert.equal(event?.code, "ERR_AUDIT_TRUNCATED");
    // The local copy of the cosignatures, if cut back too, vouches only for what is left: use the witness.
    writeFileSync(cosignaturePath(path), readFileSync(cosignaturePath(path), "utf8").split("\n").slice(0, 2).join("\n") + "\n");
    assert.equal(auditVerdictOk(await verifyAuditFile(path, { trusted: signer.trusted, witness: { source: { file: cosignaturePath(path) }, keys: w.keys } })), true);
  });

  it("catches a chain rewritten with the log's own key after it was witnessed", async () => {
    const path = copy();
    const forged = join(mkdtempSync(join(tmpdir(), "cordon-vw-")), "audit.jsonl");
    const log = await AuditLog.open(forged);
    const cp = await Checkpointer.start(log, { auditPath: forged, key: signer.key, everyRecords: 3, startTimer: () => () => undefined });
    for (let i = 0; i < 12; i++) await log.append({ type: "call.allowed", tool: "innocent", inputBytes: i });
    await log.close();
    await cp.close();
    renameSync(forged, path);
    renameSync(checkpointPath(forged), checkpointPath(path));
    assert.equal(auditVerdictOk(await verifyAuditFile(path, { trusted: signer.trusted })), true, "signed with the real key, its checkpoints agree");
    assert.deepEqual(witnessError(await verifyAuditFile(path, { trusted: signer.trusted, witness: viaUrl() })), { code: "ERR_AUDIT_WITNESS_MISMATCH", fields: { witnessedSeq: 10 } });
  });

  it("refuses a cosignature by another key, for another log or log key, and a witness that has none or cannot be reached", async () => {
    const stranger = await startTestWitness();
    try {
      assert.deepEqual(witnessError(await verifyAuditFile(original, { trusted: signer.trusted, witness: { source: { url: w.url }, keys: stranger.keys } })).fields["reason"], "signature");
      assert.deepEqual(witnessError(await verifyAuditFile(original, { trusted: signer.trusted, witness: { source: { url: stranger.url }, keys: stranger.keys } })).fields["reason"], "none");
    } finally {
      await stranger.close();
    }
    // The same cosignatures, read for a log of another name.
    const renamed = join(mkdtempSync(join(tmpdir(), "cordon-vw-")), "other.jsonl");
    copyFileSync(original, renamed);
    writeFileSync(checkpointPath(renamed), readFileSync(checkpointPath(original)));
    const other = await verifyAuditFile(renamed, { trusted: signer.trusted, witness: { source: { file: cosignaturePath(original) }, keys: w.keys } });
    assert.deepEqual(witnessError(other).fields["reason"], "other-log");
    // Trusting another log key: the cosignature names the key the witness checked.
    const otherKey = freshSigningKey().trusted;
    const mixed = await verifyAuditFile(original, { trusted: otherKey, witness: viaUrl() });
    assert.deepEqual(witnessError(mixed).fields["reason"], "other-key");
    const net = switchableFetch();
    net.down = true;
    const down = await verifyAuditFile(original, { trusted: signer.trusted, witness: { source: { url: w.url, fetch: net.fetch }, keys: w.keys } });
    assert.deepEqual(witnessError(down), { code: "ERR_AUDIT_WITNESS_UNREACHABLE", fields: { witness: w.url, reason: "ECONNREFUSED" } });
    assert.deepEqual(witnessError(await verifyAuditFile(original, { trusted: signer.trusted, witness: { source: { file: join(tmpdir(), "no-such.witness") }, keys: w.keys } })).fields["reason"], "none");
  });
});
