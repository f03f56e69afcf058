import assert from "node:assert/strict";
import { test } from "node:test";
import { describeCondition, describeRules } from "./describe-filter.js";
import { DEFAULT_RULES } from "./rules.js";

void test("one row per rule, in order, between the ABI rows and the default", () => {
  const rows = describeRules(DEFAULT_RULES);
  assert.equal(rows.length, DEFAULT_RULES.length + 3);
  assert.deepEqual(rows.map((r) => r.kind), ["frame", "frame", ...DEFAULT_RULES.map(() => "rule"), "frame"]);
  assert.deepEqual(rows.slice(2, -1).map((r) => r.syscall), DEFAULT_RULES.map((r) => r.syscall));
  assert.deepEqual(rows[0], {
    kind: "frame", syscall: "*", condition: "arch word is not the native ABI", action: "KILL (recorded)",
    why: "a foreign ABI (i386 int 0x80, arm32 compat) numbers syscalls differently; the table would not apply",
  });
  assert.equal(rows.at(-1)?.action, "ALLOW");
  for (const row of rows) assert.ok(row.why.length > 0 && row.condition.length > 0, row.syscall);
});

void test("conditions and actions read as the filter behaves", () => {
  const rows = new Map(describeRules(DEFAULT_RULES).filter((r) => r.kind === "rule").map((r) => [r.syscall, r]));
  assert.deepEqual({ ...rows.get("socket") }, {
    kind: "rule", syscall: "socket", condition: "arg0 != 0x1", action: "EPERM (recorded)",
    why: "only AF_UNIX sockets: no IP, netlink, packet, vsock or other families",
  });
  assert.equal(rows.get("clone")?.condition, "arg0 & 0xffffffff7e020000 != 0");
  assert.equal(rows.get("personality")?.condition, "arg0 & 0xffffffff00740000 != 0");
  assert.equal(rows.get("connect")?.condition, "always");
  assert.equal(rows.get("clone3")?.action, "ENOSYS");
  assert.equal(describeCondition({ arg: 3, op: "eq", value: 22 }), "(u32)arg3 == 0x16");
  assert.equal(describeRules([{ syscall: "getpid", action: "kill", why: "t" }])[2]?.action, "KILL");
});
