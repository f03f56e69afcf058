// Mints an access token (typ at+jwt) with a local issuer key: for development, tests and
// `cordon up`, where cordon is its own issuer. Production tokens come from a real issuer.
import { randomUUID, createPublicKey, type KeyObject } from "node:crypto";
import { calculateJwkThumbprint, SignJWT, type JWK } from "jose";
import { KeyUnusable } from "../crypto/errors.js";
import type { TokenAlgorithm } from "../artifacts/trust-bundle.js";

/** The JWS algorithm cordon uses for a key of this type. */
export function algorithmFor(key: KeyObject): TokenAlgorithm {
  if (key.asymmetricKeyType === "ed25519") return "EdDSA";
  if (key.asymmetricKeyType === "ec" && key.asymmetricKeyDetails?.namedCurve === "prime256v1") return "ES256";
  if (key.asymmetricKeyType === "rsa") return "RS256";
  throw new KeyUnusable("issuer key", `a ${key.asymmetricKeyType ?? "unknown"} key cannot sign tokens (Ed25519, P-256 or RSA)`);
}

/**
 * The public JWK of a key, as a trust bundle lists it: kid is the RFC 7638 thumbprint, alg and
 * use are set. Accepts a private or public key; only public members are returned.
 */
export async function publicJwk(key: KeyObject): Promise<JWK> {
  const pub = key.type === "private" ? createPublicKey(key) : key;
  const jwk = pub.export({ format: "jwk" }) as JWK;
  const kid = await calculateJwkThumbprint(jwk, "sha256");
  return { ...jwk, kid, alg: algorithmFor(pub), use: "sig" };
}

export interface MintTokenOptions {
  readonly privateKey: KeyObject;
  /** Defaults to the public key's RFC 7638 thumbprint. */
  readonly kid?: string;
  readonly issuer: string;
  readonly audience: string;
  readonly subject: string;
  readonly role: string;
  readonly roleClaim?: string;
  readonly tenant?: string;
  readonly tenantClaim?: string;
  readonly ttlSec: number;
  /** Milliseconds since the epoch. */
  readonly now?: () => number;
  /** The `typ` header; at+jwt (RFC 9068) unless given. */
  readonly typ?: string;
}

export async function mintToken(opts: MintTokenOptions): Promise<string> {
  if (!Number.isInteger(opts.ttlSec) || opts.ttlSec < 1) throw new RangeError("ttlSec must be a positive integer");
  const alg = algorithmFor(opts.privateKey);
  const kid = opts.kid ?? (await publicJwk(opts.privateKey)).kid ?? "";
  const iat = Math.floor((opts.now ?? Date.now)() / 1000);
  const claims: Record<string, unknown> = { [opts.roleClaim ?? "role"]: opts.role, client_id: opts.subject };
  if (opts.tenant !== undefined) claims[opts.tenantClaim ?? "tenant"] = opts.tenant;
  return new SignJWT(claims)
    .setProtectedHeader({ alg, typ: opts.typ ?? "at+jwt", kid })
    .setIssuer(opts.issuer)
    .setAudience(opts.audience)
    .setSubject(opts.subject)
    .setIssuedAt(iat)
    .setExpirationTime(iat + opts.ttlSec)
    .setJti(randomUUID())
    .sign(opts.privateKey);
}
