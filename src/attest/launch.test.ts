import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { AuditLog } from "../audit/index.js";
import { EXAMPLE_POLICY } from "../config/defaults.js";
import { loadPolicy } from "../policy/load-policy.js";
import { Runtime } from "../runtime/runtime.js";
import { checkLaunch } from "./launch-format.js";
import { newLaunchKey, signLaunch } from "./launch-statement.js";

const MODULES = new Map([
  ["a", "1".repeat(64)],
  ["b", "2".repeat(64)],
]);

function signed(overrides: { cellId?: string; session?: string; subject?: Array<{ name: string; digest: { sha256: string } }> } = {}, key = newLaunchKey()) {
  const subject = overrides.subject ?? [...MODULES].map(([name, sha256]) => ({ name, digest: { sha256 } }));
  const s = signLaunch(subject, {
    cellId: overrides.cellId ?? "cell-1",
    session: overrides.session ?? "session-1",
    principalDigest: "p".repeat(64),
    role: "r",
    policySha256: "0".repeat(64),
    tier: "cell",
    granularity: "per-session",
    limits: {},
    scripts: [],
    runtimeLockSha256: null,
    launchedAt: "2026-01-01T00:00:00.000Z",
  }, key);
  return { ...s, key };
}

const EXPECT = { cellId: "cell-1", session: "session-1", modules: MODULES };

describe("launch statements", () => {
  it("hold for the cell, the session and the exact modules they name", () => {
    const s = signed();
    assert.equal(checkLaunch(s.envelope, s.key.publicKey, EXPECT), null);
  });

  it("are refused for another cell, another session, other bytes, other keys, or a missing module", () => {
    const s = signed();
    assert.match(checkLaunch(s.envelope, s.key.publicKey, { ...EXPECT, cellId: "cell-2" }) ?? "", /another cell/);
    assert.match(checkLaunch(s.envelope, s.key.publicKey, { ...EXPECT, session: "session-2" }) ?? "", /another session/);
    assert.match(checkLaunch(s.envelope, s.key.publicKey, { ...EXPECT, modules: new Map([["a", "1".repeat(64)], ["b", "3".repeat(64)]]) }) ?? "", /module b/);
    assert.match(checkLaunch(s.envelope, s.key.publicKey, { ...EXPECT, modules: new Map([["a", "1".repeat(64)]]) }) ?? "", /other modules/);
    assert.match(checkLaunch(s.envelope, newLaunchKey().publicKey, EXPECT) ?? "", /not signed/);
    const dup = signed({ subject: [{ name: "a", digest: { sha256: "1".repeat(64) } }, { name: "a", digest: { sha256: "1".repeat(64) } }] });
    assert.match(checkLaunch(dup.envelope, dup.key.publicKey, EXPECT) ?? "", /malformed/);
    for (const junk of ["", "null", "[]", "{\"payloadType\":1}", "{\"payloadType\":\"application/vnd.in-toto+json\",\"payload\":\"!!\",\"signatures\":[]}"]) {
      assert.notEqual(checkLaunch(junk, s.key.publicKey, EXPECT), null, junk);
    }
  });

  it("are refused after any single flipped bit in the envelope's payload or signature", () => {
    const s = signed();
    const env = JSON.parse(s.envelope) as { payload: string; signatures: Array<{ sig: string; keyid: string }> };
    const payload = Buffer.from(env.payload, "base64");
    const sig = Buffer.from(env.signatures[0]?.sig ?? "", "base64");
    fc.assert(
      fc.property(fc.boolean(), fc.nat(), fc.integer({ min: 0, max: 7 }), (inPayload, at, bit) => {
        const p = Buffer.from(payload);
        const g = Buffer.from(sig);
        if (inPayload) p[at % p.length] = (p[at % p.length] ?? 0) ^ (1 << bit);
        else g[at % g.length] = (g[at % g.length] ?? 0) ^ (1 << bit);
        const tampered = JSON.stringify({ ...env, payload: p.toString("base64"), signatures: [{ keyid: env.signatures[0]?.keyid, sig: g.toString("base64") }] });
        return checkLaunch(tampered, s.key.publicKey, EXPECT) !== null;
      }),
      { numRuns: 300 },
    );
  });

  it("stamp their digest on every record of the session, and the cell checks them (live)", async () => {
    const audit = AuditLog.memory();
    const runtime = await Runtime.start({ policy: loadPolicy(EXAMPLE_POLICY), audit, isolation: "cell" });
    try {
      const session = await runtime.openSession("analyst");
      assert.ok((await session.call("text-stats", { text: "hello" })).ok);
      await runtime.closeSession(session);
      const mine = audit.recordsAfter(0).filter((r) => r["session"] === session.id);
      const attested = mine.find((r) => r.type === "session.attested");
      assert.equal(attested?.["verifiedBy"], "cell");
      assert.ok(mine.length >= 5);
      for (const r of mine) assert.equal(r["launch"], attested?.["launch"], `${r.type} carries the launch digest`);
    } finally {
      await runtime.close();
    }
  });
});
