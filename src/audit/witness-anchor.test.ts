import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { AuditLog } from "./audit-log.js";
import { Checkpointer, type CheckpointerOptions } from "./checkpoint.js";
import { CHECKPOINT_PAYLOAD_TYPE, checkpointPath, encodeCheckpoint } from "./checkpoint-payload.js";
import { encodeRecord } from "./build-record.js";
import { signEnvelope } from "../crypto/dsse.js";
import { createPublicKey } from "node:crypto";
import { MemorySink } from "./memory-sink.js";
import type { AuditRecord } from "./types.js";
import { auditVerdictOk, verifyAuditFile } from "./verify-audit-file.js";
import type { Fetch } from "./witness-client.js";
import type { WitnessTarget } from "./witness-anchor.js";
import { cosignaturePath, openCosignature } from "./witness-payload.js";
import { freshSigningKey, startTestWitness, switchableFetch, writeWitnessedLog, type TestWitness } from "./witness/witness.fixture.js";

const signer = freshSigningKey();
const noTimer = () => () => undefined;

/** A clock the test moves, and a retry scheduler the test fires. */
function controls(): { now: () => Date; advance(ms: number): void; schedule: NonNullable<WitnessTarget["schedule"]>; fire(): void; pending(): number } {
  let t = Date.parse("2026-03-01T12:00:00.000Z");
  let queued: Array<() => void> = [];
  return {
    now: () => new Date(t),
    advance: (ms) => {
      t += ms;
    },
    schedule: (run) => {
      queued.push(run);
      return () => {
        queued = queued.filter((r) => r !== run);
      };
    },
    fire: () => {
      const runs = queued;
      queued = [];
      for (const run of runs) run();
    },
    pending: () => queued.length,
  };
}

function witnessedSeq(w: TestWitness, log = "audit.jsonl"): number {
  const opened = openCosignature(w.witness.latest(log).cosignature, w.keys);
  assert.ok("cosignature" in opened);
  return opened.cosignature.seq;
}

function ofType(log: AuditLog, type: string): AuditRecord[] {
  return log.recordsAfter(0).filter((r) => r.type === type);
}

async function append(log: AuditLog, n: number): Promise<void> {
  for (let i = 0; i < n; i++) await log.append({ type: "call.allowed", tool: "t", inputBytes: i });
}

describe("the checkpointer's witness", () => {
  it("sends every checkpoint with its segment; the witness cosigns each, and the cosignatures are kept beside the checkpoints", async () => {
    const w = await startTestWitness();
    const path = join(mkdtempSync(join(tmpdir(), "cordon-anchor-")), "audit.jsonl");
    await writeWitnessedLog(path, signer.key, w.url, w.keys, 10, 3);
    assert.equal(witnessedSeq(w), 10);
    const cosignatures = readFileSync(cosignaturePath(path), "utf8").trimEnd().split("\n").map((l) => openCosignature(JSON.parse(l), w.keys));
    assert.deepEqual(cosignatures.map((c) => ("cosignature" in c ? c.cosignature.seq : -1)), [3, 6, 9, 10]);
    // The witness took each one only with a segment that linked (but the first, which pinned the key).
    const cosigned = readFileSync(join(w.dataDir, "witness-audit.jsonl"), "utf8").trimEnd().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>).filter((r) => r["type"] === "witness.cosigned");
    assert.deepEqual(cosigned.map((r) => [r["witnessedSeq"], r["records"]]), [[3, 0], [6, 3], [9, 3], [10, 1]]);
    const logText = readFileSync(path, "utf8");
    assert.ok(!logText.includes("audit.witness-"), "a witness that answers leaves no record");
    await w.close();
  });

  it("a witness that is down is recorded (first failure, then at most one per interval with a count), retried, and on recovery sent the whole backlog", async () => {
    const w = await startTestWitness();
    const net = switchableFetch();
    const c = controls();
    const log = AuditLog.memory({ now: c.now });
    const options: CheckpointerOptions = {
      auditPath: "/x/audit.jsonl", key: signer.key, everyRecords: 3, now: c.now, sink: new MemorySink(), startTimer: noTimer,
      witness: { url: w.url, keys: w.keys, fetch: net.fetch, schedule: c.schedule, reportEveryMs: 60_000, sink: new MemorySink() },
    };
    const cp = await Checkpointer.start(log, options);
    const anchor = cp.anchor ?? assert.fail("no anchor");
    await append(log, 3);
    await cp.checkpoint();
    await anchor.idle();
    assert.equal(witnessedSeq(w), 3);
    assert.deepEqual(log.witness, { witness: w.url, up: true, failures: 0, cosignedSeq: 3 });

    net.down = true;
    await append(log, 3);
    await cp.checkpoint();
    await anchor.idle();
    const first = ofType(log, "audit.witness-unreachable");
    assert.equal(first.length, 1);
    assert.equal(first[0]?.enforcer, "audit-witness");
    assert.equal(first[0]?.code, "ERR_AUDIT_WITNESS_UNREACHABLE");
    assert.equal(first[0]?.["failures"], 1);
    assert.equal(first[0]?.["cosignedSeq"], 3);
    assert.deepEqual((first[0]?.["fault"] as Record<string, unknown>)["reason"], "ECONNREFUSED");
    assert.equal(log.witness?.up, false);
    assert.equal(c.pending(), 1, "a retry is scheduled");

    // Appends go on while the witness is down; a retry inside the interval adds no record.
    await append(log, 4);
    await cp.checkpoint();
    c.advance(1000);
    c.fire();
    await anchor.idle();
    assert.equal(ofType(log, "audit.witness-unreachable").length, 1);
    c.advance(60_000);
    c.fire();
    await anchor.idle();
    const reports = ofType(log, "audit.witness-unreachable");
    assert.equal(reports.length, 2);
    assert.equal(reports[1]?.["failures"], 2, "the failures since the last record");
    assert.equal(log.witness?.failures, 3);
    assert.equal(witnessedSeq(w), 3, "nothing reached the witness");

    net.down = false;
    c.advance(2000);
    c.fire();
    await anchor.idle();
    const restored = ofType(log, "audit.witness-restored");
    assert.equal(restored.length, 1);
    assert.equal(restored[0]?.enforcer, "audit-witness");
    assert.equal(restored[0]?.["failures"], 3);
    assert.equal(restored[0]?.["downMs"], 63_000);
    assert.ok(witnessedSeq(w) >= 10, `the backlog reached the witness (at ${witnessedSeq(w)})`);
    await cp.checkpoint();
    await anchor.idle();
    assert.equal(witnessedSeq(w), log.head?.seq);
    assert.deepEqual(log.witness, { witness: w.url, up: true, failures: 3, cosignedSeq: log.head?.seq });
    assert.equal(c.pending(), 0);
    await log.close();
    await cp.close();
    await w.close();
  });

  it("a witness that never answers never delays an append", async () => {
    const w = await startTestWitness();
    // Hangs until released; answers 503 from then on.
    let released = false;
    let release: () => void = () => undefined;
    const hung: Fetch = () =>
      released
        ? Promise.resolve(new Response("", { status: 503 }))
        : new Promise<Response>((resolve) => {
            release = () => {
              released = true;
              resolve(new Response("", { status: 503 }));
            };
          });
    const c = controls();
    const log = AuditLog.memory({ now: c.now });
    const cp = await Checkpointer.start(log, { auditPath: "/x/audit.jsonl", key: signer.key, everyRecords: 1, now: c.now, sink: new MemorySink(), startTimer: noTimer, witness: { url: w.url, keys: w.keys, fetch: hung, schedule: c.schedule, sink: new MemorySink() } });
    for (let i = 0; i < 50; i++) await log.append({ type: "call.allowed", n: i });
    assert.equal(log.head?.seq, 50);
    release();
    await cp.anchor?.idle();
    assert.equal((ofType(log, "audit.witness-unreachable")[0]?.["fault"] as Record<string, unknown>)["reason"], "http-503");
    await log.close();
    await cp.close();
    await w.close();
  });

  it("a backlog longer than one request's cap goes in several requests, each ending in a checkpoint signed for the witness", async () => {
    const w = await startTestWitness();
    const net = switchableFetch();
    const c = controls();
    const log = AuditLog.memory({ now: c.now });
    const cosignatures = new MemorySink();
    const cp = await Checkpointer.start(log, {
      auditPath: "/x/audit.jsonl", key: signer.key, everyRecords: 3, now: c.now, sink: new MemorySink(), startTimer: noTimer,
      witness: { url: w.url, keys: w.keys, fetch: net.fetch, schedule: c.schedule, sink: cosignatures, maxSegmentRecords: 4 },
    });
    await append(log, 3);
    await cp.checkpoint();
    await cp.anchor?.idle();
    net.down = true;
    await append(log, 17);
    await cp.checkpoint();
    await cp.anchor?.idle();
    net.down = false;
    c.fire();
    await cp.anchor?.idle();
    await cp.checkpoint();
    await cp.anchor?.idle();
    assert.equal(witnessedSeq(w), log.head?.seq);
    const seqs = cosignatures.text().trimEnd().split("\n").map((l) => openCosignature(JSON.parse(l), w.keys)).map((o) => ("cosignature" in o ? o.cosignature.seq : -1));
    for (let i = 1; i < seqs.length; i++) assert.ok((seqs[i] ?? 0) - (seqs[i - 1] ?? 0) <= 4, `a step over the cap: ${seqs.join(",")}`);
    assert.ok(seqs.length >= 6, seqs.join(","));
    await assert.rejects(Checkpointer.start(AuditLog.memory(), { auditPath: "/x/a.jsonl", key: signer.key, everyRecords: 5, startTimer: noTimer, sink: new MemorySink(), witness: { url: w.url, keys: w.keys, maxSegmentRecords: 4, sink: new MemorySink() } }), RangeError);
    await log.close();
    await cp.close();
    await w.close();
  });

  it("when the witness moved on without it (a lost answer, another start), it asks again and goes on from there", async () => {
    const w = await startTestWitness();
    const c = controls();
    const log = AuditLog.memory({ now: c.now });
    const cp = await Checkpointer.start(log, { auditPath: "/x/audit.jsonl", key: signer.key, everyRecords: 1000, now: c.now, sink: new MemorySink(), startTimer: noTimer, witness: { url: w.url, keys: w.keys, schedule: c.schedule, sink: new MemorySink() } });
    await append(log, 3);
    await cp.checkpoint();
    await cp.anchor?.idle();
    await append(log, 3);
    // Someone else with the same records and key takes the witness to seq 6 first.
    const six = log.recordsAfter(3);
    const head = six[2] ?? assert.fail();
    const envelope = signEnvelope(CHECKPOINT_PAYLOAD_TYPE, encodeCheckpoint({ log: "audit.jsonl", seq: 6, head: head.hash, at: c.now().toISOString() }), signer.key);
    const pem = createPublicKey(signer.key.privateKey).export({ type: "spki", format: "pem" }).toString();
    await w.witness.cosign(Buffer.from(`${JSON.stringify({ checkpoint: envelope, logPublicKey: pem })}\n${six.map(encodeRecord).join("")}`));
    await append(log, 2);
    await cp.checkpoint();
    await cp.anchor?.idle();
    assert.equal(witnessedSeq(w), 8);
    assert.equal(log.witness?.up, true);
    assert.deepEqual(log.recordsAfter(0).filter((r) => r.type.startsWith("audit.witness-")), [], "a stale view is not an outage");
    await log.close();
    await cp.close();
    await w.close();
  });

  it("at start, a log shorter than what the witness cosigned (cut back with its checkpoints) is recorded as refused, not re-anchored", async () => {
    const w = await startTestWitness();
    const path = join(mkdtempSync(join(tmpdir(), "cordon-anchor-")), "audit.jsonl");
    await writeWitnessedLog(path, signer.key, w.url, w.keys, 10, 3);
    writeFileSync(path, readFileSync(path, "utf8").split("\n").slice(0, 6).join("\n") + "\n");
    writeFileSync(checkpointPath(path), readFileSync(checkpointPath(path), "utf8").split("\n").slice(0, 2).join("\n") + "\n");
    const c = controls();
    const log = await AuditLog.open(path);
    const cp = await Checkpointer.start(log, { auditPath: path, key: signer.key, everyRecords: 3, startTimer: noTimer, witness: { url: w.url, keys: w.keys, schedule: c.schedule } });
    await cp.anchor?.idle();
    const refused = ofType(log, "audit.witness-refused");
    assert.equal(refused.length, 1);
    assert.equal(refused[0]?.code, "ERR_AUDIT_TRUNCATED");
    assert.deepEqual(refused[0]?.["fault"], { checkpointSeq: 10, records: 6 });
    assert.equal(witnessedSeq(w), 10, "the witness keeps what it cosigned");
    await log.close();
    await cp.close();
    await w.close();
    assert.equal(auditVerdictOk(await verifyAuditFile(path, { trusted: signer.trusted })), true, "the checkpoints alone cannot see it");
  });
});
