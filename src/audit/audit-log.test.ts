import assert from "node:assert/strict";
import { test } from "node:test";
import { AuditLog } from "./audit-log.js";
import { MemorySink } from "./memory-sink.js";
import { verifyChain } from "./verify-chain.js";
import type { AuditRecord } from "./types.js";

function frozenClock(): () => Date {
  let t = Date.UTC(2025, 0, 1);
  return () => new Date((t += 1000));
}

function memoryLog(keep?: number): { log: AuditLog; sink: MemorySink } {
  const sink = new MemorySink();
  const log = AuditLog.memory(keep === undefined ? { sink, now: frozenClock() } : { sink, now: frozenClock(), keep });
  return { log, sink };
}

const lineCount = (text: string): number => text.split("\n").length - 1;

void test("appends durable, chained records stamped by the injected clock", async () => {
  const { log, sink } = memoryLog();
  const first = await log.append({ type: "policy.loaded", enforcer: "artifact-signature", policySha256: "ab" });
  const second = await log.append({ type: "call.denied", code: "ERR_POLICY", tool: "fetch" });
  assert.equal(first.time, "2025-01-01T00:00:01.000Z");
  assert.equal(second.prev, first.hash);
  assert.deepEqual(log.head, { seq: 2, hash: second.hash });
  assert.deepEqual(verifyChain(sink.text()), { ok: true, count: 2, head: { seq: 2, hash: second.hash } });
});

void test("group commit: 100 concurrent appends share one write and each resolve after it", async () => {
  const { log, sink } = memoryLog();
  const release = sink.hold();
  const settled: number[] = [];
  const appends = Array.from({ length: 100 }, (_, i) =>
    log.append({ type: "call.allowed", i }).then((r) => {
      settled.push(r.seq);
      return r;
    }));
  await new Promise((resolve) => setImmediate(resolve));
  await new Promise((resolve) => setImmediate(resolve));
  // The write is in flight but not durable: nobody may be told their record is written.
  assert.equal(sink.writes, 1);
  assert.deepEqual(settled, []);
  release();
  const records = await Promise.all(appends);
  assert.equal(sink.writes, 1);
  assert.deepEqual(records.map((r) => r.seq), Array.from({ length: 100 }, (_, i) => i + 1));
  assert.deepEqual(verifyChain(sink.text()), { ok: true, count: 100, head: log.head });
});

void test("appends made while a write is in flight go into the next batch, in call order", async () => {
  const { log, sink } = memoryLog();
  const release = sink.hold();
  const early = [log.append({ type: "call.allowed", i: 0 }), log.append({ type: "call.allowed", i: 1 })];
  await new Promise((resolve) => setImmediate(resolve));
  const late = Array.from({ length: 10 }, (_, i) => log.append({ type: "call.allowed", i: i + 2 }));
  release();
  const records = await Promise.all([...early, ...late]);
  assert.equal(sink.writes, 2);
  assert.deepEqual(records.map((r) => [r.seq, r["i"]]), records.map((_, i) => [i + 1, i]));
});

void test("seq order equals call order equals file order, with callers interleaving at random", async () => {
  const { log, sink } = memoryLog();
  const order: number[] = [];
  const callers = Array.from({ length: 60 }, async (_, i) => {
    for (let k = (i * 7919) % 5; k > 0; k--) {
      await (k % 2 === 0 ? Promise.resolve() : new Promise((resolve) => setImmediate(resolve)));
    }
    order.push(i);
    return log.append({ type: "call.allowed", caller: i });
  });
  const records = await Promise.all(callers);
  const fileLines = sink.text().split("\n").slice(0, -1).map((l) => JSON.parse(l) as AuditRecord);
  assert.deepEqual(fileLines.map((r) => r["caller"]), order);
  for (const record of records) assert.equal(fileLines[record.seq - 1]?.hash, record.hash);
  assert.ok(sink.writes < 60);
  assert.equal(verifyChain(sink.text()).ok, true);
});

void test("fails closed: a failed write rejects its whole batch, writes nothing, and keeps the head", async () => {
  const { log, sink } = memoryLog();
  const [, second] = await Promise.all([log.append({ type: "call.allowed", n: 1 }), log.append({ type: "call.allowed", n: 2 })]);
  sink.failWrites("ENOSPC");
  const failed = await Promise.allSettled([log.append({ type: "call.allowed", n: 3 }), log.append({ type: "call.allowed", n: 4 })]);
  for (const outcome of failed) {
    assert.equal(outcome.status, "rejected");
    assert.equal((outcome.reason as { code: string }).code, "ERR_AUDIT_WRITE_FAILED");
    assert.equal((outcome.reason as { reason: string }).reason, "ENOSPC");
  }
  assert.deepEqual(log.head, { seq: 2, hash: second.hash });
  assert.equal(lineCount(sink.text()), 2);
  assert.deepEqual(log.recordsAfter(0).map((r) => r.seq), [1, 2]);

  sink.healWrites();
  const next = await log.append({ type: "call.allowed", n: 5 });
  assert.equal(next.seq, 3);
  assert.equal(next.prev, second.hash);
  assert.deepEqual(verifyChain(sink.text()), { ok: true, count: 3, head: { seq: 3, hash: next.hash } });
});

void test("an invalid event is rejected alone and does not consume a seq", async () => {
  const { log, sink } = memoryLog();
  const outcomes = await Promise.allSettled([
    log.append({ type: "call.allowed", n: 1 }),
    log.append({ type: "call.completed", stdout: "raw output" }),
    log.append({ type: "call.allowed", n: 2 }),
  ]);
  const refused = outcomes[1];
  assert.equal(refused?.status, "rejected");
  assert.equal((refused.reason as { code: string }).code, "ERR_AUDIT_EVENT_INVALID");
  assert.deepEqual(outcomes.flatMap((o) => (o.status === "fulfilled" ? [o.value.seq] : [])), [1, 2]);
  assert.ok(!sink.text().includes("raw output"));
});

void test("onRecord streams durable records in order until unsubscribed; a throwing listener is harmless", async () => {
  const { log, sink } = memoryLog();
  const seen: number[] = [];
  const stop = log.onRecord((r) => seen.push(r.seq));
  log.onRecord(() => {
    throw new Error("buggy watcher");
  });
  sink.failWrites();
  await assert.rejects(log.append({ type: "call.allowed" }), { code: "ERR_AUDIT_WRITE_FAILED" });
  sink.healWrites();
  await Promise.all([log.append({ type: "call.allowed" }), log.append({ type: "call.allowed" })]);
  stop();
  await log.append({ type: "call.allowed" });
  assert.deepEqual(seen, [1, 2]);
  assert.equal(log.head?.seq, 3);
});

void test("recordsAfter returns this process's records after a seq, bounded to the newest `keep`", async () => {
  const { log } = memoryLog(5);
  assert.deepEqual(log.recordsAfter(0), []);
  for (let i = 0; i < 8; i++) await log.append({ type: "probe.ran", i });
  assert.deepEqual(log.recordsAfter(0).map((r) => r.seq), [4, 5, 6, 7, 8]);
  assert.deepEqual(log.recordsAfter(6).map((r) => r.seq), [7, 8]);
  assert.deepEqual(log.recordsAfter(8), []);
});

void test("close flushes pending appends, closes the sink, and refuses later appends", async () => {
  const { log, sink } = memoryLog();
  const pending = log.append({ type: "call.allowed" });
  await log.close();
  assert.equal((await pending).seq, 1);
  assert.equal(sink.closed, true);
  assert.equal(lineCount(sink.text()), 1);
  await assert.rejects(log.append({ type: "call.allowed" }), { code: "ERR_AUDIT_WRITE_FAILED", reason: "closed" });
  await log.close();
});

void test("a clock that throws rejects the append without writing", async () => {
  const sink = new MemorySink();
  const log = AuditLog.memory({ sink, now: () => { throw new Error("no clock"); } });
  await assert.rejects(log.append({ type: "call.allowed" }));
  await log.close();
  assert.equal(sink.writes, 0);
});
