import assert from "node:assert/strict";
import { generateKeyPairSync, type KeyObject } from "node:crypto";
import { mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { keyId, signEnvelope, type SigningKey } from "../crypto/dsse.js";
import { AuditLog } from "./audit-log.js";
import { Checkpointer, type CheckpointerOptions } from "./checkpoint.js";
import { CHECKPOINT_PAYLOAD_TYPE, checkpointPath, encodeCheckpoint } from "./checkpoint-payload.js";
import { MemorySink } from "./memory-sink.js";
import { verifyChain } from "./verify-chain.js";
import { auditVerdictOk, verifyAuditFile } from "./verify-audit-file.js";

function keypair(): { key: SigningKey; trusted: ReadonlyMap<string, KeyObject> } {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  return { key: { keyid: keyId(publicKey), privateKey }, trusted: new Map([[keyId(publicKey), publicKey]]) };
}

const signer = keypair();
const frozen = () => new Date("2026-03-01T12:00:00.000Z");
const noTimer = () => () => undefined;

/** A log of `n` records written under a checkpointer; returns its path. */
async function checkpointedLog(n: number, extra: Partial<CheckpointerOptions> = {}, tag = "a"): Promise<string> {
  const path = join(mkdtempSync(join(tmpdir(), "cordon-cp-")), "audit.jsonl");
  const log = await AuditLog.open(path, { now: frozen });
  const cp = await Checkpointer.start(log, { auditPath: path, key: signer.key, everyRecords: 3, now: frozen, startTimer: noTimer, ...extra });
  for (let i = 0; i < n; i++) await log.append({ type: "call.allowed", tool: `${tag}-${i}` });
  await log.close();
  await cp.close();
  return path;
}

function checkpointLines(path: string): string[] {
  return readFileSync(checkpointPath(path), "utf8").trimEnd().split("\n");
}

function payloadOf(line: string): { seq: number; head: string; log: string; at: string } {
  const env = JSON.parse(line) as { payload: string };
  return JSON.parse(Buffer.from(env.payload, "base64").toString("utf8")) as { seq: number; head: string; log: string; at: string };
}

async function expectError(path: string, code: string, fields: Record<string, unknown>, trusted = signer.trusted): Promise<void> {
  const verdict = await verifyAuditFile(path, { trusted });
  assert.equal(verdict.ok, true, "the chain alone is intact");
  assert.equal(auditVerdictOk(verdict), false);
  const cp = verdict.checkpoints;
  assert.ok(cp !== undefined && !cp.ok);
  assert.equal(cp.error.code, code);
  for (const [k, v] of Object.entries(fields)) assert.deepEqual(cp.error.fields()[k], v, k);
}

describe("signed audit checkpoints", () => {
  it("an untampered log with checkpoints verifies, every N records and a last one at close", async () => {
    const path = await checkpointedLog(10);
    const seqs = checkpointLines(path).map((l) => payloadOf(l).seq);
    assert.ok(seqs.length >= 4, `checkpoints at ${seqs.join(",")}`); // 10 records, N = 3, and one at close
    assert.deepEqual([...seqs].sort((a, b) => a - b), seqs);
    assert.equal(seqs[seqs.length - 1], 10);
    for (let i = 0; i < seqs.length; i++) assert.ok((seqs[i] ?? 0) - (seqs[i - 1] ?? 0) <= 3, `gap before ${seqs[i]}: ${seqs.join(",")}`);
    const records = readFileSync(path, "utf8").trimEnd().split("\n").map((l) => JSON.parse(l) as { seq: number; hash: string });
    for (const line of checkpointLines(path)) {
      const p = payloadOf(line);
      assert.equal(p.log, "audit.jsonl");
      assert.equal(p.head, records[p.seq - 1]?.hash);
    }
    const verdict = await verifyAuditFile(path, { trusted: signer.trusted });
    assert.equal(auditVerdictOk(verdict), true);
    assert.deepEqual(verdict.checkpoints, { ok: true, checkpoints: seqs.length, lastSeq: 10, unanchored: 0 });
    assert.equal(Object.hasOwn(await verifyAuditFile(path), "checkpoints"), false, "without keys, only the chain");
  });

  it("truncation after a checkpoint is detected (the chain alone cannot see it)", async () => {
    const path = await checkpointedLog(10);
    const kept = readFileSync(path, "utf8").split("\n").slice(0, 6).join("\n") + "\n";
    writeFileSync(path, kept);
    assert.equal(verifyChain(kept).ok, true);
    const first = checkpointLines(path).map((l) => payloadOf(l).seq).find((s) => s > 6);
    await expectError(path, "ERR_AUDIT_TRUNCATED", { records: 6, checkpointSeq: first });
  });

  it("a full rewrite with a valid chain but different content is detected", async () => {
    const path = await checkpointedLog(10);
    const forged = join(mkdtempSync(join(tmpdir(), "cordon-cp-forge-")), "audit.jsonl");
    const log = await AuditLog.open(forged, { now: frozen });
    for (let i = 0; i < 12; i++) await log.append({ type: "call.allowed", tool: i === 4 ? "innocent" : `a-${i}` });
    await log.close();
    writeFileSync(path, readFileSync(forged));
    assert.equal(verifyChain(readFileSync(path, "utf8")).ok, true);
    const firstAfterRewrite = checkpointLines(path).findIndex((l) => payloadOf(l).seq >= 5);
    await expectError(path, "ERR_AUDIT_CHECKPOINT_MISMATCH", { line: firstAfterRewrite + 1, seq: payloadOf(checkpointLines(path)[firstAfterRewrite] ?? "").seq });
  });

  it("a tampered checkpoint signature, an edited payload, a wrong key, reordered lines, another log's checkpoints and a deleted file are each detected", async () => {
    const path = await checkpointedLog(10);
    const file = checkpointPath(path);
    const original = readFileSync(file, "utf8");
    const lines = checkpointLines(path);

    const env = JSON.parse(lines[1] ?? "") as { payloadType: string; payload: string; signatures: { keyid: string; sig: string }[] };
    const sig = Buffer.from(env.signatures[0]?.sig ?? "", "base64");
    sig[10] = (sig[10] ?? 0) ^ 0x01;
    const flipped = { ...env, signatures: [{ keyid: env.signatures[0]?.keyid ?? "", sig: sig.toString("base64") }] };
    writeFileSync(file, [lines[0], JSON.stringify(flipped), ...lines.slice(2)].join("\n") + "\n");
    await expectError(path, "ERR_AUDIT_CHECKPOINT_INVALID", { line: 2, reason: "signature" });

    const p = payloadOf(lines[1] ?? "");
    const edited = { ...env, payload: encodeCheckpoint({ ...p, seq: p.seq + 1 }).toString("base64") };
    writeFileSync(file, [lines[0], JSON.stringify(edited), ...lines.slice(2)].join("\n") + "\n");
    await expectError(path, "ERR_AUDIT_CHECKPOINT_INVALID", { line: 2, reason: "signature" });

    writeFileSync(file, original);
    await expectError(path, "ERR_AUDIT_CHECKPOINT_INVALID", { line: 1, reason: "signature" }, keypair().trusted);

    writeFileSync(file, [lines[1], lines[0], ...lines.slice(2)].join("\n") + "\n");
    await expectError(path, "ERR_AUDIT_CHECKPOINT_INVALID", { line: 2, reason: "order" });

    const other = signEnvelope(CHECKPOINT_PAYLOAD_TYPE, encodeCheckpoint({ ...p, log: "other.jsonl" }), signer.key);
    writeFileSync(file, [lines[0], JSON.stringify(other), ...lines.slice(2)].join("\n") + "\n");
    await expectError(path, "ERR_AUDIT_CHECKPOINT_INVALID", { line: 2, reason: "other-log" });

    writeFileSync(file, original.slice(0, -5));
    await expectError(path, "ERR_AUDIT_CHECKPOINT_INVALID", { reason: "partial-line" });

    rmSync(file);
    await expectError(path, "ERR_AUDIT_CHECKPOINT_MISSING", { file });

    // A renamed log no longer matches the log its checkpoints name.
    writeFileSync(file, original);
    const renamed = join(path, "..", "renamed.jsonl");
    renameSync(path, renamed);
    renameSync(file, checkpointPath(renamed));
    await expectError(renamed, "ERR_AUDIT_CHECKPOINT_INVALID", { line: 1, reason: "other-log" });
  });

  it("the timer checkpoints only when new records arrived", async () => {
    let tick: () => void = () => assert.fail("no timer");
    const sink = new MemorySink();
    const log = AuditLog.memory({ now: frozen });
    const cp = await Checkpointer.start(log, { auditPath: "/x/audit.jsonl", key: signer.key, everyRecords: 1000, now: frozen, sink, startTimer: (t) => ((tick = t), () => undefined) });
    await log.append({ type: "a.happened" });
    await log.append({ type: "b.happened" });
    await new Promise((r) => setImmediate(r));
    assert.equal(cp.written, 0, "below N and before T: nothing");
    tick();
    await new Promise((r) => setImmediate(r));
    await cp.checkpoint();
    assert.equal(cp.written, 1);
    tick();
    await new Promise((r) => setImmediate(r));
    await cp.checkpoint();
    assert.equal(cp.written, 1, "no new records: no new checkpoint");
    await log.close();
    await cp.close();
    assert.equal(cp.written, 1);
  });

  it("a stuck checkpoint write never delays an append", async () => {
    const stuck = { write: () => new Promise<void>(() => undefined), close: () => Promise.resolve() };
    const log = AuditLog.memory({ now: frozen });
    const cp = await Checkpointer.start(log, { auditPath: "/x/audit.jsonl", key: signer.key, everyRecords: 1, now: frozen, sink: stuck, startTimer: noTimer });
    for (let i = 0; i < 50; i++) await log.append({ type: "call.allowed", n: i });
    assert.equal(log.head?.seq, 50);
    assert.equal(cp.written, 0);
  });
});
