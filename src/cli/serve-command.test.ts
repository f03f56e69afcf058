import assert from "node:assert/strict";
import { it } from "node:test";
import { EXAMPLE_POLICY } from "../config/defaults.js";
import { loadPolicy } from "../policy/load-policy.js";
import { parseListen, restrictToRole, serveCommand } from "./serve-command.js";
import { SessionTable, principalKey } from "../gateway/session-table.js";
import { describeWithCells } from "../testing/host.js";

describeWithCells("serve helpers", () => {
  it("parses HOST:PORT and refuses anything else", () => {
    assert.deepEqual(parseListen("127.0.0.1:8787"), { host: "127.0.0.1", port: 8787 });
    assert.deepEqual(parseListen("[::1]:0"), { host: "::1", port: 0 });
    for (const bad of ["8787", "127.0.0.1", "host:99999", "a b:1", "http://127.0.0.1:8787"]) assert.throws(() => parseListen(bad), { code: "ERR_USAGE" }, bad);
  });

  it("refuses a --max-connections-per-address that is not a positive integer before starting anything", async () => {
    const io = { out: () => undefined, err: () => undefined };
    for (const bad of ["0", "-1", "1.5", "many", ""]) {
      const opts = { policy: EXAMPLE_POLICY, audit: "/nonexistent/audit.jsonl", strict: true, isolation: "cell" as const, http: "127.0.0.1:0", stdio: false, maxConnectionsPerAddress: bad };
      await assert.rejects(serveCommand(opts, io), { code: "ERR_USAGE" }, bad);
    }
  });

  it("a one-role process holds that role and its tools only", () => {
    const policy = loadPolicy(EXAMPLE_POLICY);
    const analyst = restrictToRole(policy, "analyst");
    assert.deepEqual([...analyst.roles.keys()], ["analyst"]);
    assert.deepEqual([...analyst.tools.keys()].sort(), ["ask-model", "notes", "text-stats"]);
    assert.equal(restrictToRole(policy, "nobody"), policy);
  });

  it("caps sessions per principal and in total, counting reservations, and frees slots on take", () => {
    const t = new SessionTable<{ owner: string }>(2, 3);
    const a = principalKey({ issuer: "i", subject: "a", role: "r", tenant: null });
    const b = principalKey({ issuer: "i", subject: "b", role: "r", tenant: null });
    assert.equal(t.reserve(a), null);
    assert.equal(t.reserve(a), null);
    assert.equal(t.reserve(a)?.fields()["scope"], "principal");
    assert.equal(t.reserve(b), null);
    assert.equal(t.reserve(b)?.fields()["scope"], "gateway");
    t.bind("s1", { owner: a });
    assert.equal(t.take("s1")?.owner, a);
    assert.equal(t.take("s1"), undefined);
    assert.equal(t.held(a), 1);
    assert.notEqual(principalKey({ issuer: "i", subject: "a", role: "r", tenant: null }), principalKey({ issuer: "i", subject: "a", role: "r", tenant: "t" }));
  });
});
