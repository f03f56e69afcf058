import assert from "node:assert/strict";
import { appendFileSync, chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { AuditWriteFailed } from "../errors.js";
import { AuditLog } from "./audit-log.js";
import { FileSink } from "./file-sink.js";
import { readAuditFile } from "./read-audit-file.js";
import { verifyAuditFile } from "./verify-audit-file.js";
import type { AuditRecord, AuditSink } from "./types.js";

const root = mkdtempSync(join(tmpdir(), "cordon-audit-"));
after(() => rmSync(root, { recursive: true, force: true }));
let counter = 0;
const freshPath = (): string => join(root, `case-${++counter}`, "logs", "audit.jsonl");

async function writeLog(path: string, count: number): Promise<AuditRecord[]> {
  const log = await AuditLog.open(path);
  const records = await Promise.all(Array.from({ length: count }, (_, i) => log.append({ type: "call.allowed", i })));
  await log.close();
  return records;
}

void test("creates the file 0600 inside folders created 0700, and the chain verifies", async () => {
  const path = freshPath();
  const records = await writeLog(path, 3);
  assert.equal(statSync(path).mode & 0o777, 0o600);
  assert.equal(statSync(join(path, "..")).mode & 0o777, 0o700);
  assert.equal(statSync(join(path, "..", "..")).mode & 0o777, 0o700);
  assert.deepEqual(await verifyAuditFile(path), { ok: true, count: 3, head: { seq: 3, hash: records[2]!.hash } });
});

void test("tightens an existing log that others could read", async () => {
  const path = freshPath();
  await writeLog(path, 1);
  chmodSync(path, 0o644);
  await writeLog(path, 1);
  assert.equal(statSync(path).mode & 0o777, 0o600);
});

void test("reopening continues the chain from the file's head", async () => {
  const path = freshPath();
  const first = await writeLog(path, 3);
  const log = await AuditLog.open(path);
  assert.deepEqual(log.head, { seq: 3, hash: first[2]!.hash });
  const next = await log.append({ type: "call.denied" });
  await log.close();
  assert.equal(next.seq, 4);
  assert.equal(next.prev, first[2]!.hash);
  assert.deepEqual(await verifyAuditFile(path), { ok: true, count: 4, head: { seq: 4, hash: next.hash } });
  assert.deepEqual(log.recordsAfter(0).map((r) => r.seq), [4]);
});

void test("refuses to open (and so to extend) a corrupt log, naming the first bad seq", async () => {
  const path = freshPath();
  await writeLog(path, 4);
  const lines = readFileSync(path, "utf8").split("\n");
  lines[1] = lines[1]!.replace('"i":1', '"i":9');
  writeFileSync(path, lines.join("\n"));
  const before = readFileSync(path);
  await assert.rejects(AuditLog.open(path), { code: "ERR_AUDIT_CORRUPT", firstBadSeq: 2, reason: "hash" });
  assert.deepEqual(readFileSync(path), before);
});

void test("refuses a log whose last write was cut short", async () => {
  const path = freshPath();
  await writeLog(path, 2);
  appendFileSync(path, '{"seq":3,"ty');
  await assert.rejects(AuditLog.open(path), { code: "ERR_AUDIT_CORRUPT", firstBadSeq: 3, reason: "truncated-line" });
});

void test("a missing file is a typed error for the CLI, not an empty ok", async () => {
  const path = join(root, "nowhere", "audit.jsonl");
  await assert.rejects(verifyAuditFile(path), { code: "ERR_AUDIT_UNREADABLE", reason: "ENOENT" });
  await assert.rejects(readAuditFile(path), { code: "ERR_AUDIT_UNREADABLE", reason: "ENOENT" });
});

void test("a failed write leaves no record in the file and the next write continues the chain", async () => {
  const path = freshPath();
  const inner = await FileSink.open(path);
  let failing = false;
  const flaky: AuditSink = {
    write: (lines) => (failing ? Promise.reject(new AuditWriteFailed("EIO")) : inner.write(lines)),
    close: () => inner.close(),
  };
  const log = await AuditLog.open(path, { sink: flaky });
  const first = await log.append({ type: "call.allowed", n: 1 });
  failing = true;
  await assert.rejects(log.append({ type: "call.allowed", n: 2 }), { code: "ERR_AUDIT_WRITE_FAILED", reason: "EIO" });
  assert.equal(readFileSync(path, "utf8").split("\n").length - 1, 1);
  assert.deepEqual(log.head, { seq: 1, hash: first.hash });
  failing = false;
  const next = await log.append({ type: "call.allowed", n: 3 });
  await log.close();
  assert.equal(next.prev, first.hash);
  assert.deepEqual(await verifyAuditFile(path), { ok: true, count: 2, head: { seq: 2, hash: next.hash } });
});

void test("a file changed underneath the writer fails closed instead of forking the chain", async () => {
  const path = freshPath();
  const log = await AuditLog.open(path);
  await log.append({ type: "call.allowed" });
  appendFileSync(path, "someone else\n");
  const before = readFileSync(path);
  await assert.rejects(log.append({ type: "call.allowed" }), { code: "ERR_AUDIT_WRITE_FAILED", reason: "file-changed" });
  assert.deepEqual(readFileSync(path), before);
  await log.close();
});

void test("a sink refuses writes after close", async () => {
  const sink = await FileSink.open(freshPath());
  await sink.close();
  await assert.rejects(sink.write("x\n"), { code: "ERR_AUDIT_WRITE_FAILED", reason: "closed" });
  await sink.close();
});
