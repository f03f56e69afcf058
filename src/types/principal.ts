// Who is calling: what a verified token (or the local operator) maps to. Plain data, below
// every layer that acts on it; built only by the token verifier and the runtime.

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
