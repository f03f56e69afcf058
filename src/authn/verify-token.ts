// Verifies a caller's bearer token (a JWT access token) against the signed trust bundle, with
// jose configured strictly. Before jose sees the token, cordon refuses what must never reach a
// key lookup: an oversized token, a non-canonical encoding, `alg` none or HMAC or anything off
// the allowlist, any `crit`, any protected header parameter besides alg, typ and kid (`jku`,
// `x5u`, `x5c`, `jwk`, `b64`, `zip`, unknown names), a kid that is not a short plain name, an
// issuer the bundle does not list. The key always comes from that issuer's JWKS in the bundle
// and nothing is ever fetched. After jose's checks, the token's lifetime is capped: `exp - iat`
// and `exp - now` at most the issuer's maximum age (plus skew for the latter), every time claim
// a safe integer. Errors carry a short digest of the token, never the token.
import { createHash } from "node:crypto";
import { createLocalJWKSet, errors as jose, jwtVerify, type JWTPayload, type JWTVerifyGetKey, type JWTVerifyOptions } from "jose";
import { AlgorithmRefused, AudienceMismatch, ClaimInvalid, CritUnsupported, HeaderRefused, IssuerUnknown, KeyUnknown, RoleUnknown, TokenExpired, TokenLifetimeExcessive, TokenMalformed, TokenNotYetValid, TokenSignatureInvalid, TokenTooLarge, TokenTooOld, TypeMismatch, type AuthnError, type TokenPart } from "./errors.js";
import type { Principal, TokenVerifier } from "./principal.js";
import { KID_PATTERN, TOKEN_ALGORITHMS, type IssuerTrust, type TokenAlgorithm, type TrustBundle } from "../artifacts/trust-bundle.js";

/** A bearer token larger than this is refused before it is parsed. */
export const MAX_TOKEN_BYTES = 8 * 1024;
const B64URL = /^[A-Za-z0-9_-]+$/;
const MAX_CLAIM_CHARS = 256;
const MAX_TYP_CHARS = 64;

/**
 * The only protected header parameters a token may carry. Everything else is refused, not
 * ignored: a parameter cordon does not read (b64, zip, jku, x5u, x5c, x5t, jwk, ...) can only
 * mean that the token was made for a verifier that reads it differently.
 */
export const HEADER_PARAMETERS: readonly string[] = Object.freeze(["alg", "typ", "kid"]);
const HEADER_ALLOWED: ReadonlySet<string> = new Set(HEADER_PARAMETERS);

export interface TokenVerifierOptions {
  /** The roles of the policy: a token naming any other role is refused. */
  readonly roles: ReadonlySet<string>;
  /** The clock, in milliseconds since the epoch. */
  readonly now?: () => number;
  readonly maxTokenBytes?: number;
}

/** sha256 of the token, first 16 hex: the only trace of a token that is ever logged. */
export function tokenDigest(token: string): string {
  return createHash("sha256").update(token, "utf8").digest("hex").slice(0, 16);
}

type Json = Record<string, unknown>;

function shorten(value: unknown, max = 128): string | null {
  return typeof value === "string" ? value.slice(0, max) : null;
}

function decodeSegment(segment: string, part: TokenPart, digest: string, json: boolean): Json | Buffer {
  if (!B64URL.test(segment)) throw new TokenMalformed(digest, part, "not base64url");
  const bytes = Buffer.from(segment, "base64url");
  if (bytes.toString("base64url") !== segment) throw new TokenMalformed(digest, part, "not canonical base64url");
  if (!json) return bytes;
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch {
    throw new TokenMalformed(digest, part, "not UTF-8 JSON");
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new TokenMalformed(digest, part, "not a JSON object");
  return value as Json;
}

interface Checked {
  readonly header: Json;
  readonly payload: Json;
  readonly issuer: PreparedIssuer;
  readonly alg: TokenAlgorithm;
}

interface PreparedIssuer {
  readonly trust: IssuerTrust;
  readonly keys: JWTVerifyGetKey;
}

/** Everything refused before a key is looked up. Pure. */
function precheck(token: string, digest: string, issuers: ReadonlyMap<string, PreparedIssuer>, maxBytes: number): Checked {
  const bytes = Buffer.byteLength(token, "utf8");
  if (bytes > maxBytes) throw new TokenTooLarge(digest, bytes, maxBytes);
  const parts = token.split(".");
  if (parts.length !== 3) throw new TokenMalformed(digest, "structure", "not three dot-separated parts (a JWE or JSON serialisation is refused)");
  const [h, p, s] = parts as [string, string, string];
  const header = decodeSegment(h, "header", digest, true) as Json;
  const alg = header["alg"];
  if (typeof alg !== "string" || !(TOKEN_ALGORITHMS as readonly string[]).includes(alg)) {
    throw new AlgorithmRefused(digest, shorten(alg, 32), TOKEN_ALGORITHMS);
  }
  if (header["crit"] !== undefined) {
    const crit = Array.isArray(header["crit"]) ? header["crit"].map((c) => String(c).slice(0, 32)).slice(0, 8) : ["(not an array)"];
    throw new CritUnsupported(digest, crit);
  }
  const refused = Object.keys(header).filter((name) => !HEADER_ALLOWED.has(name));
  if (refused.length > 0) throw new HeaderRefused(digest, refused.slice(0, 8).map((name) => name.slice(0, 32)), HEADER_PARAMETERS);
  const kid = header["kid"];
  if (kid !== undefined && (typeof kid !== "string" || !KID_PATTERN.test(kid))) throw new TokenMalformed(digest, "kid", "kid must match [A-Za-z0-9._-]{1,128}");
  const typ = header["typ"];
  if (typ !== undefined && (typeof typ !== "string" || typ.length > MAX_TYP_CHARS)) throw new TokenMalformed(digest, "header", `typ must be a string of at most ${MAX_TYP_CHARS} characters`);
  const payload = decodeSegment(p, "payload", digest, true) as Json;
  const iss = payload["iss"];
  const issuer = typeof iss === "string" ? issuers.get(iss) : undefined;
  if (issuer === undefined) throw new IssuerUnknown(digest, shorten(iss));
  if (!(issuer.trust.algorithms as readonly string[]).includes(alg)) throw new AlgorithmRefused(digest, alg, issuer.trust.algorithms);
  decodeSegment(s, "signature", digest, false);
  return { header, payload, issuer, alg: alg as TokenAlgorithm };
}

function numberClaim(payload: Json, claim: string): number | null {
  const v = payload[claim];
  return typeof v === "number" && Number.isFinite(v) ? v : null;
}

/** Maps jose's failures onto cordon's codes. Anything unrecognised is still a refusal. */
function refusal(err: unknown, digest: string, c: Checked): AuthnError {
  const { trust } = c.issuer;
  const kid = shorten(c.header["kid"]);
  if (err instanceof jose.JWTExpired) {
    return err.claim === "iat" ? new TokenTooOld(digest, numberClaim(c.payload, "iat"), trust.maxTokenAgeSec) : new TokenExpired(digest, numberClaim(c.payload, "exp"));
  }
  if (err instanceof jose.JWTClaimValidationFailed) {
    const failed = err.reason === "check_failed";
    switch (err.claim) {
      case "aud":
        return new AudienceMismatch(digest, trust.audience);
      case "iss":
        return new IssuerUnknown(digest, shorten(c.payload["iss"]));
      case "typ":
        return new TypeMismatch(digest, shorten(c.header["typ"], 64), trust.requireTyp ?? "(any)");
      case "nbf":
        if (failed) return new TokenNotYetValid(digest, numberClaim(c.payload, "nbf"));
        break;
      case "iat":
        if (failed) return new ClaimInvalid(digest, "iat", "issued in the future");
        break;
      default:
        break;
    }
    return new ClaimInvalid(digest, err.claim.slice(0, 128), err.reason === "missing" ? "missing" : failed ? "check failed" : "wrong type");
  }
  if (err instanceof jose.JWSSignatureVerificationFailed) return new TokenSignatureInvalid(digest);
  if (err instanceof jose.JOSEAlgNotAllowed) return new AlgorithmRefused(digest, c.alg, trust.algorithms);
  if (err instanceof jose.JWKSNoMatchingKey) return new KeyUnknown(digest, kid, "no key of the issuer has this kid and algorithm");
  if (err instanceof jose.JWKSMultipleMatchingKeys) return new KeyUnknown(digest, kid, "several keys match; the token must name one by kid");
  if (err instanceof jose.JWKSInvalid || err instanceof jose.JWKInvalid) return new KeyUnknown(digest, kid, "the issuer's key cannot be used");
  if (err instanceof jose.JWSInvalid || err instanceof jose.JWTInvalid) return new TokenMalformed(digest, "structure", "not a valid JWS or JWT");
  return new TokenMalformed(digest, "unsupported", "the token could not be verified");
}

/**
 * The lifetime cap, on claims jose has already checked for type, expiry, nbf and age. The
 * issuer's maximum token age also bounds how long a token may live: a token valid for longer
 * than it may be old is refused whatever its iat, and so is one whose exp is further ahead of
 * now than that (plus the skew). Time claims must be safe integers (1e300 is not). Pure.
 */
export function checkLifetime(payload: Readonly<Record<string, unknown>>, trust: Pick<IssuerTrust, "maxTokenAgeSec" | "clockSkewSec">, nowSec: number, digest: string): void {
  const max = trust.maxTokenAgeSec;
  for (const claim of ["iat", "exp", "nbf"] as const) {
    const v = payload[claim];
    if (v !== undefined && !Number.isSafeInteger(v)) throw new TokenLifetimeExcessive(digest, claim, "not-a-safe-integer", max);
  }
  const exp = payload["exp"] as number;
  const iat = payload["iat"] as number;
  if (exp - iat > max) throw new TokenLifetimeExcessive(digest, "exp", "lifetime-over-max", max);
  if (exp - Math.floor(nowSec) > max + trust.clockSkewSec) throw new TokenLifetimeExcessive(digest, "exp", "exp-too-far", max);
}

function stringClaim(payload: JWTPayload, claim: string, digest: string): string {
  const v = payload[claim];
  if (typeof v !== "string" || v.length === 0 || v.length > MAX_CLAIM_CHARS) throw new ClaimInvalid(digest, claim, `must be a string of 1 to ${MAX_CLAIM_CHARS} characters`);
  return v;
}

/**
 * A verifier for the bundle's issuers. Each call checks one token and returns the Principal
 * it maps to, or throws an AuthnError (ERR_AUTHN_*).
 */
export function createTokenVerifier(bundle: Pick<TrustBundle, "issuers">, opts: TokenVerifierOptions): TokenVerifier {
  const issuers = new Map<string, PreparedIssuer>(
    bundle.issuers.map((trust) => [trust.issuer, { trust, keys: createLocalJWKSet({ keys: [...trust.jwks.keys] }) }]),
  );
  const now = opts.now ?? Date.now;
  const maxBytes = opts.maxTokenBytes ?? MAX_TOKEN_BYTES;
  const roles = new Set(opts.roles);
  return async (token: string): Promise<Principal> => {
    if (typeof token !== "string") throw new TokenMalformed(tokenDigest(""), "structure", "not a string");
    const digest = tokenDigest(token);
    const checked = precheck(token, digest, issuers, maxBytes);
    const { trust } = checked.issuer;
    const nowMs = now();
    const options: JWTVerifyOptions = {
      algorithms: [checked.alg],
      issuer: trust.issuer,
      audience: trust.audience,
      requiredClaims: ["exp", "iat", "sub", trust.roleClaim, ...(trust.tenantClaim === null ? [] : [trust.tenantClaim])],
      maxTokenAge: trust.maxTokenAgeSec,
      clockTolerance: trust.clockSkewSec,
      currentDate: new Date(nowMs),
      crit: {},
      ...(trust.requireTyp === null ? {} : { typ: trust.requireTyp }),
    };
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, checked.issuer.keys, options));
    } catch (err) {
      throw refusal(err, digest, checked);
    }
    // exp and iat are required claims: jose has refused a token without them or with non-numbers.
    checkLifetime(payload, trust, nowMs / 1000, digest);
    const subject = stringClaim(payload, "sub", digest);
    const role = stringClaim(payload, trust.roleClaim, digest);
    if (!roles.has(role)) throw new RoleUnknown(digest, role.slice(0, 64));
    const tenant = trust.tenantClaim === null ? null : stringClaim(payload, trust.tenantClaim, digest);
    const exp = payload.exp;
    if (typeof exp !== "number") throw new ClaimInvalid(digest, "exp", "missing");
    return Object.freeze({ subject, role, tenant, issuer: trust.issuer, tokenDigest: digest, expiresAt: exp });
  };
}
