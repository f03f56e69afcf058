import assert from "node:assert/strict";
import { test } from "node:test";
import type { AuditEvent } from "../audit/index.js";
import { DenialRecorder } from "./denial-recorder.js";

function recorder(burst = 3, windowMs = 1_000) {
  const events: AuditEvent[] = [];
  let now = 0;
  const r = new DenialRecorder((e) => {
    events.push(e);
    return Promise.resolve();
  }, { burst, windowMs, now: () => now });
  return { r, events, advance: (ms: number) => (now += ms) };
}

const denial = (session: string, syscall = "socket") => ({ session, tool: "t", tier: "process", syscall, action: "EPERM" as const });

void test("each denial is one record naming seccomp, the syscall, the session and the tool, up to the burst", () => {
  const { r, events } = recorder(3);
  r.report(denial("s1", "socket"));
  r.report(denial("s1", "ptrace"));
  assert.deepEqual(events, [
    { type: "sandbox.denied", enforcer: "seccomp", session: "s1", tool: "t", tier: "process", syscall: "socket", action: "EPERM" },
    { type: "sandbox.denied", enforcer: "seccomp", session: "s1", tool: "t", tier: "process", syscall: "ptrace", action: "EPERM" },
  ]);
});

void test("a loop of 1,000 denials is the burst plus one summary with the exact count: nothing lost, no flood", async () => {
  const { r, events } = recorder(3);
  for (let i = 0; i < 1_000; i++) r.report(denial("s1", i % 2 === 0 ? "socket" : "bpf"));
  assert.equal(events.length, 3);
  await r.flush("s1");
  assert.equal(events.length, 4);
  assert.deepEqual(events[3], { type: "sandbox.denied", enforcer: "seccomp", session: "s1", tier: "process", tools: ["t"], suppressed: true, count: 997, syscalls: { bpf: 499, socket: 498 } });
  await r.flush("s1");
  assert.equal(events.length, 4, "a second flush writes nothing");
});

void test("sessions have their own budget, and a new window a new one", () => {
  const { r, events, advance } = recorder(2, 1_000);
  for (let i = 0; i < 5; i++) r.report(denial("a"));
  for (let i = 0; i < 5; i++) r.report(denial("b"));
  assert.equal(events.filter((e) => e["session"] === "a").length, 2);
  assert.equal(events.filter((e) => e["session"] === "b").length, 2);
  advance(1_000);
  r.report(denial("a"));
  const a = events.filter((e) => e["session"] === "a");
  assert.equal(a.length, 4, "the old window's summary, then a fresh individual record");
  assert.equal(a[2]?.["count"], 3);
  assert.equal(a[3]?.["suppressed"], undefined);
});
