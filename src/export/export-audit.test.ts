import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { AuditLog, canonicalJson, GENESIS_HASH, hashRecord, type AuditRecord } from "../audit/index.js";
import { exportAudit, exportFormatOf } from "./export-audit.js";
import { ocsfClassOf } from "./ocsf.js";

interface OcsfEvent {
  readonly class_uid: number;
  readonly activity_id: number;
  readonly type_uid: number;
  readonly status_id: number;
  readonly status_code?: string;
  readonly action_id?: number;
  readonly time: number;
  readonly metadata: { readonly sequence: number; readonly uid: string; readonly correlation_uid?: string; readonly profiles?: string[]; readonly product: { readonly version: string } };
  readonly unmapped: { readonly prev: string };
  readonly finding_info?: { readonly analytic: { readonly name: string } };
  readonly api?: { readonly operation: string };
}
interface LogRecord {
  readonly eventName: string;
  readonly timeUnixNano: string;
  readonly severityText: string;
  readonly attributes: readonly { readonly key: string; readonly value: unknown }[];
}
interface OtlpRequest {
  readonly resourceLogs: readonly { readonly resource: { readonly attributes: readonly { readonly value: { readonly stringValue: string } }[] }; readonly scopeLogs: readonly { readonly logRecords: readonly LogRecord[] }[] }[];
}
const logRecordsOf = (line: string): readonly LogRecord[] => (JSON.parse(line) as OtlpRequest).resourceLogs[0]?.scopeLogs[0]?.logRecords ?? [];
const attr = (lr: LogRecord | undefined, key: string): unknown => lr?.attributes.find((a) => a.key === key)?.value;
const coded = (code: string, more: Record<string, unknown> = {}) => (err: unknown): boolean =>
  typeof err === "object" && err !== null && (err as { code?: unknown }).code === code && Object.entries(more).every(([k, v]) => (err as Record<string, unknown>)[k] === v);

const JWT = "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJhZ2VudCJ9.c2lnbmF0dXJlc2lnbmF0dXJl";

function tmp(): string {
  return mkdtempSync(join(tmpdir(), "cordon-export-"));
}

async function sampleLog(dir: string): Promise<{ file: string; records: AuditRecord[] }> {
  const file = join(dir, "audit.jsonl");
  let t = Date.UTC(2026, 0, 1);
  const log = await AuditLog.open(file, { now: () => new Date((t += 1000)) });
  const records = [
    await log.append({ type: "policy.loaded", policySha256: "ab", lines: 3 }),
    await log.append({ type: "authn.denied", enforcer: "authn-token", code: "ERR_AUTHN_EXPIRED", tokenDigest: "0123456789abcdef" }),
    await log.append({ type: "session.opened", session: "s1", role: "reader", principal: "p-digest" }),
    await log.append({ type: "call.denied", enforcer: "role-toolset", code: "ERR_TOOL_NOT_GRANTED", tool: "fetch", session: "s1", role: "reader" }),
    await log.append({ type: "sandbox.denied", enforcer: "seccomp", syscall: "ptrace", session: "s1" }),
    await log.append({ type: "call.completed", tool: "echo", session: "s1", ms: 2 }),
  ];
  await log.close();
  return { file, records };
}

async function run(file: string, format: "ocsf" | "otel", batch?: number): Promise<{ lines: string[]; count: number }> {
  const lines: string[] = [];
  const count = await exportAudit({ file, format, version: "9.9.9", write: (l) => lines.push(l), now: () => 0, ...(batch === undefined ? {} : { batch }) });
  return { lines, count };
}

void test("OCSF: one event a record, in order, class by meaning, chain position and hash kept", async () => {
  const dir = tmp();
  try {
    const { file, records } = await sampleLog(dir);
    const { lines, count } = await run(file, "ocsf");
    assert.equal(count, records.length);
    const events = lines.map((l) => JSON.parse(l) as OcsfEvent);
    assert.deepEqual(events.map((e) => e.metadata.sequence), records.map((r) => r.seq));
    assert.deepEqual(events.map((e) => e.metadata.uid), records.map((r) => r.hash));
    assert.deepEqual(events.map((e) => e.unmapped.prev), records.map((r) => r.prev));
    assert.deepEqual(events.map((e) => e.class_uid), [6002, 3002, 3002, 6003, 2004, 6003]);
    for (const e of events) assert.equal(e.type_uid, e.class_uid * 100 + e.activity_id);
    const authn = events[1];
    assert.equal(authn?.status_id, 2);
    assert.equal(authn?.status_code, "ERR_AUTHN_EXPIRED");
    assert.equal(authn?.action_id, 2);
    assert.equal(authn?.time, Date.parse(records[1]?.time ?? ""));
    const finding = events[4];
    assert.equal(finding?.finding_info?.analytic.name, "seccomp");
    assert.deepEqual(finding?.metadata.profiles, ["security_control"]);
    assert.equal(events[3]?.api?.operation, "call:fetch");
    assert.equal(events[3]?.metadata.correlation_uid, "s1");
    assert.equal(events[5]?.status_id, 1);
    assert.equal(events[0]?.metadata.product.version, "9.9.9");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

void test("OTel: OTLP/JSON requests in batches, seq/hash/prev as attributes, severity by kind", async () => {
  const dir = tmp();
  try {
    const { file, records } = await sampleLog(dir);
    const { lines } = await run(file, "otel", 4);
    assert.equal(lines.length, 2);
    const logRecords = lines.flatMap(logRecordsOf);
    assert.equal(logRecords.length, records.length);
    records.forEach((r, i) => {
      const lr = logRecords[i];
      assert.deepEqual(attr(lr, "cordon.audit.seq"), { intValue: String(r.seq) });
      assert.deepEqual(attr(lr, "cordon.audit.hash"), { stringValue: r.hash });
      assert.deepEqual(attr(lr, "cordon.audit.prev"), { stringValue: r.prev });
      assert.equal(lr?.eventName, r.type);
      assert.equal(lr?.timeUnixNano, `${BigInt(Date.parse(r.time)) * 1_000_000n}`);
    });
    assert.equal(logRecords[1]?.severityText, "WARN");
    assert.equal(logRecords[0]?.severityText, "INFO");
    assert.deepEqual(attr(logRecords[1], "cordon.enforcer"), { stringValue: "authn-token" });
    assert.equal((JSON.parse(lines[0] ?? "{}") as OtlpRequest).resourceLogs[0]?.resource.attributes[0]?.value.stringValue, "cordon");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** A record the log would have refused (secret-named fields), hashed and linked as if written by hand. */
function forgedLine(prev: string, seq: number, fields: Record<string, unknown>): { line: string; hash: string } {
  const unsigned = { ...fields, seq, time: "2026-01-01T00:00:09.000Z", prev };
  const hash = hashRecord(unsigned);
  return { line: canonicalJson({ ...unsigned, hash }), hash };
}

void test("no token or secret leaves in either format, even from a record the log would have refused", async () => {
  const dir = tmp();
  try {
    const file = join(dir, "audit.jsonl");
    const a = forgedLine(GENESIS_HASH, 1, { type: "authn.denied", enforcer: "authn-token", token: JWT, nested: { Authorization: `Bearer ${JWT}`, password: "hunter2hunter2" } });
    const b = forgedLine(a.hash, 2, { type: "call.denied", enforcer: "role-toolset", note: `header was Bearer abcdefgh12345678`, pem: "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEI\n-----END PRIVATE KEY-----" });
    writeFileSync(file, `${a.line}\n${b.line}\n`);
    for (const format of ["ocsf", "otel"] as const) {
      const { lines, count } = await run(file, format);
      assert.equal(count, 2);
      const text = lines.join("\n");
      for (const secret of [JWT, "hunter2hunter2", "abcdefgh12345678", "BEGIN PRIVATE KEY", "MC4CAQAwBQYDK2VwBCIEI"]) assert.ok(!text.includes(secret), `${format} output holds ${secret}`);
      assert.ok(!/"token"|"password"|"authorization"/i.test(text), `${format} output names a secret field`);
      assert.ok(text.includes("[redacted]") && text.includes("$.token"), `${format} output says what it redacted`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

void test("an edited record ends the export there: records before it are out, none after, ERR_EXPORT_CHAIN_BROKEN", async () => {
  const dir = tmp();
  try {
    const { file } = await sampleLog(dir);
    const lines = readFileSync(file, "utf8").split("\n");
    lines[2] = (lines[2] ?? "").replace('"reader"', '"admin"');
    writeFileSync(file, lines.join("\n"));
    const out: string[] = [];
    await assert.rejects(exportAudit({ file, format: "ocsf", version: "0", write: (l) => out.push(l) }), coded("ERR_EXPORT_CHAIN_BROKEN", { firstBadSeq: 3, reason: "hash" }));
    assert.equal(out.length, 2);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

void test("an unknown format and a missing file are typed errors", async () => {
  assert.throws(() => exportFormatOf("splunk"), coded("ERR_EXPORT_FORMAT"));
  assert.throws(() => exportFormatOf(undefined), coded("ERR_EXPORT_FORMAT"));
  await assert.rejects(exportAudit({ file: "/nonexistent/audit.jsonl", format: "otel", version: "0", write: () => undefined }), coded("ERR_AUDIT_UNREADABLE"));
});

void test("class mapping: every denial that is not a call or a token is a Detection Finding", () => {
  assert.equal(ocsfClassOf({ type: "connection.refused", enforcer: "gateway-connections" as never }).classUid, 2004);
  assert.equal(ocsfClassOf({ type: "limit.exceeded" }).classUid, 2004);
  assert.equal(ocsfClassOf({ type: "session.closed" }).activityId, 2);
  assert.equal(ocsfClassOf({ type: "resource.read" }).activityId, 2);
  assert.equal(ocsfClassOf({ type: "cell.exited" }).classUid, 6002);
});
