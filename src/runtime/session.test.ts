// The control plane over the real engine and the real hostile fixtures (build/fixtures).
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { AuditLog, MemorySink } from "../audit/index.js";
import { loadPolicy, type WasmTool } from "../policy/load-policy.js"
import { type Grant } from "../types/tool.js";
import { loadFixture } from "../probes/fixtures.js";
import { variant } from "../probes/variant.js";
import { cappedDir } from "../testing/capped-dir.js";
import { makePolicyDir, policyYaml } from "../testing/policy-fixture.js";
import { Runtime } from "./runtime.js";
import type { Json } from "../errors.js";
import { openProbeSession } from "../probes/probe-session.js";

async function setup(sink?: MemorySink) {
  const p = await makePolicyDir();
  const policy = loadPolicy(p.write(policyYaml(p.moduleSha256, { roles: "  reader:\n    tools: [tool]\n  nobody:\n    tools: []" })));
  const audit = AuditLog.memory(sink === undefined ? {} : { sink });
  // Control-plane semantics; the cell path is covered by src/cell/cell.test.ts and the CLI tests.
  const runtime = await Runtime.start({ policy, audit, isolation: "in-process" });
  const tool = policy.tools.get("tool") as WasmTool;
  return { runtime, audit, tool };
}

describe("Session", () => {
  it("records call.allowed before the guest runs and call.completed with digests, never raw output", async () => {
    const { runtime, audit } = await setup();
    const session = await runtime.openSession("reader");
    const r = await session.call("tool", { any: "input" });
    assert.ok(r.ok);
    assert.deepEqual(r.output, { ok: true });
    const types = audit.recordsAfter(0).map((x) => x.type);
    assert.deepEqual(types, ["policy.loaded", "session.attested", "session.opened", "call.allowed", "call.completed"]);
    const done = audit.recordsAfter(0).at(-1);
    assert.equal(done?.["outputBytes"], 11);
    assert.match(done?.["outputSha256"] as string, /^[0-9a-f]{64}$/);
    assert.ok(!JSON.stringify(audit.recordsAfter(0)).includes('"ok":true'), "raw output must not reach the audit log");
  });

  it("stamps every record of a tool weaker than its risk demands (local-dev) with why, and names the layers", async () => {
    const p = await makePolicyDir();
    const yaml = `profile: local-dev\n${policyYaml(p.moduleSha256)}`.replace("risk: pure-compute", "risk: build-test");
    const audit = AuditLog.memory();
    const runtime = await Runtime.start({ policy: loadPolicy(p.write(yaml)), audit, isolation: "in-process" });
    try {
      const session = await runtime.openSession("reader");
      const r = await session.call("tool", {});
      assert.ok(r.ok, JSON.stringify(r));
      const ofTool = audit.recordsAfter(0).filter((x) => x["tool"] === "tool");
      assert.ok(ofTool.length >= 2);
      for (const x of ofTool) {
        assert.match(x["weakerThanRisk"] as string, /needs the medium stack/, x.type);
        assert.equal(x["layers"], "wasm+in-process", "the layers as they run here, not as the policy hoped");
      }
      assert.deepEqual(audit.recordsAfter(0).find((x) => x.type === "session.opened")?.["weakerThanRisk"], ["tool"]);
    } finally {
      await runtime.close();
    }
  });

  it("fails closed: when the allow record cannot be written, the guest never runs", async () => {
    const sink = new MemorySink();
    const { runtime, tool } = await setup(sink);
    const capped = cappedDir("cordon-failclosed-");
    const dir = capped.dir;
    try {
      const writer = variant(tool, { bytes: loadFixture("fs-open"), grants: [{ kind: "fs.write", hostPath: dir, mount: "/work" } satisfies Grant] });
      const session = await openProbeSession(runtime, "reader", [writer]);
      sink.failWrites();
      await assert.rejects(session.call("tool", "write planted.txt"), (e: Error & { code?: string }) => e.code === "ERR_AUDIT_WRITE_FAILED");
      assert.deepEqual(readdirSync(dir), [], "the guest ran although its allow record was not durable");
      sink.healWrites();
      const r = await session.call("tool", "write planted.txt");
      assert.ok(r.ok, JSON.stringify(r));
      assert.ok(existsSync(join(dir, "planted.txt")));
    } finally {
      capped.remove();
    }
  });

  it("refuses a writable grant the kernel does not cap (the host's disk), audited under disk-quota, before the guest runs", async () => {
    const { runtime, tool, audit } = await setup();
    const dir = mkdtempSync(join(tmpdir(), "cordon-uncapped-"));
    try {
      const writer = variant(tool, { bytes: loadFixture("fs-open"), grants: [{ kind: "fs.write", hostPath: dir, mount: "/work" } satisfies Grant] });
      await assert.rejects(openProbeSession(runtime, "reader", [writer]), (e: Error & { code?: string }) => e.code === "ERR_GRANT_UNCAPPED");
      const refused = audit.recordsAfter(0).filter((x) => x.type === "session.refused");
      assert.deepEqual(refused.map((x) => [x["enforcer"], x["code"]]), [["disk-quota", "ERR_GRANT_UNCAPPED"]]);
      assert.deepEqual(readdirSync(dir), []);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("shows a guest only the env grants' literal values, never the host's environment", async () => {
    const { runtime, tool } = await setup();
    process.env["CORDON_TEST_CANARY"] = "canary-d41d8cd9";
    try {
      const reader = variant(tool, { bytes: loadFixture("env-read"), grants: [{ kind: "env", name: "GREETING", value: "hello" }] });
      const session = await openProbeSession(runtime, "reader", [reader]);
      const r = await session.call("tool", {});
      assert.ok(r.ok, JSON.stringify(r));
      assert.deepEqual(r.output, { GREETING: "hello" });
    } finally {
      delete process.env["CORDON_TEST_CANARY"];
    }
  });

  it("reports a guest trap with the guest's function name (trap fixture)", async () => {
    const { runtime, tool } = await setup();
    const session = await openProbeSession(runtime, "reader", [variant(tool, { bytes: loadFixture("trap") })]);
    const r = await session.call("tool", {});
    assert.ok(!r.ok && r.error.code === "ERR_GUEST_TRAP");
    assert.ok(!r.ok && JSON.stringify(r.error.fields()).includes("explode"), !r.ok ? JSON.stringify(r.error.fields()) : "");
  });

  it("drops a reactor instance that trapped and serves the next call from a fresh one (reactor-bad fixture)", async () => {
    const { runtime, tool } = await setup();
    const session = await openProbeSession(runtime, "reader", [variant(tool, { bytes: loadFixture("reactor-bad"), abi: "reactor" })]);
    const first = await session.call("tool", {});
    const second = await session.call("tool", {});
    const third = await session.call("tool", {});
    assert.deepEqual(first.ok && first.output, { call: 1 });
    assert.equal(!second.ok && second.error.code, "ERR_GUEST_TRAP");
    assert.deepEqual(third.ok && third.output, { call: 1 });
  });

  it("denies an unknown role and a tool of another role with one audit record each", async () => {
    const { runtime, audit } = await setup();
    await assert.rejects(runtime.openSession("admin"), (e: Error & { code?: string }) => e.code === "ERR_ROLE_NOT_FOUND");
    const session = await runtime.openSession("nobody");
    const before = audit.head?.seq ?? 0;
    const r = await session.call("tool", {});
    assert.equal(!r.ok && r.error.code, "ERR_TOOL_NOT_FOUND");
    const recs = audit.recordsAfter(before);
    assert.equal(recs.length, 1);
    assert.equal(recs[0]?.["enforcer"], "role-toolset");
    assert.deepEqual(session.toolNames(), []);
  });

  it("refuses, and audits, a session whose module bytes do not match the policy digest", async () => {
    const { runtime, audit, tool } = await setup();
    const bytes = new Uint8Array(tool.moduleBytes);
    bytes[bytes.length - 1] = (bytes[bytes.length - 1] ?? 0) ^ 1;
    await assert.rejects(openProbeSession(runtime, "reader", [variant(tool, { bytes, keepDigest: true })]), (e: Error & { code?: string }) => e.code === "ERR_ARTIFACT_DIGEST_MISMATCH");
    assert.equal(audit.recordsAfter(0).at(-1)?.["enforcer"], "module-digest");
  });
  it("refuses input too deep to encode with a typed error and one record, never a crash", async () => {
    const { runtime, audit } = await setup();
    const session = await runtime.openSession("reader");
    let deep: Json = [];
    for (let i = 0; i < 200_000; i++) deep = [deep];
    const before = audit.head?.seq ?? 0;
    const r = await session.call("tool", { deep });
    assert.equal(r.ok ? "ok" : r.error.code, "ERR_INPUT_INVALID");
    const recs = audit.recordsAfter(before);
    assert.deepEqual(recs.map((x) => [x.type, x.enforcer]), [["call.denied", "input-schema"]]);
    await runtime.close();
  });
});
