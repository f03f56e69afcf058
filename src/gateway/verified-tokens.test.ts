import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Principal } from "../authn/principal.js";
import { rememberVerified } from "./verified-tokens.js";

const T0 = 1_800_000_000_000;

function principalFor(token: string, expiresAt = T0 / 1000 + 3600): Principal {
  return { subject: `sub-${token}`, role: "analyst", tenant: null, issuer: "https://issuer.test", tokenDigest: token.slice(0, 16), expiresAt };
}

/** A verifier that accepts tokens starting with "good" and counts how often it is asked. */
function counting(expiresAt?: number) {
  const asked: string[] = [];
  const verifier = (token: string): Promise<Principal> => {
    asked.push(token);
    return token.startsWith("good") ? Promise.resolve(principalFor(token, expiresAt)) : Promise.reject(new Error("refused"));
  };
  return { asked, verifier };
}

describe("rememberVerified", () => {
  it("reuses an acceptance within the window, then verifies again", async () => {
    let now = T0;
    const { asked, verifier } = counting();
    const v = rememberVerified(verifier, { ttlMs: 10_000, now: () => now });
    const first = await v("good-a");
    now += 9_999;
    assert.deepEqual(await v("good-a"), first);
    assert.equal(asked.length, 1);
    now += 1;
    await v("good-a");
    assert.equal(asked.length, 2);
  });

  it("never outlives the token's expiry", async () => {
    let now = T0;
    const { asked, verifier } = counting(T0 / 1000 + 2);
    const v = rememberVerified(verifier, { ttlMs: 60_000, now: () => now });
    await v("good-short");
    now += 1_999;
    await v("good-short");
    assert.equal(asked.length, 1);
    now += 1;
    await v("good-short");
    assert.equal(asked.length, 2);
  });

  it("never remembers a refusal: every bad token is verified (and refused) every time", async () => {
    const { asked, verifier } = counting();
    const v = rememberVerified(verifier, { now: () => T0 });
    for (let i = 0; i < 3; i++) await assert.rejects(v("bad-token"), /refused/);
    assert.equal(asked.length, 3);
  });

  it("keys by the whole token: a token differing in one character is verified on its own", async () => {
    const { asked, verifier } = counting();
    const v = rememberVerified(verifier, { now: () => T0 });
    assert.equal((await v("good-x1")).subject, "sub-good-x1");
    assert.equal((await v("good-x2")).subject, "sub-good-x2");
    await assert.rejects(v("bad-x1"), /refused/);
    assert.deepEqual(asked, ["good-x1", "good-x2", "bad-x1"]);
  });

  it("keeps at most maxEntries, dropping the oldest", async () => {
    const { asked, verifier } = counting();
    const v = rememberVerified(verifier, { maxEntries: 2, now: () => T0 });
    for (const t of ["good-1", "good-2", "good-3", "good-3", "good-2", "good-1"]) await v(t);
    assert.deepEqual(asked, ["good-1", "good-2", "good-3", "good-1"]);
  });

  it("with ttlMs 0 is the verifier itself", () => {
    const { verifier } = counting();
    assert.equal(rememberVerified(verifier, { ttlMs: 0 }), verifier);
  });
});
