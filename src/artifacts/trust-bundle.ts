// The trust bundle: a signed document saying whom cordon trusts. Token issuers (exact `iss`,
// this server's audience, an algorithm allowlist, public JWKS and claim rules), the Ed25519
// keys allowed to sign policies, modules and launch statements, and a version that only goes
// up. This file is the pure part: schema, cross-checks and signature check over bytes.
import { createPublicKey, type KeyObject } from "node:crypto";
import type { JWK } from "jose";
import { z } from "zod";
import { ed25519PublicKey, keyId, verifyEnvelope } from "../crypto/dsse.js";
import { SignatureInvalid } from "../crypto/errors.js"
import { TrustBundleInvalid, type BundleIssue } from "./errors.js";
import { sha256Hex } from "../crypto/digest.js";

export const TRUST_BUNDLE_PAYLOAD_TYPE = "application/vnd.cordon.trust-bundle+json";
export const TOKEN_ALGORITHMS = ["EdDSA", "ES256", "RS256", "PS256"] as const;
export type TokenAlgorithm = (typeof TOKEN_ALGORITHMS)[number];
/** What a `kid` may look like, in the bundle and in a token header. */
export const KID_PATTERN = /^[A-Za-z0-9._-]{1,128}$/;
export const MAX_CLOCK_SKEW_SEC = 300;
export const MAX_TOKEN_AGE_SEC = 86_400;

const CLAIM_NAME = /^[A-Za-z0-9_:./-]{1,128}$/;
const PRIVATE_MEMBERS = ["d", "p", "q", "dp", "dq", "qi", "oth", "k", "priv"];
const MEMBERS_BY_KTY: Readonly<Record<string, readonly string[]>> = {
  OKP: ["crv", "x"],
  EC: ["crv", "x", "y"],
  RSA: ["n", "e"],
};
const COMMON_MEMBERS = ["kty", "kid", "alg", "use", "key_ops"];

export interface IssuerTrust {
  /** Exact `iss`. */
  readonly issuer: string;
  /** This server's resource identifier: tokens must carry it in `aud`. */
  readonly audience: string;
  readonly algorithms: readonly TokenAlgorithm[];
  /** Public keys only (checked at load). */
  readonly jwks: { readonly keys: readonly JWK[] };
  readonly roleClaim: string;
  readonly tenantClaim: string | null;
  readonly requireTyp: "at+jwt" | null;
  readonly maxTokenAgeSec: number;
  readonly clockSkewSec: number;
}

export interface TrustBundle {
  readonly version: number;
  /** sha256 of the signed payload bytes, hex. */
  readonly sha256: string;
  readonly issuers: readonly IssuerTrust[];
  /** keyid → Ed25519 public key. */
  readonly policySigners: ReadonlyMap<string, KeyObject>;
  readonly moduleSigners: ReadonlyMap<string, KeyObject>;
  readonly launchSigners: ReadonlyMap<string, KeyObject>;
}

const signerSchema = z.object({ keyid: z.string().regex(/^[0-9a-f]{64}$/).optional(), pem: z.string().min(1).max(4096) }).strict();

const issuerSchema = z
  .object({
    issuer: z.string().min(1).max(512).regex(/^\S+$/, "must not contain whitespace"),
    audience: z.url().max(512),
    algorithms: z.array(z.enum(TOKEN_ALGORITHMS)).min(1).max(TOKEN_ALGORITHMS.length),
    jwks: z.object({ keys: z.array(z.record(z.string(), z.unknown())).min(1).max(64) }).strict(),
    roleClaim: z.string().regex(CLAIM_NAME).default("role"),
    tenantClaim: z.string().regex(CLAIM_NAME).optional(),
    requireTyp: z.literal("at+jwt").optional(),
    maxTokenAgeSec: z.number().int().min(1).max(MAX_TOKEN_AGE_SEC),
    clockSkewSec: z.number().int().min(0).max(MAX_CLOCK_SKEW_SEC),
  })
  .strict();

const bundleSchema = z
  .object({
    version: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
    issuers: z.array(issuerSchema).max(32),
    policySigners: z.array(signerSchema).max(64),
    moduleSigners: z.array(signerSchema).max(64),
    launchSigners: z.array(signerSchema).max(64).optional(),
  })
  .strict();

/** The input shape of a bundle (what `cordon trust init` signs). */
export type TrustBundleDocument = z.input<typeof bundleSchema>;

function jsonPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((acc, p) => (typeof p === "number" ? `${acc}[${p}]` : `${acc}.${String(p)}`), "$");
}

/** Algorithms a key of this type can verify. */
function algorithmsFor(jwk: Record<string, unknown>): readonly TokenAlgorithm[] {
  if (jwk["kty"] === "OKP" && jwk["crv"] === "Ed25519") return ["EdDSA"];
  if (jwk["kty"] === "EC" && jwk["crv"] === "P-256") return ["ES256"];
  if (jwk["kty"] === "RSA") return ["RS256", "PS256"];
  return [];
}

/** Checks one JWK: public, of a known type, usable with the issuer's algorithms. */
function checkJwk(jwk: Record<string, unknown>, path: string, algorithms: readonly TokenAlgorithm[], issues: BundleIssue[]): JWK | null {
  const before = issues.length;
  const problem = (p: string) => issues.push({ path, problem: p });
  for (const m of PRIVATE_MEMBERS) if (Object.hasOwn(jwk, m)) problem(`private key member '${m}' is refused: a bundle carries public keys only`);
  const kty = jwk["kty"];
  if (kty === "oct") problem("symmetric (oct) keys are refused: HMAC tokens are never accepted");
  else if (typeof kty !== "string" || !Object.hasOwn(MEMBERS_BY_KTY, kty)) problem("kty must be OKP, EC or RSA");
  if (issues.length > before) return null;
  const allowed = new Set([...COMMON_MEMBERS, ...(MEMBERS_BY_KTY[kty as string] ?? [])]);
  for (const m of Object.keys(jwk)) if (!allowed.has(m)) problem(`member '${m}' is not allowed in a ${String(kty)} public key`);
  const kid = jwk["kid"];
  if (kid !== undefined && (typeof kid !== "string" || !KID_PATTERN.test(kid))) problem("kid must match [A-Za-z0-9._-]{1,128}");
  if (jwk["use"] !== undefined && jwk["use"] !== "sig") problem("use must be 'sig'");
  const ops = jwk["key_ops"];
  if (ops !== undefined && !(Array.isArray(ops) && ops.length === 1 && ops[0] === "verify")) problem("key_ops must be ['verify']");
  const usable = algorithmsFor(jwk).filter((a) => algorithms.includes(a));
  if (usable.length === 0) problem(`no allowed algorithm (${algorithms.join(", ")}) uses this key; only Ed25519, P-256 and RSA keys are accepted`);
  const alg = jwk["alg"];
  if (alg !== undefined && !usable.includes(alg as TokenAlgorithm)) problem("alg is not an allowed algorithm for this key");
  if (issues.length > before) return null;
  let key: KeyObject;
  try {
    key = createPublicKey({ key: jwk as never, format: "jwk" });
  } catch {
    problem("not a valid public key");
    return null;
  }
  if (key.type !== "public") problem("not a public key");
  if (kty === "RSA" && (key.asymmetricKeyDetails?.modulusLength ?? 0) < 2048) problem("RSA keys must have at least 2048 bits");
  return issues.length > before ? null : (structuredClone(jwk));
}

function parseSigners(list: readonly z.infer<typeof signerSchema>[], path: string, issues: BundleIssue[]): Map<string, KeyObject> {
  const out = new Map<string, KeyObject>();
  list.forEach((s, i) => {
    const at = `${path}[${i}]`;
    if (s.pem.includes("PRIVATE")) {
      issues.push({ path: at, problem: "a private key is refused: signers are listed by public key" });
      return;
    }
    let key: KeyObject;
    try {
      key = ed25519PublicKey(s.pem, at);
    } catch (err) {
      issues.push({ path: at, problem: err instanceof SignatureInvalid ? err.reason : "not a public key" });
      return;
    }
    const id = keyId(key);
    if (s.keyid !== undefined && s.keyid !== id) issues.push({ path: `${at}.keyid`, problem: "does not match the key's fingerprint" });
    else if (out.has(id)) issues.push({ path: at, problem: "listed twice" });
    else out.set(id, key);
  });
  return out;
}

/** Parses and checks a bundle's payload bytes. Pure. Throws TrustBundleInvalid. */
export function parseTrustBundle(payload: Uint8Array): TrustBundle {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(payload).toString("utf8"));
  } catch {
    throw new TrustBundleInvalid([{ path: "$", problem: "not JSON" }]);
  }
  const parsed = bundleSchema.safeParse(value);
  if (!parsed.success) throw new TrustBundleInvalid(parsed.error.issues.map((i) => ({ path: jsonPath(i.path), problem: i.message })));
  const doc = parsed.data;
  const issues: BundleIssue[] = [];
  const seenIssuers = new Set<string>();
  const issuers: IssuerTrust[] = doc.issuers.map((iss, i) => {
    const at = `$.issuers[${i}]`;
    if (seenIssuers.has(iss.issuer)) issues.push({ path: `${at}.issuer`, problem: "listed twice" });
    seenIssuers.add(iss.issuer);
    if (new Set(iss.algorithms).size !== iss.algorithms.length) issues.push({ path: `${at}.algorithms`, problem: "lists an algorithm twice" });
    const kids = new Set<string>();
    const keys: JWK[] = [];
    iss.jwks.keys.forEach((jwk, k) => {
      const checked = checkJwk(jwk, `${at}.jwks.keys[${k}]`, iss.algorithms, issues);
      if (checked === null) return;
      if (checked.kid !== undefined) {
        if (kids.has(checked.kid)) issues.push({ path: `${at}.jwks.keys[${k}].kid`, problem: "listed twice" });
        kids.add(checked.kid);
      }
      keys.push(checked);
    });
    return Object.freeze({
      issuer: iss.issuer,
      audience: iss.audience,
      algorithms: Object.freeze([...iss.algorithms]),
      jwks: Object.freeze({ keys: Object.freeze(keys) }),
      roleClaim: iss.roleClaim,
      tenantClaim: iss.tenantClaim ?? null,
      requireTyp: iss.requireTyp ?? null,
      maxTokenAgeSec: iss.maxTokenAgeSec,
      clockSkewSec: iss.clockSkewSec,
    });
  });
  const policySigners = parseSigners(doc.policySigners, "$.policySigners", issues);
  const moduleSigners = parseSigners(doc.moduleSigners, "$.moduleSigners", issues);
  const launchSigners = parseSigners(doc.launchSigners ?? [], "$.launchSigners", issues);
  if (issues.length > 0) throw new TrustBundleInvalid(issues);
  return Object.freeze({ version: doc.version, sha256: sha256Hex(payload), issuers: Object.freeze(issuers), policySigners, moduleSigners, launchSigners });
}

/**
 * Verifies a signed bundle envelope against the pinned root key(s) and parses the payload it
 * verified. Pure. Throws SignatureInvalid or TrustBundleInvalid.
 */
export function verifyTrustBundle(envelope: unknown, roots: ReadonlyMap<string, KeyObject>): TrustBundle {
  return parseTrustBundle(verifyEnvelope(envelope, TRUST_BUNDLE_PAYLOAD_TYPE, roots, "trust bundle"));
}
