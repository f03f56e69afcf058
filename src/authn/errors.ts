// A caller's token was refused: one class per reason, each with a stable ERR_AUTHN_* code;
// no field ever holds the token, only a short digest of it.
import { CordonError, type Json } from "../errors.js";

/**
 * A caller's token was refused. Subclasses carry stable ERR_AUTHN_* codes; no field ever holds
 * the token itself, only `tokenDigest` (a short sha256 prefix) where one is known.
 */
export abstract class AuthnError extends CordonError {
  /** sha256 of the refused token, first 16 hex: the only trace of it that may be logged. */
  abstract readonly tokenDigest: string;
}

/** Fields shared by every token refusal: the digest of the refused token, never the token. */
abstract class TokenRefused extends AuthnError {
  constructor(readonly tokenDigest: string, message: string, private readonly detail: Record<string, Json> = {}, hint?: string) {
    super(message, hint);
  }
  fields(): Record<string, Json> {
    return { tokenDigest: this.tokenDigest, ...this.detail };
  }
}

/** Which part of a token could not be parsed. */
export type TokenPart = "structure" | "header" | "payload" | "signature" | "kid" | "unsupported";

/** Not a compact JWS of three canonical base64url parts with JSON header and claims. */
export class TokenMalformed extends TokenRefused {
  readonly code = "ERR_AUTHN_TOKEN_MALFORMED";
  constructor(tokenDigest: string, readonly part: TokenPart, readonly reason: string) {
    super(tokenDigest, `token is malformed (${part}): ${reason}`, { part, reason });
  }
}

export class TokenTooLarge extends TokenRefused {
  readonly code = "ERR_AUTHN_TOKEN_TOO_LARGE";
  constructor(tokenDigest: string, readonly bytes: number, readonly max: number) {
    super(tokenDigest, `token is ${bytes} bytes, over the ${max}-byte cap`, { bytes, max });
  }
}

export class TokenExpired extends TokenRefused {
  readonly code = "ERR_AUTHN_TOKEN_EXPIRED";
  constructor(tokenDigest: string, readonly expiredAt: number | null) {
    super(tokenDigest, "token has expired", { expiredAt }, "obtain a new token from the issuer");
  }
}

export class TokenNotYetValid extends TokenRefused {
  readonly code = "ERR_AUTHN_TOKEN_NOT_YET_VALID";
  constructor(tokenDigest: string, readonly notBefore: number | null) {
    super(tokenDigest, "token is not valid yet (nbf is in the future)", { notBefore }, "check the issuer's and this host's clocks");
  }
}

export class TokenTooOld extends TokenRefused {
  readonly code = "ERR_AUTHN_TOKEN_TOO_OLD";
  constructor(tokenDigest: string, readonly issuedAt: number | null, readonly maxAgeSec: number) {
    super(tokenDigest, `token was issued more than ${maxAgeSec} s ago`, { issuedAt, maxAgeSec }, "obtain a new token from the issuer");
  }
}

export class AudienceMismatch extends TokenRefused {
  readonly code = "ERR_AUTHN_AUDIENCE_MISMATCH";
  constructor(tokenDigest: string, readonly expected: string) {
    super(tokenDigest, `token is not for this server (audience ${expected})`, { expected }, "request a token whose aud is this server's resource identifier");
  }
}

export class IssuerUnknown extends TokenRefused {
  readonly code = "ERR_AUTHN_ISSUER_UNKNOWN";
  /** `issuer` is the unverified claim, shortened; null when the token carries none. */
  constructor(tokenDigest: string, readonly issuer: string | null) {
    super(tokenDigest, "token's issuer is not in the trust bundle", { issuer }, "add the issuer to the signed trust bundle");
  }
}

export class AlgorithmRefused extends TokenRefused {
  readonly code = "ERR_AUTHN_ALGORITHM_REFUSED";
  constructor(tokenDigest: string, readonly alg: string | null, readonly allowed: readonly string[]) {
    super(tokenDigest, `token algorithm ${alg === null ? "(none given)" : JSON.stringify(alg)} is refused`, { alg, allowed: [...allowed] });
  }
}

export class TokenSignatureInvalid extends TokenRefused {
  readonly code = "ERR_AUTHN_SIGNATURE_INVALID";
  constructor(tokenDigest: string) {
    super(tokenDigest, "token signature does not verify");
  }
}

export class KeyUnknown extends TokenRefused {
  readonly code = "ERR_AUTHN_KEY_UNKNOWN";
  constructor(tokenDigest: string, readonly kid: string | null, readonly reason: string) {
    super(tokenDigest, `no single key of the issuer matches the token (${reason})`, { kid, reason });
  }
}

export class TypeMismatch extends TokenRefused {
  readonly code = "ERR_AUTHN_TYPE_MISMATCH";
  constructor(tokenDigest: string, readonly typ: string | null, readonly expected: string) {
    super(tokenDigest, `token type ${typ === null ? "(none)" : JSON.stringify(typ)} is not ${expected}`, { typ, expected }, "present an access token (typ at+jwt), not an ID token");
  }
}

export class CritUnsupported extends TokenRefused {
  readonly code = "ERR_AUTHN_CRIT_UNSUPPORTED";
  constructor(tokenDigest: string, readonly crit: readonly string[]) {
    super(tokenDigest, "token marks header extensions critical that cordon does not implement", { crit: [...crit] });
  }
}

/** A protected header parameter outside the closed set cordon reads (alg, typ, kid). */
export class HeaderRefused extends TokenRefused {
  readonly code = "ERR_AUTHN_HEADER_REFUSED";
  /** `parameters` are the refused names, shortened, at most 8. */
  constructor(tokenDigest: string, readonly parameters: readonly string[], readonly allowed: readonly string[]) {
    super(tokenDigest, `token header carries parameters cordon does not accept (only ${allowed.join(", ")})`, { parameters: [...parameters], allowed: [...allowed] },
      "issue tokens whose protected header holds only alg, typ and kid; keys come from the trust bundle, never from the token");
  }
}

/** Why a token's time claims are refused although jose's own checks passed. */
export type LifetimeFault = "not-a-safe-integer" | "lifetime-over-max" | "exp-too-far";

/**
 * A token that lives longer than its issuer allows: `exp - iat` over the issuer's maximum, an
 * `exp` further ahead of now than that maximum plus the skew, or an exp/iat/nbf that is not a
 * safe integer (1e300, 1.5). Only the claim and the limit are carried, never the values.
 */
export class TokenLifetimeExcessive extends TokenRefused {
  readonly code = "ERR_AUTHN_TOKEN_LIFETIME";
  constructor(tokenDigest: string, readonly claim: "exp" | "iat" | "nbf", readonly reason: LifetimeFault, readonly maxLifetimeSec: number) {
    super(tokenDigest, `token lifetime refused (${claim}: ${reason}; at most ${maxLifetimeSec} s from iat)`, { claim, reason, maxLifetimeSec },
      "ask the issuer for a token whose exp is at most maxTokenAgeSec after its iat, both integer seconds");
  }
}

export class ClaimInvalid extends TokenRefused {
  readonly code = "ERR_AUTHN_CLAIM_INVALID";
  constructor(tokenDigest: string, readonly claim: string, readonly reason: string) {
    super(tokenDigest, `token claim ${claim} is invalid: ${reason}`, { claim, reason });
  }
}

export class RoleUnknown extends TokenRefused {
  readonly code = "ERR_AUTHN_ROLE_UNKNOWN";
  constructor(tokenDigest: string, readonly role: string) {
    super(tokenDigest, `token's role ${JSON.stringify(role)} is not a role of the policy`, { role }, "add the role to the policy or issue a token with a known role");
  }
}

export type AuthnErrorCode =
  | TokenMalformed["code"]
  | TokenTooLarge["code"]
  | TokenExpired["code"]
  | TokenNotYetValid["code"]
  | TokenTooOld["code"]
  | AudienceMismatch["code"]
  | IssuerUnknown["code"]
  | AlgorithmRefused["code"]
  | TokenSignatureInvalid["code"]
  | KeyUnknown["code"]
  | TypeMismatch["code"]
  | CritUnsupported["code"]
  | ClaimInvalid["code"]
  | HeaderRefused["code"]
  | TokenLifetimeExcessive["code"]
  | RoleUnknown["code"];
