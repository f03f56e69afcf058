// The negative corpus: every attack and claim boundary of issue 4 §4/§8, generated here with a
// frozen clock, each refused with its own stable code and a digest (never the token) in fields.
import assert from "node:assert/strict";
import { constants, createHmac, sign, type KeyObject } from "node:crypto";
import { createServer } from "node:net";
import { describe, it } from "node:test";
import fc from "fast-check";
import { errors as joseErrors, jwtVerify } from "jose";
import { bundleDocument, testIssuer, TEST_AUDIENCE, TEST_ISSUER, type TestIssuer } from "../testing/bundle-fixture.js";
import { AuditLog } from "../audit/index.js";
import { authnDeniedEvent } from "./authn-event.js";
import { AuthnError } from "./errors.js";
import { mintToken, publicJwk } from "./mint-token.js";
import type { TokenVerifier } from "./principal.js";
import { parseTrustBundle, type TokenAlgorithm, type TrustBundleDocument } from "../artifacts/trust-bundle.js";
import { checkLifetime, createTokenVerifier, MAX_TOKEN_BYTES, tokenDigest } from "./verify-token.js";

const NOW_MS = 1_750_000_000_000;
const NOW = NOW_MS / 1000;
const SKEW = 60;
const MAX_AGE = 3600;
const ROLES = new Set(["analyst", "operator"]);

type Obj = Record<string, unknown>;

function b64(value: Obj | Buffer): string {
  return (Buffer.isBuffer(value) ? value : Buffer.from(JSON.stringify(value))).toString("base64url");
}

function signWith(alg: string, key: KeyObject, input: Buffer): Buffer {
  switch (alg) {
    case "EdDSA":
      return sign(null, input, key);
    case "ES256":
      return sign("sha256", input, { key, dsaEncoding: "ieee-p1363" });
    case "RS256":
      return sign("sha256", input, key);
    case "PS256":
      return sign("sha256", input, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 });
    default:
      throw new Error(`test cannot sign ${alg}`);
  }
}

/** A compact JWS from any header and claims, signed by `key` with the algorithm `signAs`. */
function craft(header: Obj, claims: Obj, key: KeyObject, signAs = String(header["alg"])): string {
  const input = `${b64(header)}.${b64(claims)}`;
  return `${input}.${signWith(signAs, key, Buffer.from(input)).toString("base64url")}`;
}

function claims(over: Obj = {}): Obj {
  return { iss: TEST_ISSUER, aud: TEST_AUDIENCE, sub: "agent-7", role: "analyst", iat: NOW - 10, exp: NOW + 600, jti: "j1", ...over };
}

function header(issuer: TestIssuer, over: Obj = {}): Obj {
  return { alg: issuer.alg, typ: "at+jwt", kid: issuer.kid, ...over };
}

function without(o: Obj, ...keys: string[]): Obj {
  const copy = { ...o };
  for (const k of keys) delete copy[k];
  return copy;
}

function verifierFor(doc: TrustBundleDocument, now = NOW_MS): TokenVerifier {
  return createTokenVerifier(parseTrustBundle(Buffer.from(JSON.stringify(doc))), { roles: ROLES, now: () => now });
}

const AUDIT = AuditLog.memory();

async function refusal(verify: TokenVerifier, token: string, audited = true): Promise<AuthnError> {
  try {
    const p = await verify(token);
    assert.fail(`accepted: ${JSON.stringify(p)}`);
  } catch (err) {
    if (!(err instanceof AuthnError)) throw err;
    const fields = JSON.stringify(err.fields());
    assert.equal(err.fields()["tokenDigest"], tokenDigest(token));
    for (const part of token.split(".").filter((p) => p.length >= 16)) {
      assert.ok(!fields.includes(part) && !err.message.includes(part), "a token part leaked into the error");
    }
    if (audited) {
      const rec = await AUDIT.append(authnDeniedEvent(err));
      assert.equal(rec.code, err.code);
      assert.equal(rec["tokenDigest"], tokenDigest(token));
    }
    return err;
  }
}

async function expectCode(verify: TokenVerifier, token: string, code: string, label: string): Promise<AuthnError> {
  const err = await refusal(verify, token);
  assert.equal(err.code, code, `${label}: ${err.message}`);
  return err;
}

interface Setup {
  readonly ed: TestIssuer;
  readonly es: TestIssuer;
  readonly attacker: TestIssuer;
  readonly verify: TokenVerifier;
}

async function setup(): Promise<Setup> {
  const ed = await testIssuer("EdDSA");
  const es = await testIssuer("ES256");
  const attacker = await testIssuer("EdDSA");
  return { ed, es, attacker, verify: verifierFor(bundleDocument([ed, es], 1, { clockSkewSec: SKEW, maxTokenAgeSec: MAX_AGE })) };
}

describe("createTokenVerifier: accepted tokens", () => {
  it("maps a valid EdDSA, ES256, RS256 and PS256 token to a Principal", async () => {
    for (const alg of ["EdDSA", "ES256", "RS256"] as const satisfies readonly TokenAlgorithm[]) {
      const issuer = await testIssuer(alg);
      const verify = verifierFor(bundleDocument([issuer]));
      const token = craft(header(issuer), claims(), issuer.privateKey);
      assert.deepEqual(await verify(token), { subject: "agent-7", role: "analyst", tenant: null, issuer: TEST_ISSUER, tokenDigest: tokenDigest(token), expiresAt: NOW + 600 });
    }
    const rsa = await testIssuer("RS256");
    const verify = verifierFor(bundleDocument([rsa], 1, { algorithms: ["RS256", "PS256"], jwks: { keys: [{ ...rsa.jwk, alg: undefined }] as Obj[] } }));
    assert.equal((await verify(craft(header(rsa, { alg: "PS256" }), claims({ role: "operator" }), rsa.privateKey))).role, "operator");
    const minted = await mintToken({ privateKey: rsa.privateKey, issuer: TEST_ISSUER, audience: TEST_AUDIENCE, subject: "s", role: "operator", ttlSec: 60, now: () => NOW_MS });
    assert.equal((await verify(minted)).subject, "s");
    // A PKCS#1 v1.5 signature labelled PS256 is not a PSS signature.
    await expectCode(verify, craft(header(rsa, { alg: "PS256" }), claims(), rsa.privateKey, "RS256"), "ERR_AUTHN_SIGNATURE_INVALID", "RS256 bytes labelled PS256");
  });

  it("mintToken output verifies, with the role and tenant from the configured claims", async () => {
    const ed = await testIssuer("EdDSA");
    const verify = verifierFor(bundleDocument([ed], 1, { roleClaim: "https://cordon.test/role", tenantClaim: "org" }));
    const token = await mintToken({
      privateKey: ed.privateKey, issuer: TEST_ISSUER, audience: TEST_AUDIENCE, subject: "ci-bot", role: "operator",
      roleClaim: "https://cordon.test/role", tenant: "acme", tenantClaim: "org", ttlSec: 300, now: () => NOW_MS,
    });
    const p = await verify(token);
    assert.deepEqual([p.subject, p.role, p.tenant, p.expiresAt], ["ci-bot", "operator", "acme", NOW + 300]);
    assert.equal((await publicJwk(ed.privateKey)).kid, ed.kid);
  });
});

describe("createTokenVerifier: negative corpus (frozen clock)", () => {
  it("refuses forged signatures, alg none/HMAC, embedded keys and algorithm confusion", async () => {
    const { ed, es, attacker, verify } = await setup();
    const good = craft(header(ed), claims(), ed.privateKey);
    const [h, p] = good.split(".") as [string, string, string];
    const forged = `${h}.${p}.${signWith("EdDSA", attacker.privateKey, Buffer.from(`${h}.${p}`)).toString("base64url")}`;
    await expectCode(verify, forged, "ERR_AUTHN_SIGNATURE_INVALID", "forged signature");
    for (const alg of ["none", "None", "NONE", "nOnE"]) {
      await expectCode(verify, `${b64(header(ed, { alg }))}.${b64(claims())}.`, "ERR_AUTHN_ALGORITHM_REFUSED", `alg ${alg}`);
    }
    const publicBytes: Array<[string, Buffer | string]> = [
      ["SPKI PEM", ed.publicKey.export({ type: "spki", format: "pem" })],
      ["SPKI DER", ed.publicKey.export({ type: "spki", format: "der" })],
      ["raw x", Buffer.from(String(ed.jwk.x), "base64url")],
      ["JWK JSON", JSON.stringify(ed.jwk)],
    ];
    for (const [label, secret] of publicBytes) {
      for (const alg of ["HS256", "HS384", "HS512", "hs256"]) {
        const input = `${b64(header(ed, { alg }))}.${b64(claims())}`;
        const token = `${input}.${createHmac("sha256", secret).update(input).digest("base64url")}`;
        const err = await expectCode(verify, token, "ERR_AUTHN_ALGORITHM_REFUSED", `${alg} with ${label}`);
        assert.equal(err.fields()["alg"], alg);
      }
    }
    const embedded = await publicJwk(attacker.publicKey);
    await expectCode(verify, craft(header(ed, { jwk: embedded }), claims(), attacker.privateKey), "ERR_AUTHN_HEADER_REFUSED", "embedded jwk, our kid");
    await expectCode(verify, craft(header(attacker, { jwk: embedded }), claims(), attacker.privateKey), "ERR_AUTHN_HEADER_REFUSED", "embedded jwk, its own kid");
    const both = await expectCode(verify, craft(without(header(ed, { jwk: embedded, x5c: ["MIIB"] }), "kid"), claims(), attacker.privateKey), "ERR_AUTHN_HEADER_REFUSED", "embedded jwk, no kid");
    assert.deepEqual(both.fields()["parameters"], ["jwk", "x5c"]);
    await expectCode(verify, craft(header(es, { alg: "EdDSA" }), claims(), attacker.privateKey), "ERR_AUTHN_KEY_UNKNOWN", "EdDSA token naming the P-256 key");
    const edOnly = verifierFor(bundleDocument([ed]));
    await expectCode(edOnly, craft(header(es), claims(), es.privateKey), "ERR_AUTHN_ALGORITHM_REFUSED", "ES256 for an EdDSA-only issuer");
    await expectCode(edOnly, `${b64(header(ed, { alg: "RS1" }))}.${b64(claims())}.AAAA`, "ERR_AUTHN_ALGORITHM_REFUSED", "unknown alg");
    await expectCode(edOnly, `${b64(without(header(ed), "alg"))}.${b64(claims())}.AAAA`, "ERR_AUTHN_ALGORITHM_REFUSED", "no alg");
  });

  it("takes keys only from the JWKS of the issuer the token names (no cross-issuer key use)", async () => {
    const { ed, attacker } = await setup();
    const doc = bundleDocument([ed]);
    const other = { ...(doc.issuers[0] as object), issuer: "https://other.test", jwks: { keys: [{ ...attacker.jwk }] } } as TrustBundleDocument["issuers"][number];
    const verify = verifierFor({ ...doc, issuers: [...doc.issuers, other] });
    assert.equal((await verify(craft(header(attacker), claims({ iss: "https://other.test" }), attacker.privateKey))).issuer, "https://other.test");
    await expectCode(verify, craft(header(attacker), claims(), attacker.privateKey), "ERR_AUTHN_KEY_UNKNOWN", "iss A, key of issuer B");
    await expectCode(verify, craft(header(ed), claims({ iss: "https://other.test" }), ed.privateKey), "ERR_AUTHN_KEY_UNKNOWN", "iss B, key of issuer A");
  });

  it("refuses path-like, oversized and non-string kids before any key lookup, and unknown kids after", async () => {
    const { ed, verify } = await setup();
    for (const kid of ["../../etc/passwd", "/dev/stdin", "a/b", "k id", "x".repeat(129), "", "%2e%2e", "kid\u0000"]) {
      const err = await expectCode(verify, craft(header(ed, { kid }), claims(), ed.privateKey), "ERR_AUTHN_TOKEN_MALFORMED", `kid ${JSON.stringify(kid)}`);
      assert.equal(err.fields()["part"], "kid");
    }
    await expectCode(verify, craft(header(ed, { kid: 7 }), claims(), ed.privateKey), "ERR_AUTHN_TOKEN_MALFORMED", "numeric kid");
    await expectCode(verify, craft(header(ed, { kid: "x".repeat(128) }), claims(), ed.privateKey), "ERR_AUTHN_KEY_UNKNOWN", "unknown 128-char kid");
  });

  it("refuses a wrong, missing or look-alike issuer and a wrong or missing audience", async () => {
    const { ed, verify } = await setup();
    for (const iss of ["https://evil.test", `${TEST_ISSUER}/`, TEST_ISSUER.toUpperCase(), ` ${TEST_ISSUER}`]) {
      await expectCode(verify, craft(header(ed), claims({ iss }), ed.privateKey), "ERR_AUTHN_ISSUER_UNKNOWN", `iss ${iss}`);
    }
    await expectCode(verify, craft(header(ed), without(claims(), "iss"), ed.privateKey), "ERR_AUTHN_ISSUER_UNKNOWN", "no iss");
    await expectCode(verify, craft(header(ed), claims({ iss: [TEST_ISSUER] }), ed.privateKey), "ERR_AUTHN_ISSUER_UNKNOWN", "iss array");
    for (const aud of ["https://other.test/mcp", `${TEST_AUDIENCE}/`, ["https://other.test"], []]) {
      await expectCode(verify, craft(header(ed), claims({ aud }), ed.privateKey), "ERR_AUTHN_AUDIENCE_MISMATCH", `aud ${JSON.stringify(aud)}`);
    }
    await expectCode(verify, craft(header(ed), without(claims(), "aud"), ed.privateKey), "ERR_AUTHN_AUDIENCE_MISMATCH", "no aud");
    assert.equal((await verify(craft(header(ed), claims({ aud: ["https://other.test", TEST_AUDIENCE] }), ed.privateKey))).role, "analyst");
  });

  it("honours exp, nbf and iat at their exact boundaries, with and without clock skew", async () => {
    const { ed, verify } = await setup();
    const t = (over: Obj) => craft(header(ed), claims(over), ed.privateKey);
    await expectCode(verify, t({ exp: NOW - 3600 }), "ERR_AUTHN_TOKEN_EXPIRED", "expired an hour ago");
    await expectCode(verify, t({ exp: NOW - SKEW }), "ERR_AUTHN_TOKEN_EXPIRED", "exactly at exp + skew");
    assert.ok(await verify(t({ exp: NOW - SKEW + 1 })), "one second inside the skew");
    assert.ok(await verify(t({ exp: NOW })), "exactly at exp, within skew");
    const noSkew = verifierFor(bundleDocument([ed], 1, { clockSkewSec: 0 }));
    await expectCode(noSkew, t({ exp: NOW }), "ERR_AUTHN_TOKEN_EXPIRED", "exactly at exp without skew");
    assert.ok(await noSkew(t({ exp: NOW + 1 })));

    await expectCode(verify, t({ nbf: NOW + SKEW + 1 }), "ERR_AUTHN_TOKEN_NOT_YET_VALID", "nbf beyond the skew");
    assert.ok(await verify(t({ nbf: NOW + SKEW })), "nbf at the edge of the skew");
    await expectCode(noSkew, t({ nbf: NOW + 1 }), "ERR_AUTHN_TOKEN_NOT_YET_VALID", "nbf one second ahead without skew");

    await expectCode(verify, t({ iat: NOW - MAX_AGE - SKEW - 1, exp: NOW + 600 }), "ERR_AUTHN_TOKEN_TOO_OLD", "iat beyond max age + skew");
    // At max age + skew a token can no longer be valid: its exp is past, or its lifetime over the cap.
    await expectCode(verify, t({ iat: NOW - MAX_AGE - SKEW, exp: NOW - SKEW }), "ERR_AUTHN_TOKEN_EXPIRED", "iat at max age + skew, exp at the cap");
    await expectCode(verify, t({ iat: NOW - MAX_AGE - SKEW, exp: NOW + 1 }), "ERR_AUTHN_TOKEN_LIFETIME", "iat at max age + skew, exp ahead");
    assert.ok(await verify(t({ iat: NOW - MAX_AGE + 1, exp: NOW + 1 })), "the oldest token that can still be valid");
    const future = await expectCode(verify, t({ iat: NOW + SKEW + 1 }), "ERR_AUTHN_CLAIM_INVALID", "iat in the future");
    assert.equal(future.fields()["claim"], "iat");
  });

  it("caps a token's lifetime at the issuer's maximum age: exp - iat, exp - now, and safe-integer time claims", async () => {
    const { ed, verify } = await setup();
    const t = (over: Obj) => craft(header(ed), claims(over), ed.privateKey);
    const lifetime = async (over: Obj, claim: string, reason: string, label: string) => {
      const err = await expectCode(verify, t(over), "ERR_AUTHN_TOKEN_LIFETIME", label);
      assert.deepEqual([err.fields()["claim"], err.fields()["reason"], err.fields()["maxLifetimeSec"]], [claim, reason, MAX_AGE], label);
    };
    // The attack run's two tokens: a fresh iat with exp two days (here: twice the maximum) ahead, and exp = 1e300.
    await lifetime({ iat: NOW, exp: NOW + 2 * MAX_AGE }, "exp", "lifetime-over-max", "exp = iat + 2 x max");
    await lifetime({ iat: NOW, exp: 1e300 }, "exp", "not-a-safe-integer", "exp = 1e300");
    await lifetime({ iat: NOW, exp: Number.MAX_SAFE_INTEGER }, "exp", "lifetime-over-max", "exp = MAX_SAFE_INTEGER");
    await lifetime({ iat: NOW, exp: NOW + 600.5 }, "exp", "not-a-safe-integer", "fractional exp");
    await lifetime({ iat: NOW - 10.25 }, "iat", "not-a-safe-integer", "fractional iat");
    await lifetime({ nbf: -1e300 }, "nbf", "not-a-safe-integer", "nbf = -1e300");
    await lifetime({ nbf: NOW - 0.5 }, "nbf", "not-a-safe-integer", "fractional nbf");
    // Boundaries: exactly the maximum is accepted, one second more is not.
    assert.ok(await verify(t({ iat: NOW - 100, exp: NOW - 100 + MAX_AGE })), "exp - iat = max");
    await lifetime({ iat: NOW - 100, exp: NOW - 100 + MAX_AGE + 1 }, "exp", "lifetime-over-max", "exp - iat = max + 1");
    assert.ok(await verify(t({ iat: NOW + SKEW, exp: NOW + SKEW + MAX_AGE })), "iat at the skew's edge, exp - now = max + skew");
    // Wrong types are still jose's claim errors, with their claim named.
    const typed = await expectCode(verify, t({ exp: "1e300" }), "ERR_AUTHN_CLAIM_INVALID", "exp as a string");
    assert.equal(typed.fields()["claim"], "exp");
  });

  it("checkLifetime: exp ahead of now by more than max + skew is refused on its own, whatever iat says", () => {
    const trust = { maxTokenAgeSec: MAX_AGE, clockSkewSec: SKEW };
    const digest = "0123456789abcdef";
    assert.doesNotThrow(() => checkLifetime({ iat: NOW + 500, exp: NOW + 500 + MAX_AGE - 500 + SKEW }, trust, NOW, digest));
    assert.throws(() => checkLifetime({ iat: NOW + 500, exp: NOW + MAX_AGE + SKEW + 1 }, trust, NOW, digest), (e: unknown) => e instanceof AuthnError && e.code === "ERR_AUTHN_TOKEN_LIFETIME" && e.fields()["reason"] === "exp-too-far");
    assert.doesNotThrow(() => checkLifetime({ iat: NOW, exp: NOW + MAX_AGE }, trust, NOW + 0.999, digest));
  });

  it("requires exp, iat, sub and the role claim, each of the right type", async () => {
    const { ed, verify } = await setup();
    const cases: Array<[Obj, string]> = [
      [without(claims(), "exp"), "exp"],
      [claims({ exp: String(NOW + 600) }), "exp"],
      [without(claims(), "iat"), "iat"],
      [without(claims(), "sub"), "sub"],
      [claims({ sub: "" }), "sub"],
      [without(claims(), "role"), "role"],
      [claims({ role: ["analyst"] }), "role"],
    ];
    for (const [c, claim] of cases) {
      const err = await expectCode(verify, craft(header(ed), c, ed.privateKey), "ERR_AUTHN_CLAIM_INVALID", `claim ${claim}`);
      assert.equal(err.fields()["claim"], claim);
    }
  });

  it("refuses an ID token (typ JWT or none) where an access token (at+jwt) is required", async () => {
    const { ed, verify } = await setup();
    await expectCode(verify, craft(header(ed, { typ: "JWT" }), claims(), ed.privateKey), "ERR_AUTHN_TYPE_MISMATCH", "typ JWT");
    await expectCode(verify, craft(without(header(ed), "typ"), claims(), ed.privateKey), "ERR_AUTHN_TYPE_MISMATCH", "no typ");
    assert.ok(await verify(craft(header(ed, { typ: "application/at+jwt" }), claims(), ed.privateKey)));
    const anyTyp = verifierFor(bundleDocument([ed], 1, { requireTyp: undefined }));
    assert.ok(await anyTyp(craft(header(ed, { typ: "JWT" }), claims(), ed.privateKey)));
  });

  it("refuses any crit header, including b64 and malformed ones; jose's own check agrees", async () => {
    const { ed, verify } = await setup();
    for (const extra of [{ crit: ["exp"], exp: NOW }, { crit: ["b64"], b64: false }, { crit: ["b64"], b64: true }, { crit: "b64" }, { crit: [] }]) {
      await expectCode(verify, craft(header(ed, extra), claims(), ed.privateKey), "ERR_AUTHN_CRIT_UNSUPPORTED", JSON.stringify(extra));
    }
    const token = craft(header(ed, { crit: ["urn:x"], "urn:x": 1 }), claims(), ed.privateKey);
    await assert.rejects(jwtVerify(token, ed.publicKey, { crit: {}, currentDate: new Date(NOW_MS) }), joseErrors.JOSENotSupported);
  });

  it("accepts only alg, typ and kid in the protected header: b64 without crit, jku, x5u, x5c, x5t, jwk, zip and unknown names are refused", async () => {
    const { ed, verify } = await setup();
    const ours = await publicJwk(ed.publicKey);
    const extras: Obj[] = [
      { b64: false }, { b64: true }, { jku: "https://attacker.example/jwks.json" }, { x5u: "https://attacker.example/c.pem" },
      { x5c: ["MIIB"] }, { x5t: "AAAA" }, { "x5t#S256": "AAAA" }, { jwk: ours }, { zip: "DEF" }, { cty: "JWT" },
      { enc: "A256GCM" }, { epk: {} }, { nonce: "n" }, { url: "https://x" }, { foo: 1 }, { ALG: "none" }, { Kid: ed.kid }, { "": 1 },
      JSON.parse('{"__proto__": {"alg": "none"}}') as Obj,
    ];
    for (const extra of extras) {
      // Signed by the trusted key, every claim valid: only the extra parameter is wrong.
      const err = await expectCode(verify, craft(header(ed, extra), claims(), ed.privateKey), "ERR_AUTHN_HEADER_REFUSED", JSON.stringify(extra));
      assert.deepEqual(err.fields()["parameters"], Object.keys(extra), JSON.stringify(extra));
      assert.deepEqual(err.fields()["allowed"], ["alg", "typ", "kid"]);
    }
    const many = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`p${i}-${"x".repeat(40)}`, i]));
    const capped = await expectCode(verify, craft(header(ed, many), claims(), ed.privateKey), "ERR_AUTHN_HEADER_REFUSED", "twenty long names");
    assert.equal((capped.fields()["parameters"] as string[]).length, 8);
    assert.ok((capped.fields()["parameters"] as string[]).every((p) => p.length <= 32));
    await expectCode(verify, craft(header(ed, { typ: 7 }), claims(), ed.privateKey), "ERR_AUTHN_TOKEN_MALFORMED", "numeric typ");
    assert.ok(await verify(craft(header(ed), claims(), ed.privateKey)), "alg, typ, kid only");
    assert.ok(await verify(craft(without(header(ed), "kid"), claims(), ed.privateKey)), "alg and typ only");
  });

  it("refuses a role the policy does not have", async () => {
    const { ed, verify } = await setup();
    const err = await expectCode(verify, craft(header(ed), claims({ role: "admin" }), ed.privateKey), "ERR_AUTHN_ROLE_UNKNOWN", "role admin");
    assert.equal(err.fields()["role"], "admin");
  });

  it("refuses an oversized token before parsing it, and malformed structures", async () => {
    const { ed, verify } = await setup();
    const big = craft(header(ed), claims({ pad: "x".repeat(MAX_TOKEN_BYTES) }), ed.privateKey);
    await expectCode(verify, big, "ERR_AUTHN_TOKEN_TOO_LARGE", "oversized");
    const good = craft(header(ed), claims(), ed.privateKey);
    const [h, p, s] = good.split(".") as [string, string, string];
    const malformed: Array<[string, string]> = [
      [`${h}.${p}`, "two parts"],
      [`${h}.${p}.${s}.${s}`, "four parts"],
      [`${h}.${p}.${s}.${s}.${s}`, "JWE-like five parts"],
      [`${h}.${p}.${s}=`, "padded signature"],
      [`${h}.${p}.${s.slice(0, -1)}+`, "base64 not base64url"],
      [`${b64(Buffer.from("not json"))}.${p}.${s}`, "header not JSON"],
      [`${b64(Buffer.from("[1]"))}.${p}.${s}`, "header an array"],
      [`${h}.${b64(Buffer.from("[]"))}.${s}`, "payload an array"],
      [`${h}.${b64(Buffer.from([0xff, 0xfe]))}.${s}`, "payload not UTF-8"],
      [` ${good}`, "leading space"],
      ["", "empty"],
    ];
    for (const [token, label] of malformed) await expectCode(verify, token, "ERR_AUTHN_TOKEN_MALFORMED", label);
    await expectCode(verify, `${h}.${p}.`, "ERR_AUTHN_TOKEN_MALFORMED", "empty signature");
  });

  it("refuses jku and x5u before any key lookup: nothing connects to a loopback canary", async () => {
    const { ed, attacker, verify } = await setup();
    let connections = 0;
    const canary = createServer((socket) => {
      connections++;
      socket.destroy();
    });
    await new Promise<void>((resolve) => canary.listen(0, "127.0.0.1", resolve));
    try {
      const { port } = canary.address() as { port: number };
      const urls = { jku: `http://127.0.0.1:${port}/jwks.json`, x5u: `http://127.0.0.1:${port}/cert.pem` };
      await expectCode(verify, craft(header(attacker, urls), claims(), attacker.privateKey), "ERR_AUTHN_HEADER_REFUSED", "jku to attacker keys");
      await expectCode(verify, craft(header(ed, urls), claims(), attacker.privateKey), "ERR_AUTHN_HEADER_REFUSED", "jku with our kid");
      await expectCode(verify, craft(header(ed, urls), claims(), ed.privateKey), "ERR_AUTHN_HEADER_REFUSED", "jku on a token our key signed");
      // Let any connection attempt made during verification reach the listener before counting.
      await new Promise<void>((resolve) => setImmediate(resolve));
      assert.equal(connections, 0);
    } finally {
      await new Promise<void>((resolve) => canary.close(() => resolve()));
    }
  });
});

describe("createTokenVerifier: property", () => {
  it("a single flipped bit anywhere in a valid token is never accepted", async () => {
    const { ed, es, verify } = await setup();
    const tokens = [craft(header(ed), claims(), ed.privateKey), craft(header(es), claims(), es.privateKey)];
    for (const t of tokens) assert.ok(await verify(t));
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: tokens.length - 1 }), fc.nat(), fc.nat({ max: 7 }), async (which, at, bit) => {
        const token = tokens[which] as string;
        const i = at % token.length;
        const flipped = token.slice(0, i) + String.fromCharCode(token.charCodeAt(i) ^ (1 << bit)) + token.slice(i + 1);
        await refusal(verify, flipped, false);
      }),
      { numRuns: 3000 },
    );
  });

  it("a token whose protected header has any parameter outside alg, typ, kid is never accepted, however it is signed", async () => {
    const { ed, verify } = await setup();
    const allowed = new Set(["alg", "typ", "kid"]);
    await fc.assert(
      fc.asyncProperty(
        fc.dictionary(fc.string({ maxLength: 12 }).filter((k) => !allowed.has(k)), fc.jsonValue({ maxDepth: 2 }), { minKeys: 1, maxKeys: 4 }),
        fc.boolean(),
        async (extra, dropKid) => {
          const h = { ...header(ed), ...extra };
          const token = craft(dropKid ? without(h, "kid") : h, claims(), ed.privateKey, "EdDSA");
          const err = await refusal(verify, token, false);
          assert.ok(["ERR_AUTHN_HEADER_REFUSED", "ERR_AUTHN_CRIT_UNSUPPORTED"].includes(err.code), err.code);
        },
      ),
      { numRuns: 500 },
    );
  });

  it("every single-bit flip of an EdDSA token, exhaustively, is refused (no non-canonical base64url twin)", async () => {
    const { ed, verify } = await setup();
    const token = craft(header(ed), claims(), ed.privateKey);
    let refused = 0;
    for (let i = 0; i < token.length; i++) {
      for (let bit = 0; bit < 8; bit++) {
        await refusal(verify, token.slice(0, i) + String.fromCharCode(token.charCodeAt(i) ^ (1 << bit)) + token.slice(i + 1), false);
        refused++;
      }
    }
    assert.equal(refused, token.length * 8);
  });
});

describe("tokenDigest", () => {
  it("is 16 hex characters and differs for different tokens", () => {
    const a = tokenDigest("a.b.c");
    assert.match(a, /^[0-9a-f]{16}$/);
    assert.notEqual(a, tokenDigest("a.b.d"));
  });
});
