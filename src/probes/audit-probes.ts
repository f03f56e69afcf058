// Probes of tamper evidence: an audit log with signed checkpoints (enforcers audit-chain and
// audit-checkpoint), witnessed checkpoints (audit-witness) and a hash-locked runtime tree
// (runtime-lock). Each builds a small real one in its temporary directory with a fresh key,
// checks that the untouched copy verifies, tampers with it, and verifies again through the
// audited verifier (or, for a fork, submits it to the witness): one refusal record.
import { createPublicKey, generateKeyPairSync, type KeyObject } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { appendFile, readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import {
  AuditLog, AuditWitnessRejected, auditVerdictOk, CHECKPOINT_PAYLOAD_TYPE, Checkpointer, canonicalJson, checkpointPath, encodeCheckpoint, openCosignature, verifyAuditFile,
  WitnessClient, type AuditFileVerdict,
} from "../audit/index.js";
import { verifyAuditFileAudited } from "../audit/verify-audited.js";
import { startWitnessServer, type WitnessServer } from "../audit/witness/serve-witness.js";
import { Witness, WITNESS_EVIDENCE_FILE, type WitnessOptions } from "../audit/witness/witness.js";
import { PACKAGE_ROOT } from "../config/defaults.js";
import { keyId, signEnvelope, type SigningKey } from "../crypto/dsse.js";
import { verifyRuntimeLockAudited } from "../lock/verify-lock-audited.js";
import { verifyRuntimeLock } from "../lock/verify-lock.js";
import { writeRuntimeLock } from "../lock/write-lock.js";
import type { MeasureOptions } from "../lock/measure-runtime.js";
import type { Probe, ProbeEnv, ProbeOutcome } from "./types.js";

const RECORDS = 8;

function freshKey(): { key: SigningKey; trusted: ReadonlyMap<string, KeyObject> } {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  const keyid = keyId(publicKey);
  return { key: { keyid, privateKey }, trusted: new Map([[keyid, publicKey]]) };
}

async function appendRecords(log: AuditLog, tool: string): Promise<void> {
  for (let i = 1; i <= RECORDS; i++) await log.append({ type: "call.allowed", enforcer: "role-toolset", tool, inputBytes: i });
}

/** A log of RECORDS records whose checkpoints a fresh key signed; `tamper` then changes the file. */
function auditProbe(tamper: (path: string, lines: string[]) => void | Promise<void>, expect: (v: AuditFileVerdict) => string | null): Probe {
  return async (env: ProbeEnv): Promise<ProbeOutcome> => {
    const path = join(env.tmp, "audit.jsonl");
    const { key, trusted } = freshKey();
    const log = await AuditLog.open(path);
    const checkpointer = await Checkpointer.start(log, { auditPath: path, key, everyRecords: 1_000_000, startTimer: () => () => undefined });
    await appendRecords(log, "text-stats");
    await log.close();
    await checkpointer.close();
    const control = await verifyAuditFile(path, { trusted });
    if (!control.ok || control.checkpoints?.ok !== true) return { stopped: false, detail: "the untampered log did not verify: nothing is shown" };
    await tamper(path, (await readFile(path, "utf8")).trimEnd().split("\n"));
    const verdict = await verifyAuditFileAudited(path, { trusted }, { append: (e) => env.runtime.record(e) });
    const caught = expect(verdict);
    return { stopped: caught !== null, detail: caught ?? `NOT detected: ${JSON.stringify(verdict)}` };
  };
}

/** Record 3's content changed, its hash kept: the chain breaks there. */
export const auditEdited = auditProbe(
  (path, lines) => {
    const record = JSON.parse(lines[2] ?? "{}") as Record<string, unknown>;
    lines[2] = canonicalJson({ ...record, tool: "notes" });
    writeFileSync(path, `${lines.join("\n")}\n`);
  },
  (v) => (!v.ok && v.reason === "hash" ? `record ${v.firstBadSeq} edited: the chain breaks (${v.reason})` : null),
);

/** The last three records cut off: still a valid chain, shorter than the last checkpoint. */
export const auditTruncated = auditProbe(
  (path, lines) => writeFileSync(path, `${lines.slice(0, RECORDS - 3).join("\n")}\n`),
  (v) => (v.ok && v.checkpoints?.ok === false && v.checkpoints.error.code === "ERR_AUDIT_TRUNCATED" ? `cut to ${v.count} records: ${v.checkpoints.error.code}` : null),
);

/** A whole new, internally valid chain of the same length in its place. */
export const auditRewritten = auditProbe(
  async (path) => {
    const forged = join(dirname(path), "forged.jsonl");
    const log = await AuditLog.open(forged);
    await appendRecords(log, "notes");
    await log.close();
    renameSync(forged, path);
  },
  (v) => (v.ok && v.checkpoints?.ok === false && v.checkpoints.error.code === "ERR_AUDIT_CHECKPOINT_MISMATCH" ? `rewritten chain of ${v.count} records: ${v.checkpoints.error.code}` : null),
);

/** Checkpoints every WITNESS_EVERY records (and at close) in the witness probes: at 3, 6 and 8. */
const WITNESS_EVERY = 3;

/** A real witness on a free loopback port, with its own key and state in the probe's directory. */
async function probeWitness(env: ProbeEnv, opts: Partial<WitnessOptions> = {}): Promise<{ witness: Witness; server: WitnessServer; keys: ReadonlyMap<string, KeyObject>; dataDir: string }> {
  const dataDir = join(env.tmp, "witness");
  const witness = await Witness.open({ dataDir, ...opts });
  const server = await startWitnessServer(witness, { host: "127.0.0.1", port: 0 });
  return { witness, server, keys: new Map([[witness.keyid, witness.publicKey]]), dataDir };
}

/** RECORDS records at `path`, each checkpoint (every WITNESS_EVERY records, and at close) cosigned by the witness at `url`. */
async function writeWitnessed(path: string, key: SigningKey, url: string, keys: ReadonlyMap<string, KeyObject>): Promise<void> {
  const log = await AuditLog.open(path);
  const checkpointer = await Checkpointer.start(log, { auditPath: path, key, everyRecords: WITNESS_EVERY, startTimer: () => () => undefined, witness: { url, keys } });
  for (let i = 1; i <= RECORDS; i++) {
    await log.append({ type: "call.allowed", enforcer: "role-toolset", tool: "text-stats", inputBytes: i });
    if (i % WITNESS_EVERY === 0) {
      await checkpointer.checkpoint();
      await checkpointer.anchor?.idle();
    }
  }
  await log.close();
  await checkpointer.close();
}

/**
 * Both files cut back to the checkpoint at seq 6 (a shorter log whose checkpoints all still
 * verify); the witness cosigned seq 8, so `audit verify --witness` says truncated.
 */
export const auditWitnessTruncated: Probe = async (env) => {
  const path = join(env.tmp, "audit.jsonl");
  const { key, trusted } = freshKey();
  const w = await probeWitness(env);
  try {
    await writeWitnessed(path, key, w.server.url, w.keys);
    const witness = { source: { url: w.server.url }, keys: w.keys };
    if (!auditVerdictOk(await verifyAuditFile(path, { trusted, witness }))) return { stopped: false, detail: "the untampered witnessed log did not verify: nothing is shown" };
    const kept = 2 * WITNESS_EVERY;
    writeFileSync(path, `${(await readFile(path, "utf8")).split("\n").slice(0, kept).join("\n")}\n`);
    const checkpoints = (await readFile(checkpointPath(path), "utf8")).trimEnd().split("\n");
    writeFileSync(checkpointPath(path), `${checkpoints.slice(0, 2).join("\n")}\n`);
    if (!auditVerdictOk(await verifyAuditFile(path, { trusted }))) return { stopped: false, detail: "the checkpoints alone already refuse this cut: it shows nothing about the witness" };
    const verdict = await verifyAuditFileAudited(path, { trusted, witness }, { append: (e) => env.runtime.record(e) });
    const w8 = verdict.witness;
    const caught = verdict.ok && verdict.checkpoints?.ok === true && w8?.ok === false && w8.error.code === "ERR_AUDIT_TRUNCATED";
    return { stopped: caught, detail: caught ? `log and checkpoints cut back to seq ${kept} (they verify alone); the witness cosigned seq ${RECORDS}: ${w8.error.code}` : `NOT detected: ${JSON.stringify(verdict)}` };
  } finally {
    await w.server.close();
    await w.witness.close();
  }
};

/**
 * A rewritten chain signed with the log's own key (what a holder of the checkpoint key could
 * forge): its checkpoint for the seq the witness cosigned has another head. The witness refuses
 * it, keeps its latest and the evidence, and records the refusal (here into the runtime's log).
 */
export const auditWitnessFork: Probe = async (env) => {
  const path = join(env.tmp, "audit.jsonl");
  const { key } = freshKey();
  const w = await probeWitness(env, { audit: { append: (e) => env.runtime.record(e) } });
  try {
    await writeWitnessed(path, key, w.server.url, w.keys);
    const forgedPath = join(env.tmp, "forged.jsonl");
    const forged = await AuditLog.open(forgedPath);
    await appendRecords(forged, "notes");
    const head = forged.head;
    await forged.close();
    if (head === null) return { stopped: false, detail: "no forged chain" };
    const envelope = signEnvelope(CHECKPOINT_PAYLOAD_TYPE, encodeCheckpoint({ log: "audit.jsonl", seq: head.seq, head: head.hash, at: new Date().toISOString() }), key);
    const logPublicKey = createPublicKey(key.privateKey).export({ type: "spki", format: "pem" }).toString();
    const client = new WitnessClient({ url: w.server.url });
    let refused: string;
    try {
      await client.cosign(Buffer.from(`${JSON.stringify({ checkpoint: envelope, logPublicKey })}\n`));
      return { stopped: false, detail: "the witness cosigned a forked checkpoint" };
    } catch (err) {
      if (!(err instanceof AuditWitnessRejected)) throw err;
      refused = err.remoteCode;
    }
    const latest = openCosignature((await client.latest("audit.jsonl"))?.cosignature, w.keys);
    const kept = "cosignature" in latest && latest.cosignature.seq === RECORDS && latest.cosignature.head !== head.hash;
    const evidence = existsSync(join(w.dataDir, WITNESS_EVIDENCE_FILE)) ? (await readFile(join(w.dataDir, WITNESS_EVIDENCE_FILE), "utf8")).trimEnd().split("\n").length : 0;
    const stopped = refused === "ERR_AUDIT_WITNESS_FORK" && kept && evidence === 1;
    return { stopped, detail: stopped ? `a second head for seq ${head.seq}, signed with the log key: ${refused}; the witness kept its cosigned head and the signed evidence` : `NOT refused as a fork: ${refused}, latest kept ${kept}, evidence ${evidence}` };
  } finally {
    await w.server.close();
    await w.witness.close();
  }
};

/** A few of cordon's real built files, locked with a fresh key; then one of them changes. */
export const lockFileTampered: Probe = async (env) => {
  // Its own directory: the stand-in node must be executable, and a probe's tmp is noexec.
  const own = mkdtempSync(join(tmpdir(), "cordon-probe-lock-"));
  try {
    return await lockFileTamperedIn(env, own);
  } finally {
    rmSync(own, { recursive: true, force: true });
  }
};

async function lockFileTamperedIn(env: ProbeEnv, tmp: string): Promise<ProbeOutcome> {
  const root = join(tmp, "runtime");
  const tampered = "dist/cli/main.js";
  for (const rel of [tampered, "dist/probes/prove.js", "dist/lock/verify-lock.js", "build/native/cordon-launch"]) {
    const source = join(PACKAGE_ROOT, rel);
    if (!existsSync(source)) continue;
    mkdirSync(dirname(join(root, rel)), { recursive: true });
    copyFileSync(source, join(root, rel));
  }
  writeFileSync(join(root, "package.json"), JSON.stringify({ name: "cordon-probe", version: "0.0.0" }));
  writeFileSync(join(root, "package-lock.json"), JSON.stringify({ name: "cordon-probe", version: "0.0.0", lockfileVersion: 3, packages: { "": { name: "cordon-probe", version: "0.0.0" } } }));
  // A stand-in interpreter: the real node binary is ~100 MB of hashing and not what this row attacks.
  const node = join(tmp, "node");
  writeFileSync(node, "#!/bin/sh\n# stands in for node\n", { mode: 0o755 });
  const options: MeasureOptions = { execPath: node, hostBinaries: [], searchPath: "" };
  const { key, trusted } = freshKey();
  const lockPath = join(tmp, "cordon.lock.json");
  await writeRuntimeLock(root, key, lockPath, options);
  const envelope = await readFile(lockPath);
  if (!(await verifyRuntimeLock(envelope, trusted, root, options)).ok) return { stopped: false, detail: "the untampered tree did not verify: nothing is shown" };
  await appendFile(join(root, tampered), "\n;globalThis.pwned = true;\n");
  const result = await verifyRuntimeLockAudited(envelope, trusted, root, { append: (e) => env.runtime.record(e) }, options);
  const bad = result.components.find((c) => c.status !== "ok");
  const stopped = !result.ok && bad?.file === tampered;
  return { stopped, detail: stopped ? `${bad.name}: ${bad.detail}` : `NOT detected: ${JSON.stringify(bad ?? null)}` };
}
