// INTERIM: a strict single-issuer EdDSA token verifier, so `cordon serve` and the gateway tests
// can run before the trust-bundle verifier (src/identity/verify-token.ts) lands. It implements
// the TokenVerifier contract only; the CLI swaps it for createTokenVerifier when that exists.
import type { KeyObject } from "node:crypto";
import { errors, jwtVerify } from "jose";
import type { Principal, TokenVerifier } from "../identity/principal.js";
import { digestToken } from "./authenticate.js";
import { TokenRefused, type TokenRefusal } from "./errors.js";

const ROLE = /^[a-z][a-z0-9-]{0,62}$/;

export interface InterimVerifierOptions {
  readonly issuer: string;
  readonly publicKey: KeyObject;
  /** The resource URI tokens must name in `aud`. */
  readonly audience: string;
  readonly roleClaim?: string;
  readonly tenantClaim?: string;
  /** Oldest accepted `iat` (default 24 h) and clock skew (default 30 s), in seconds. */
  readonly maxTokenAgeSec?: number;
  readonly clockToleranceSec?: number;
  /** Require `typ: at+jwt` (RFC 9068). */
  readonly requireAtJwt?: boolean;
  readonly now?: () => Date;
}

export function createInterimVerifier(opts: InterimVerifierOptions): TokenVerifier {
  const roleClaim = opts.roleClaim ?? "role";
  const tenantClaim = opts.tenantClaim ?? "tenant";
  return async (token: string): Promise<Principal> => {
    const tokenDigest = digestToken(token);
    let payload: Record<string, unknown>;
    try {
      ({ payload } = await jwtVerify(token, opts.publicKey, {
        algorithms: ["EdDSA", "Ed25519"],
        issuer: opts.issuer,
        audience: opts.audience,
        requiredClaims: ["exp", "iat", "sub"],
        maxTokenAge: opts.maxTokenAgeSec ?? 86_400,
        clockTolerance: opts.clockToleranceSec ?? 30,
        ...(opts.requireAtJwt === true ? { typ: "at+jwt" } : {}),
        ...(opts.now === undefined ? {} : { currentDate: opts.now() }),
      }));
    } catch (err) {
      throw new TokenRefused(refusalOf(err), tokenDigest);
    }
    const role = payload[roleClaim];
    const tenant = payload[tenantClaim];
    const { sub, exp } = payload;
    if (typeof role !== "string" || !ROLE.test(role)) throw new TokenRefused("role", tokenDigest);
    if (typeof sub !== "string" || sub === "" || typeof exp !== "number") throw new TokenRefused("claims", tokenDigest);
    if (tenant !== undefined && typeof tenant !== "string") throw new TokenRefused("claims", tokenDigest);
    return Object.freeze({ subject: sub, role, tenant: tenant ?? null, issuer: opts.issuer, tokenDigest, expiresAt: exp });
  };
}

function refusalOf(err: unknown): TokenRefusal {
  if (err instanceof errors.JWTExpired) return "expired";
  if (err instanceof errors.JWTClaimValidationFailed) {
    switch (err.claim) {
      case "iss":
        return "issuer";
      case "aud":
        return "audience";
      case "nbf":
        return "not-yet-valid";
      case "iat":
        return err.reason === "check_failed" ? "too-old" : "claims";
      case "typ":
        return "type";
      default:
        return "claims";
    }
  }
  if (err instanceof errors.JWSSignatureVerificationFailed) return "signature";
  if (err instanceof errors.JOSEAlgNotAllowed || err instanceof errors.JOSENotSupported) return "algorithm";
  return "malformed";
}
