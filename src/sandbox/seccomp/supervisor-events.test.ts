import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { MAX_EVENT_LINE, parseSeccompEvent, syscallName } from "./supervisor-events.js";
import { archSpec } from "./syscall-table.js";

const x64 = archSpec("x64");
const arm64 = archSpec("arm64");

void test("a denial line names the syscall by the host arch's table", () => {
  assert.deepEqual(parseSeccompEvent("D 41 c000003e 1234", x64), { kind: "denied", syscall: "socket", nr: 41, arch: 0xc000003e, pid: 1234 });
  assert.deepEqual(parseSeccompEvent("D 198 c00000b7 7", arm64), { kind: "denied", syscall: "socket", nr: 198, arch: 0xc00000b7, pid: 7 });
});

void test("x32, foreign-ABI and unknown numbers are named, not guessed", () => {
  assert.equal(syscallName(x64, 0x40000000 + 41, 0xc000003e), "x32:socket");
  assert.equal(syscallName(x64, 102, 0x40000003), "i386:102");
  assert.equal(syscallName(x64, 999, 0xc000003e), "nr:999");
  const killed = parseSeccompEvent("K 20 40000003 99", x64);
  assert.equal(killed.kind, "killed");
  assert.equal(killed.kind === "killed" ? killed.syscall : "", "i386:20");
});

void test("a supervisor failure is an event, and garbage is never dropped silently", () => {
  assert.deepEqual(parseSeccompEvent("X the sandbox did not hand over a seccomp listener", x64), { kind: "failed", reason: "the sandbox did not hand over a seccomp listener" });
  assert.equal(parseSeccompEvent("D 41", x64).kind, "failed");
  assert.equal(parseSeccompEvent("x".repeat(MAX_EVENT_LINE + 1), x64).kind, "failed");
});

void test("property: any line parses to one of the three kinds, without throwing", () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 400 }), (line) => {
      const e = parseSeccompEvent(line, x64);
      assert.ok(e.kind === "denied" || e.kind === "killed" || e.kind === "failed");
    }),
    { numRuns: 2000 },
  );
});
