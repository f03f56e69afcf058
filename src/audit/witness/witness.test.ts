import assert from "node:assert/strict";
import { generateKeyPairSync, type KeyObject } from "node:crypto";
import { mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { keyId, signEnvelope, type Envelope, type SigningKey } from "../../crypto/dsse.js";
import { buildRecord, encodeRecord } from "../build-record.js";
import { CHECKPOINT_PAYLOAD_TYPE, encodeCheckpoint } from "../checkpoint-payload.js";
import type { ChainHead } from "../types.js";
import { COSIGN_PATH, latestPath, openCosignature } from "../witness-payload.js";
import { startWitnessServer } from "./serve-witness.js";
import { WITNESS_AUDIT_FILE, WITNESS_EVIDENCE_FILE, WITNESS_KEY_FILE, Witness, type WitnessOptions } from "./witness.js";

const frozen = () => new Date("2026-03-01T12:00:00.000Z");

function keypair(): { key: SigningKey; publicKey: KeyObject; pem: string } {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  return { key: { keyid: keyId(publicKey), privateKey }, publicKey, pem: publicKey.export({ type: "spki", format: "pem" }).toString() };
}

/** Records after `from` (null: from genesis), as stored lines, with each one's head. */
function chain(n: number, tag: string, from: ChainHead | null = null): { lines: string[]; heads: ChainHead[] } {
  const lines: string[] = [];
  const heads: ChainHead[] = [];
  let prev = from;
  for (let i = 0; i < n; i++) {
    const record = buildRecord(prev, { type: "call.allowed", tool: `${tag}-${i}` }, frozen());
    lines.push(encodeRecord(record));
    prev = { seq: record.seq, hash: record.hash };
    heads.push(prev);
  }
  return { lines, heads };
}

function checkpoint(signer: SigningKey, head: ChainHead, log = "audit.jsonl"): Envelope {
  return signEnvelope(CHECKPOINT_PAYLOAD_TYPE, encodeCheckpoint({ log, seq: head.seq, head: head.hash, at: frozen().toISOString() }), signer);
}

function request(envelope: Envelope, pem: string, lines: readonly string[] = []): Buffer {
  return Buffer.from(`${JSON.stringify({ checkpoint: envelope, logPublicKey: pem })}\n${lines.join("")}`);
}

async function openWitness(extra: Partial<WitnessOptions> = {}, dataDir = mkdtempSync(join(tmpdir(), "cordon-witness-"))): Promise<Witness> {
  return Witness.open({ dataDir, now: frozen, ...extra });
}

async function refusedWith(promise: Promise<unknown>, code: string, fields: Record<string, unknown> = {}): Promise<void> {
  await assert.rejects(promise, (err: Error & { code?: string; fields?: () => Record<string, unknown> }) => {
    assert.equal(err.code, code);
    for (const [k, v] of Object.entries(fields)) assert.deepEqual(err.fields?.()[k], v, k);
    return true;
  });
}

function witnessRecords(dataDir: string): Array<Record<string, unknown>> {
  return readFileSync(join(dataDir, WITNESS_AUDIT_FILE), "utf8").trimEnd().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
}

const log = keypair();
const whole = chain(12, "real");
const at = (seq: number): ChainHead => whole.heads[seq - 1] ?? assert.fail(`no seq ${seq}`);
const segment = (from: number, to: number): string[] => whole.lines.slice(from, to);

describe("the witness", () => {
  it("cosigns a consistent sequence: a first checkpoint (pinning the log key), then each one whose segment links", async () => {
    const w = await openWitness();
    const first = await w.cosign(request(checkpoint(log.key, at(4)), log.pem));
    const second = await w.cosign(request(checkpoint(log.key, at(9)), log.pem, segment(4, 9)));
    const third = await w.cosign(request(checkpoint(log.key, at(12)), log.pem, segment(9, 12)));
    const witnessKeys = new Map([[w.keyid, w.publicKey]]);
    const seqs = [first, second, third].map((env) => {
      const opened = openCosignature(env, witnessKeys);
      assert.ok("cosignature" in opened);
      assert.equal(opened.cosignature.log, "audit.jsonl");
      assert.equal(opened.cosignature.logKeyId, log.key.keyid);
      assert.equal(opened.cosignature.head, at(opened.cosignature.seq).hash);
      return opened.cosignature.seq;
    });
    assert.deepEqual(seqs, [4, 9, 12]);
    assert.deepEqual(w.latest("audit.jsonl").cosignature, third);
    // The same checkpoint again is answered with the same cosignature, not a second one.
    assert.deepEqual(await w.cosign(request(checkpoint(log.key, at(12)), log.pem)), third);
    // A segment from genesis is a proof too, for a log the witness has not seen.
    const other = await w.cosign(request(checkpoint(log.key, at(5), "other.jsonl"), log.pem, segment(0, 5)));
    assert.ok("cosignature" in openCosignature(other, witnessKeys));
    await w.close();
  });

  it("refuses a fork (a second head for the cosigned seq), keeps both signed checkpoints as evidence and records it", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "cordon-witness-"));
    const w = await openWitness({}, dataDir);
    await w.cosign(request(checkpoint(log.key, at(4)), log.pem));
    await w.cosign(request(checkpoint(log.key, at(8)), log.pem, segment(4, 8)));
    const forged = chain(8, "forged");
    const forgedHead = forged.heads[7] ?? assert.fail();
    await refusedWith(w.cosign(request(checkpoint(log.key, forgedHead), log.pem)), "ERR_AUDIT_WITNESS_FORK", { forkSeq: 8, cosignedHead: at(8).hash, submittedHead: forgedHead.hash });
    const opened = openCosignature(w.latest("audit.jsonl").cosignature, new Map([[w.keyid, w.publicKey]]));
    assert.ok("cosignature" in opened && opened.cosignature.head === at(8).hash, "the cosigned head stays");
    await w.close();
    const evidence = readFileSync(join(dataDir, WITNESS_EVIDENCE_FILE), "utf8").trimEnd().split("\n").map((l) => JSON.parse(l) as { code: string; cosigned: Envelope; submitted: Envelope });
    assert.equal(evidence.length, 1);
    assert.equal(evidence[0]?.code, "ERR_AUDIT_WITNESS_FORK");
    assert.notEqual(evidence[0]?.cosigned.payload, evidence[0]?.submitted.payload);
    const refused = witnessRecords(dataDir).filter((r) => r["type"] === "witness.refused");
    assert.deepEqual(refused.map((r) => [r["enforcer"], r["code"], r["log"]]), [["audit-witness", "ERR_AUDIT_WITNESS_FORK", "audit.jsonl"]]);
  });

  it("refuses a lower seq, a checkpoint not signed by the pinned key, and a flipped signature bit", async () => {
    const w = await openWitness();
    await w.cosign(request(checkpoint(log.key, at(6)), log.pem));
    await refusedWith(w.cosign(request(checkpoint(log.key, at(4)), log.pem)), "ERR_AUDIT_WITNESS_ROLLBACK", { submittedSeq: 4, cosignedSeq: 6 });
    // Another key, even one offered along with it: the key pinned on first use decides.
    const intruder = keypair();
    await refusedWith(w.cosign(request(checkpoint(intruder.key, at(9)), intruder.pem, segment(6, 9))), "ERR_AUDIT_WITNESS_SIGNATURE", { log: "audit.jsonl" });
    const env = checkpoint(log.key, at(9));
    const sig = Buffer.from(env.signatures[0]?.sig ?? "", "base64");
    sig[7] = (sig[7] ?? 0) ^ 1;
    const flipped = { ...env, signatures: [{ keyid: log.key.keyid, sig: sig.toString("base64") }] };
    await refusedWith(w.cosign(request(flipped, log.pem, segment(6, 9))), "ERR_AUDIT_WITNESS_SIGNATURE");
    await refusedWith(w.cosign(Buffer.from("not json\n")), "ERR_AUDIT_WITNESS_MALFORMED");
    await refusedWith(w.cosign(request(checkpoint(log.key, at(9), "../etc"), log.pem)), "ERR_AUDIT_WITNESS_MALFORMED");
    // None of it moved the witness.
    assert.equal(openSeq(w), 6);
    await w.close();
  });

  it("refuses a segment that does not link: an edited record, a rewritten chain, a missing record, one that stops short of the head", async () => {
    const w = await openWitness();
    await w.cosign(request(checkpoint(log.key, at(4)), log.pem));
    const edited = segment(4, 8);
    edited[1] = (edited[1] ?? "").replace("real-5", "real-X");
    await refusedWith(w.cosign(request(checkpoint(log.key, at(8)), log.pem, edited)), "ERR_AUDIT_WITNESS_UNLINKED", { firstBadSeq: 6, reason: "hash" });
    // A chain rewritten from seq 5 on, checkpointed with the real key: its first record does not link to the cosigned head.
    const rewritten = chain(4, "forged", { seq: 4, hash: "f".repeat(64) });
    await refusedWith(w.cosign(request(checkpoint(log.key, rewritten.heads[3] ?? assert.fail()), log.pem, rewritten.lines)), "ERR_AUDIT_WITNESS_UNLINKED", { firstBadSeq: 5, reason: "prev" });
    const gap = [...segment(4, 6), ...segment(7, 8)];
    await refusedWith(w.cosign(request(checkpoint(log.key, at(8)), log.pem, gap)), "ERR_AUDIT_WITNESS_UNLINKED", { firstBadSeq: 7, reason: "seq" });
    await refusedWith(w.cosign(request(checkpoint(log.key, at(8)), log.pem, segment(4, 7))), "ERR_AUDIT_WITNESS_UNLINKED", { firstBadSeq: 8, reason: "count" });
    // Records that start elsewhere than right after the cosigned seq: the submitter is out of date.
    await refusedWith(w.cosign(request(checkpoint(log.key, at(8)), log.pem, segment(5, 8))), "ERR_AUDIT_WITNESS_STALE", { cosignedSeq: 4, segmentFrom: 6 });
    await refusedWith(w.cosign(request(checkpoint(log.key, at(8)), log.pem)), "ERR_AUDIT_WITNESS_STALE", { cosignedSeq: 4 });
    assert.equal(openSeq(w), 4);
    assert.equal((await w.cosign(request(checkpoint(log.key, at(8)), log.pem, segment(4, 8)))).payloadType, "application/vnd.cordon.witness-cosignature+json");
    await w.close();
  });

  it("refuses an oversized request over HTTP (413, before parsing) and a segment over the record cap; records both", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "cordon-witness-"));
    const w = await openWitness({ maxSegmentRecords: 3 }, dataDir);
    const server = await startWitnessServer(w, { host: "127.0.0.1", port: 0, maxRequestBytes: 64 * 1024 });
    try {
      const post = (body: Buffer) => fetch(`${server.url}${COSIGN_PATH}`, { method: "POST", body });
      const big = await post(Buffer.concat([request(checkpoint(log.key, at(4)), log.pem), Buffer.alloc(128 * 1024, 0x20)]));
      assert.equal(big.status, 413);
      assert.deepEqual(await big.json(), { error: { code: "ERR_AUDIT_WITNESS_TOO_LARGE", what: "bytes", limit: 64 * 1024 } });
      assert.equal((await post(request(checkpoint(log.key, at(4)), log.pem))).status, 200);
      const many = await post(request(checkpoint(log.key, at(8)), log.pem, segment(4, 8)));
      assert.equal(many.status, 413);
      assert.deepEqual(await many.json(), { error: { code: "ERR_AUDIT_WITNESS_TOO_LARGE", what: "records", limit: 3 } });
      const fork = await post(request(checkpoint(log.key, chain(4, "x").heads[3] ?? assert.fail()), log.pem));
      assert.equal(fork.status, 409);
      assert.equal(((await fork.json()) as { error: { code: string } }).error.code, "ERR_AUDIT_WITNESS_FORK");
      assert.equal((await fetch(`${server.url}${latestPath("never.jsonl")}`)).status, 404);
      assert.equal((await fetch(`${server.url}/v1/cosign`)).status, 405);
    } finally {
      await server.close();
      await w.close();
    }
    const codes = witnessRecords(dataDir).filter((r) => r["type"] === "witness.refused").map((r) => r["code"]);
    assert.deepEqual(codes, ["ERR_AUDIT_WITNESS_TOO_LARGE", "ERR_AUDIT_WITNESS_TOO_LARGE", "ERR_AUDIT_WITNESS_FORK"]);
  });

  it("keeps its key (0600) and its latest across a restart, serves it over HTTP, and goes on from the stored head", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "cordon-witness-"));
    const w1 = await openWitness({}, dataDir);
    await w1.cosign(request(checkpoint(log.key, at(3)), log.pem));
    const latest = await w1.cosign(request(checkpoint(log.key, at(7)), log.pem, segment(3, 7)));
    const keyid = w1.keyid;
    await w1.close();
    assert.equal(statSync(join(dataDir, WITNESS_KEY_FILE)).mode & 0o777, 0o600);
    assert.equal(statSync(join(dataDir, "logs", "audit.jsonl.json")).mode & 0o777, 0o600);

    const w2 = await openWitness({}, dataDir);
    assert.equal(w2.keyid, keyid);
    const server = await startWitnessServer(w2, { host: "127.0.0.1", port: 0 });
    try {
      const res = await fetch(`${server.url}${latestPath("audit.jsonl")}`);
      assert.equal(res.status, 200);
      const served = (await res.json()) as { cosignature: Envelope; checkpoint: Envelope };
      assert.deepEqual(served.cosignature, latest);
      assert.deepEqual(served.checkpoint, checkpoint(log.key, at(7)));
    } finally {
      await server.close();
    }
    // The restarted witness still links from seq 7, and still refuses a fork of it.
    await refusedWith(w2.cosign(request(checkpoint(log.key, at(10)), log.pem, segment(3, 10))), "ERR_AUDIT_WITNESS_STALE", { cosignedSeq: 7 });
    await w2.cosign(request(checkpoint(log.key, at(10)), log.pem, segment(7, 10)));
    assert.equal(openSeq(w2), 10);
    await w2.close();

    // State it cannot verify stops it from starting at all.
    const file = join(dataDir, "logs", "audit.jsonl.json");
    const state = JSON.parse(readFileSync(file, "utf8")) as { checkpoint: Envelope };
    const forged = encodeCheckpoint({ log: "audit.jsonl", seq: 10, head: "0".repeat(64), at: frozen().toISOString() }).toString("base64");
    writeFileSync(file, JSON.stringify({ ...state, checkpoint: { ...state.checkpoint, payload: forged } }));
    await refusedWith(openWitness({}, dataDir), "ERR_AUDIT_WITNESS_STATE");
  });

  it("with logs configured (--log NAME=PUB), serves exactly those under those keys: no trust on first use", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "cordon-witness-"));
    const w = await openWitness({ logs: new Map([["audit.jsonl", log.publicKey]]) }, dataDir);
    const stranger = keypair();
    await refusedWith(w.cosign(request(checkpoint(stranger.key, at(3), "stranger.jsonl"), stranger.pem)), "ERR_AUDIT_WITNESS_UNKNOWN_LOG", { reason: "not-configured" });
    // The configured log's key is the pin, whatever key the request offers.
    await refusedWith(w.cosign(request(checkpoint(stranger.key, at(3)), stranger.pem)), "ERR_AUDIT_WITNESS_SIGNATURE");
    await w.cosign(request(checkpoint(log.key, at(3)), stranger.pem));
    await w.close();
    // A state pinned to one key never silently becomes another's.
    await refusedWith(openWitness({ logs: new Map([["audit.jsonl", stranger.publicKey]]) }, dataDir), "ERR_AUDIT_WITNESS_STATE");
  });
});

function openSeq(w: Witness): number {
  const opened = openCosignature(w.latest("audit.jsonl").cosignature, new Map([[w.keyid, w.publicKey]]));
  assert.ok("cosignature" in opened);
  return opened.cosignature.seq;
}
