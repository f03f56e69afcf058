// Per-role granularity on this host: one cell per role, a fresh set of Wasm instances per
// session inside it. Sessions share the process but never state, and a frame naming another
// open session is still a violation.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { AuditLog } from "../audit/index.js";
import { EXAMPLE_POLICY } from "../config/defaults.js";
import { loadPolicy } from "../policy/load-policy.js";
import { localPrincipal, Runtime } from "../runtime/runtime.js";
import type { LoadedTool } from "../policy/load-policy.js";
import { HOSTILE_CELL_MAIN } from "../probes/probe-session.js";
import { RoleCellHost } from "./cell-hosts.js";
import { SessionHost } from "../runtime/session-host.js";

async function perRoleRuntime() {
  const audit = AuditLog.memory();
  const runtime = await Runtime.start({ policy: loadPolicy(EXAMPLE_POLICY), audit, isolation: "cell", granularity: "per-role" });
  return { runtime, audit };
}

function roleCell(host: unknown): RoleCellHost {
  const wasm = host instanceof SessionHost ? host.wasmHost : host;
  assert.ok(wasm instanceof RoleCellHost, "a per-role session runs in its role's cell");
  return wasm;
}

describe("per-role cells", () => {
  it("share one cell per role, never state: each session's reactor starts empty and ends with it", async () => {
    const { runtime, audit } = await perRoleRuntime();
    try {
      const a = await runtime.openSession("analyst");
      const b = await runtime.openSession("analyst");
      const other = await runtime.openSession("operator");
      assert.equal(roleCell(a.toolHost).process.id, roleCell(b.toolHost).process.id);
      assert.notEqual(roleCell(a.toolHost).process.id, roleCell(other.toolHost).process.id, "each role has its own cell");
      assert.ok((await a.call("notes", { op: "add", text: "only for a" })).ok);
      const listA = await a.call("notes", { op: "list" });
      const listB = await b.call("notes", { op: "list" });
      assert.ok(listA.ok && listB.ok);
      assert.match(JSON.stringify(listA.output), /only for a/);
      assert.doesNotMatch(JSON.stringify(listB.output), /only for a/, "b does not see a's notes");
      await runtime.closeSession(a);
      const c = await runtime.openSession("analyst");
      const listC = await c.call("notes", { op: "list" });
      assert.ok(listC.ok);
      assert.doesNotMatch(JSON.stringify(listC.output), /only for a/, "a's state ended with a");
      assert.ok(roleCell(b.toolHost).process.alive, "closing a session leaves the role's cell up for the others");
      const opened = audit.recordsAfter(0).filter((r) => r.type === "session.opened");
      assert.ok(opened.every((r) => r["granularity"] === "per-role"));
    } finally {
      await runtime.close();
    }
  });

  it("kill the cell when it answers with the identity of another session open in it", async () => {
    const { runtime, audit } = await perRoleRuntime();
    try {
      // The probe cell program, per role: the forging answer comes from it, over the real cell's protocol.
      const tools = (runtime.policy.roles.get("analyst") ?? []).map((n) => runtime.policy.tools.get(n) as LoadedTool);
      const spec = { role: "analyst", tools, principal: localPrincipal("analyst"), granularity: "per-role", cellMain: HOSTILE_CELL_MAIN } as const;
      const a = await runtime.openSessionWith(spec);
      const b = await runtime.openSessionWith(spec);
      const cell = roleCell(a.toolHost).process;
      const before = audit.head?.seq ?? 0;
      await assert.rejects(cell.selftest("forge-peer"));
      await new Promise((r) => setTimeout(r, 20));
      assert.equal(cell.alive, false);
      const killed = audit.recordsAfter(before).filter((r) => r.type === "cell.killed");
      assert.equal(killed.length, 1);
      assert.equal(killed[0]?.["enforcer"], "frame-guard");
      const after = await b.call("text-stats", { text: "x" });
      assert.equal(after.ok ? "ok" : after.error.code, "ERR_CELL_EXITED", "a dead role cell ends every session in it");
      const fresh = await runtime.openSession("analyst");
      assert.ok((await fresh.call("text-stats", { text: "hello world" })).ok, "the next session gets a new role cell");
    } finally {
      await runtime.close();
    }
  });
});
