// Probes of the token verifier (enforcer authn-token): each hands one hostile bearer token to
// the verifier this run serves with (built over the verified trust bundle), through the
// gateway's own `authenticateToken`, so the refusal is the real `authn.denied` record. Every
// token is otherwise well formed and current, so the check under attack is the one that fires;
// a refusal for any other reason does not count.
import { createPublicKey, randomUUID } from "node:crypto";
import { createServer, type Socket } from "node:net";
import type { AddressInfo } from "node:net";
import type { JWK } from "jose";
import { authenticateToken } from "../gateway/authenticate.js";
import type { IssuerTrust, TokenAlgorithm } from "../artifacts/trust-bundle.js";
import { attackerKey, forgeToken, type ForgedSigner } from "./forge-token.js";
import { requireTrust, trustedIssuerKey, type TrustedIssuerKey } from "./trust-keys.js";
import type { Probe, ProbeEnv, ProbeOutcome, TrustContext } from "./types.js";

const REFUSED_ALG = "ERR_AUTHN_ALGORITHM_REFUSED";
const BAD_SIGNATURE = "ERR_AUTHN_SIGNATURE_INVALID";
const MALFORMED = "ERR_AUTHN_TOKEN_MALFORMED";
const HEADER_REFUSED = "ERR_AUTHN_HEADER_REFUSED";
const LIFETIME = "ERR_AUTHN_TOKEN_LIFETIME";

type Json = Record<string, unknown>;

interface Scene {
  readonly trust: TrustContext;
  readonly issuer: IssuerTrust;
  /** The issuer's first listed key: the one an attacker names by kid. */
  readonly listed: JWK;
  readonly alg: TokenAlgorithm;
  readonly role: string;
  readonly nowSec: number;
}

function listedAlg(key: JWK, issuer: IssuerTrust): TokenAlgorithm {
  if (key.alg !== undefined && (issuer.algorithms as readonly string[]).includes(key.alg)) return key.alg as TokenAlgorithm;
  const byType: Record<string, TokenAlgorithm[]> = { OKP: ["EdDSA"], EC: ["ES256"], RSA: ["RS256", "PS256"] };
  return (byType[key.kty ?? ""] ?? []).find((a) => issuer.algorithms.includes(a)) ?? issuer.algorithms[0] ?? "EdDSA";
}

function scene(env: ProbeEnv): Scene | { unavailable: string } {
  const trust = requireTrust(env);
  const issuer = trust.bundle.issuers[0];
  const listed = issuer?.jwks.keys[0];
  if (issuer === undefined || listed === undefined) return { unavailable: "the trust bundle lists no token issuer (every token is refused)" };
  const role = [...env.runtime.policy.roles.keys()][0];
  if (role === undefined) throw new Error("the policy has no role");
  return { trust, issuer, listed, alg: listedAlg(listed, issuer), role, nowSec: Math.floor(Date.now() / 1000) };
}

/** Claims a real access token of this issuer would carry. */
function claims(s: Scene, subject = "prove-attacker"): Json {
  return {
    iss: s.issuer.issuer,
    aud: s.issuer.audience,
    sub: subject,
    client_id: "cordon-prove",
    [s.issuer.roleClaim]: s.role,
    ...(s.issuer.tenantClaim === null ? {} : { [s.issuer.tenantClaim]: "prove" }),
    iat: s.nowSec,
    exp: s.nowSec + 300,
    jti: randomUUID(),
  };
}

async function present(env: ProbeEnv, trust: TrustContext, token: string, expect: readonly string[]): Promise<ProbeOutcome> {
  const result = await authenticateToken(token, { verifier: trust.verifier, audit: { append: (e) => env.runtime.record(e) }, context: { transport: "prove" } });
  if (result.ok) return { stopped: false, detail: `ACCEPTED as ${result.principal.subject} (${result.principal.role})` };
  const stopped = expect.includes(result.code);
  return { stopped, detail: stopped ? `refused: ${result.code}` : `refused, but by another check: ${result.code} (expected ${expect.join(" or ")})` };
}

/** A token built from the scene by an attacker who holds no trusted key. */
function attack(expect: readonly string[], build: (s: Scene) => string): Probe {
  return async (env) => {
    const s = scene(env);
    if ("unavailable" in s) return { stopped: false, detail: s.unavailable, unavailable: s.unavailable };
    return present(env, s.trust, build(s), expect);
  };
}

function attackerSigner(s: Scene): ForgedSigner & { readonly jwk: JWK } {
  const { privateKey, publicKey } = attackerKey(s.alg);
  return { alg: s.alg, key: privateKey, jwk: publicKey.export({ format: "jwk" }) };
}

function trustedKid(s: Scene): Json {
  return s.listed.kid === undefined ? {} : { kid: s.listed.kid };
}

const AT = { typ: "at+jwt" } as const;

export const tokenForgedSignature = attack([BAD_SIGNATURE], (s) => forgeToken({ ...AT, ...trustedKid(s) }, claims(s), attackerSigner(s)));
export const tokenAlgNone = attack([REFUSED_ALG], (s) => forgeToken({ ...AT, ...trustedKid(s) }, claims(s), { alg: "none" }));
export const tokenAlgNoneCase = attack([REFUSED_ALG], (s) => forgeToken({ ...AT, ...trustedKid(s) }, claims(s), { alg: "None" }));
export const tokenHs256PublicKey = attack([REFUSED_ALG], (s) => {
  // The classic confusion: the issuer's public key, as PEM, used as an HMAC secret.
  const pem = createPublicKey({ key: s.listed, format: "jwk" }).export({ type: "spki", format: "pem" });
  return forgeToken({ ...AT, ...trustedKid(s) }, claims(s), { alg: "HS256", secret: Buffer.from(pem) });
});
/** The attacker's own public key embedded as `jwk`: refused as a header parameter, before any key lookup. */
export const tokenEmbeddedJwk = attack([HEADER_REFUSED], (s) => {
  const signer = attackerSigner(s);
  return forgeToken({ ...AT, ...trustedKid(s), jwk: signer.jwk }, claims(s), signer);
});
export const tokenKidPath = attack([MALFORMED], (s) => forgeToken({ ...AT, kid: "../../../../../../dev/null" }, claims(s), attackerSigner(s)));
export const tokenKidOversized = attack([MALFORMED], (s) => forgeToken({ ...AT, kid: "k".repeat(2048) }, claims(s), attackerSigner(s)));

/**
 * `jku` and `x5u` pointing at a loopback port that counts connections: refused as header
 * parameters, and nothing may connect.
 */
export const tokenJkuCanary: Probe = async (env) => {
  const s = scene(env);
  if ("unavailable" in s) return { stopped: false, detail: s.unavailable, unavailable: s.unavailable };
  let connections = 0;
  const sockets = new Set<Socket>();
  const canary = createServer((socket) => {
    connections += 1;
    sockets.add(socket);
    socket.destroy();
  });
  await new Promise<void>((resolve) => canary.listen(0, "127.0.0.1", resolve));
  try {
    const url = `http://127.0.0.1:${(canary.address() as AddressInfo).port}/jwks.json`;
    const signer = attackerSigner(s);
    const outcome = await present(env, s.trust, forgeToken({ ...AT, jku: url, x5u: url }, claims(s), signer), [HEADER_REFUSED]);
    // Any connection the verifier made would have been accepted before it could answer.
    await new Promise((resolve) => setImmediate(resolve));
    const stopped = outcome.stopped && connections === 0;
    return { stopped, detail: `${outcome.detail}; the canary at ${url} saw ${connections} connection(s)` };
  } finally {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => canary.close(resolve));
  }
};

/**
 * A token signed with a key the bundle trusts, valid except for what `tamper` changes. A
 * control token (the same, untampered) must verify first, or the probe shows nothing.
 */
function signedAttack(expect: readonly string[], tamper: (header: Json, payload: Json, s: Scene) => void): Probe {
  return async (env) => {
    const s = scene(env);
    if ("unavailable" in s) return { stopped: false, detail: s.unavailable, unavailable: s.unavailable };
    const found = await trustedIssuerKey(s.trust);
    if (!found.ok) return { stopped: false, detail: found.unavailable, unavailable: found.unavailable };
    const key: TrustedIssuerKey = found.value;
    const signed: Scene = { ...s, issuer: key.issuer };
    const signer: ForgedSigner = { alg: key.alg, key: key.privateKey };
    const header: Json = { typ: "at+jwt", ...(key.kid === undefined ? {} : { kid: key.kid }) };
    try {
      // The verifier is called directly here: a valid token leaves no record.
      await s.trust.verifier(forgeToken(header, claims(signed), signer));
    } catch (err) {
      return { stopped: false, detail: `the untampered control token was refused (${(err as { code?: string }).code ?? "error"}): nothing is shown` };
    }
    const payload = claims(signed);
    tamper(header, payload, signed);
    return present(env, s.trust, forgeToken(header, payload, signer), expect);
  };
}

export const tokenWrongIss = signedAttack(["ERR_AUTHN_ISSUER_UNKNOWN"], (_h, p) => {
  p["iss"] = "https://attacker.example";
});
export const tokenWrongAud = signedAttack(["ERR_AUTHN_AUDIENCE_MISMATCH"], (_h, p) => {
  p["aud"] = "https://attacker.example/mcp";
});
export const tokenExpired = signedAttack(["ERR_AUTHN_TOKEN_EXPIRED"], (_h, p, s) => {
  const exp = s.nowSec - s.issuer.clockSkewSec - 60;
  p["exp"] = exp;
  p["iat"] = exp - 120;
});
export const tokenNbfFuture = signedAttack(["ERR_AUTHN_TOKEN_NOT_YET_VALID"], (_h, p, s) => {
  const nbf = s.nowSec + s.issuer.clockSkewSec + 600;
  p["nbf"] = nbf;
  p["exp"] = nbf + 300;
});
/** An OpenID Connect ID token for this audience: typ JWT, with nonce and auth_time. */
export const tokenIdToken = signedAttack(["ERR_AUTHN_TYPE_MISMATCH"], (h, p, s) => {
  h["typ"] = "JWT";
  p["nonce"] = randomUUID();
  p["auth_time"] = s.nowSec - 30;
  p["azp"] = "cordon-prove";
  delete p["client_id"];
});

/** Signed by the trusted issuer with a fresh iat, but valid for twice the issuer's maximum age. */
export const tokenLifetimeExcessive = signedAttack([LIFETIME], (_h, p, s) => {
  p["iat"] = s.nowSec;
  p["exp"] = s.nowSec + 2 * s.issuer.maxTokenAgeSec;
});
/** Signed by the trusted issuer with a fresh iat and exp = 1e300 (not a safe integer, and forever). */
export const tokenExpHuge = signedAttack([LIFETIME], (_h, p, s) => {
  p["iat"] = s.nowSec;
  p["exp"] = 1e300;
});
