import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { test } from "node:test";
import { buildRecord, encodeRecord } from "./build-record.js";
import { canonicalJson } from "./canonical-json.js";
import { GENESIS_HASH } from "./types.js";
import type { AuditEvent } from "./types.js";

const T0 = new Date(Date.UTC(2025, 0, 2, 3, 4, 5, 678));

void test("the first record links to the genesis hash and hashes its canonical form without `hash`", () => {
  const record = buildRecord(null, { type: "policy.loaded", enforcer: "artifact-signature", policySha256: "ab" }, T0);
  assert.equal(record.seq, 1);
  assert.equal(record.time, "2025-01-02T03:04:05.678Z");
  assert.equal(record.prev, GENESIS_HASH);
  const expected = createHash("sha256")
    .update('{"enforcer":"artifact-signature","policySha256":"ab","prev":"' + GENESIS_HASH + '","seq":1,"time":"2025-01-02T03:04:05.678Z","type":"policy.loaded"}')
    .digest("hex");
  assert.equal(record.hash, expected);
  assert.equal(encodeRecord(record), `${canonicalJson(record)}\n`);
});

void test("each record links to the one before", () => {
  const first = buildRecord(null, { type: "call.allowed", tool: "echo" }, T0);
  const second = buildRecord(first, { type: "call.completed", tool: "echo", outputBytes: 12 }, T0);
  assert.equal(second.seq, 2);
  assert.equal(second.prev, first.hash);
  assert.notEqual(second.hash, first.hash);
});

void test("is pure: same inputs, same record; the hash covers every field", () => {
  const event = { type: "call.denied", code: "ERR_POLICY", tool: "fetch", detail: { host: "example.com" } };
  assert.deepEqual(buildRecord(null, event, T0), buildRecord(null, event, T0));
  const other = buildRecord(null, { ...event, detail: { host: "example.org" } }, T0);
  assert.notEqual(other.hash, buildRecord(null, event, T0).hash);
  assert.notEqual(buildRecord(null, event, new Date(T0.getTime() + 1)).hash, buildRecord(null, event, T0).hash);
});

void test("drops undefined fields before hashing", () => {
  const withUndefined = buildRecord(null, { type: "call.allowed", enforcer: undefined, tool: "echo" }, T0);
  assert.equal(Object.hasOwn(withUndefined, "enforcer"), false);
  assert.equal(withUndefined.hash, buildRecord(null, { type: "call.allowed", tool: "echo" }, T0).hash);
});

void test("the record is a frozen snapshot, unaffected by later changes to the event", () => {
  const detail = { n: 1 };
  const record = buildRecord(null, { type: "probe.ran", detail }, T0);
  detail.n = 2;
  assert.deepEqual(record["detail"], { n: 1 });
  assert.ok(Object.isFrozen(record));
  assert.ok(Object.isFrozen(record["detail"]));
});

void test("refuses fields that look like secret carriers or raw traffic, at any depth, any case", () => {
  const refused: [AuditEvent, string][] = [
    [{ type: "call.allowed", token: "t" }, "$.token"],
    [{ type: "call.allowed", Authorization: "Bearer x" }, "$.Authorization"],
    [{ type: "call.allowed", args: { PASSWORD: "p" } }, "$.args.PASSWORD"],
    [{ type: "call.allowed", secret: null }, "$.secret"],
    [{ type: "call.allowed", key: "k" }, "$.key"],
    [{ type: "call.allowed", env: [{ name: "x" }, { privateKey: "-----BEGIN" }] }, "$.env[1].privateKey"],
    [{ type: "call.completed", stdout: "hi" }, "$.stdout"],
    [{ type: "call.failed", stderr: "boom" }, "$.stderr"],
    [{ type: "call.completed", result: { Output: {} } }, "$.result.Output"],
    [{ type: "call.allowed", input: { q: 1 } }, "$.input"],
  ];
  for (const [event, path] of refused) {
    assert.throws(() => buildRecord(null, event, T0), (err: unknown) => {
      assert.ok(err instanceof Error && "code" in err && "path" in err);
      assert.equal(err.code, "ERR_AUDIT_EVENT_INVALID");
      assert.equal(err.path, path);
      // The refused value never appears in the error.
      assert.ok(!err.message.includes("Bearer") && !err.message.includes("BEGIN"));
      return true;
    }, path);
  }
});

void test("allows sizes, digests and names that merely contain a carrier word", () => {
  const record = buildRecord(null, {
    type: "call.completed", inputBytes: 10, inputSha256: "ff", outputBytes: 3, keyId: "k1", tokenCount: 7, keys: ["a"],
  }, T0);
  assert.equal(record["inputBytes"], 10);
});

void test("refuses events that try to set the chain fields", () => {
  for (const name of ["seq", "time", "prev", "hash"]) {
    assert.throws(() => buildRecord(null, { type: "call.allowed", [name]: 1 }, T0), { code: "ERR_AUDIT_EVENT_INVALID", path: `$.${name}` });
  }
});

void test("refuses malformed types, enforcers, codes, values and clocks", () => {
  const bad: [unknown, string][] = [
    [{ type: "Call.Allowed" }, "$.type"],
    [{ type: "denied" }, "$.type"],
    [{ type: 3 }, "$.type"],
    [{ type: "call.allowed", enforcer: 1 }, "$.enforcer"],
    [{ type: "call.denied", enforcer: "os-sandbox" }, "$.enforcer"], // not in the registry: nothing may be credited to it
    [{ type: "call.denied", enforcer: "cell-watchdog " }, "$.enforcer"],
    [{ type: "call.allowed", code: ["x"] }, "$.code"],
    [{ type: "call.allowed", at: new Date(0) }, "$.at"],
    [{ type: "call.allowed", n: Number.NaN }, "$.n"],
    [{ type: "call.allowed", blob: "x".repeat(70_000) }, "$"],
    [null, "$"],
  ];
  for (const [event, path] of bad) {
    assert.throws(() => buildRecord(null, event as AuditEvent, T0), { code: "ERR_AUDIT_EVENT_INVALID", path });
  }
  for (const time of [new Date(Number.NaN), new Date(Date.UTC(10000, 0, 1))]) {
    assert.throws(() => buildRecord(null, { type: "call.allowed" }, time), { code: "ERR_AUDIT_EVENT_INVALID", path: "$.time" });
  }
});
