import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { AuditLog } from "../audit/index.js";
import { authenticate, bearerChallenge, bearerToken } from "./authenticate.js";
import { tokenDigest as digestToken } from "../authn/verify-token.js";
import { TokenSignatureInvalid } from "../authn/errors.js";

const principal = { subject: "s", role: "analyst", tenant: null, issuer: "https://i", tokenDigest: "d", expiresAt: 1 };

describe("authenticate", () => {
  it("parses exactly one Bearer token from the header", () => {
    assert.deepEqual(bearerToken("Bearer abc.def.ghi"), { token: "abc.def.ghi" });
    assert.deepEqual(bearerToken("bearer   abc"), { token: "abc" });
    for (const [h, reason] of [[undefined, "absent"], ["Basic abc", "not-bearer"], ["Bearer", "not-bearer"], ["Bearer ", "empty"], ["Bearer a b", "not-bearer"], [["Bearer a", "Bearer b"], "repeated"], [`Bearer ${"a".repeat(20_000)}`, "unreadable"]] as const) {
      const r = bearerToken(h);
      assert.ok("missing" in r, String(h).slice(0, 20));
      assert.equal(r.missing.reason, reason);
    }
  });

  it("records exactly one authn.denied per refusal, with the digest and never the token", async () => {
    const audit = AuditLog.memory();
    const token = "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ4In0.c2ln";
    const r = await authenticate(`Bearer ${token}`, { verifier: () => Promise.reject(new TokenSignatureInvalid(digestToken(token))), audit, context: { transport: "http" } });
    assert.equal(r.ok, false);
    const records = audit.recordsAfter(0);
    assert.equal(records.length, 1);
    assert.deepEqual([records[0]?.type, records[0]?.enforcer, records[0]?.code, records[0]?.["tokenDigest"]], ["authn.denied", "authn-token", "ERR_AUTHN_SIGNATURE_INVALID", digestToken(token)]);
    assert.ok(!JSON.stringify(records).includes(token));
  });

  it("fails closed when the verifier throws something that is not an authentication error", async () => {
    const audit = AuditLog.memory();
    const r = await authenticate("Bearer x", { verifier: () => Promise.reject(new TypeError("boom at /secret/path")), audit });
    assert.ok(!r.ok && r.code === "ERR_AUTHN_VERIFIER_FAILED");
    assert.ok(!JSON.stringify(audit.recordsAfter(0)).includes("secret"));
  });

  it("accepts what the verifier accepts and records nothing", async () => {
    const audit = AuditLog.memory();
    const r = await authenticate("Bearer x", { verifier: () => Promise.resolve(principal), audit });
    assert.ok(r.ok);
    assert.equal(audit.recordsAfter(0).length, 0);
  });

  it("challenges with resource_metadata, and invalid_token only when a token was given", () => {
    assert.equal(bearerChallenge("http://h/.well-known/oauth-protected-resource"), 'Bearer resource_metadata="http://h/.well-known/oauth-protected-resource"');
    assert.equal(bearerChallenge("http://m", { code: "ERR_AUTHN_X", tokenGiven: true }), 'Bearer error="invalid_token", error_description="ERR_AUTHN_X", resource_metadata="http://m"');
  });

  it("property: the digest is 16 hex characters and never contains the token", () => {
    fc.assert(fc.property(fc.string({ minLength: 17 }), (t) => {
      const d = digestToken(t);
      assert.match(d, /^[0-9a-f]{16}$/);
      assert.ok(!d.includes(t));
    }));
  });
});
