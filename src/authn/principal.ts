// Who is calling: what a verified token maps to. Built only by the token verifier.

export interface Principal {
  /** The token's `sub`. */
  readonly subject: string;
  /** The role, from the configured claim; must name a role of the policy. */
  readonly role: string;
  /** The tenant, from the configured claim, if any. */
  readonly tenant: string | null;
  /** The token's `iss`. */
  readonly issuer: string;
  /** A short digest of the token (sha256, first 16 hex), the only trace of it that is logged. */
  readonly tokenDigest: string;
  /** `exp`, in seconds since the epoch. */
  readonly expiresAt: number;
}

/** Verifies a bearer token; throws an AuthnError (ERR_AUTHN_*) on any failure. */
export type TokenVerifier = (token: string) => Promise<Principal>;
