// Probes of tamper evidence: an audit log with signed checkpoints (enforcers audit-chain and
// audit-checkpoint) and a hash-locked runtime tree (runtime-lock). Each builds a small real
// one in its temporary directory with a fresh key, checks that the untouched copy verifies,
// tampers with it, and verifies again through the audited verifier: one refusal record.
import { generateKeyPairSync, type KeyObject } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { appendFile, readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { AuditLog, Checkpointer, canonicalJson, verifyAuditFile, type AuditFileVerdict } from "../audit/index.js";
import { verifyAuditFileAudited } from "../audit/verify-audited.js";
import { PACKAGE_ROOT } from "../cli/defaults.js";
import { keyId, type SigningKey } from "../identity/dsse.js";
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
