// Remembers the tokens a verifier accepted, for a short while: a client sends the same bearer
// token on every request, and an Ed25519 check through WebCrypto costs more than the rest of
// the gateway's work on a request (about 0.1 ms of CPU and a thread-pool round trip, measured
// by the gateway load benchmark). Only acceptances are remembered: a refused token is verified,
// refused and audited on every request. An entry lasts until the token expires or `ttlMs`
// after it was verified, whichever is first; tokens are keyed by their sha256, never kept.
import { createHash } from "node:crypto";
import type { Principal, TokenVerifier } from "../authn/principal.js";

export const DEFAULT_TOKEN_CACHE_MS = 10_000;
const DEFAULT_MAX_ENTRIES = 4096;

export interface VerifiedTokensOptions {
  /** How long an acceptance is reused; 0 turns the cache off. */
  readonly ttlMs?: number;
  /** Entries kept at most; the oldest goes first. */
  readonly maxEntries?: number;
  /** Milliseconds since the epoch. */
  readonly now?: () => number;
}

interface Entry {
  readonly principal: Principal;
  /** Reused before this instant only (ms since the epoch). */
  readonly until: number;
}

export function rememberVerified(verifier: TokenVerifier, opts: VerifiedTokensOptions = {}): TokenVerifier {
  const ttlMs = opts.ttlMs ?? DEFAULT_TOKEN_CACHE_MS;
  if (ttlMs <= 0) return verifier;
  const maxEntries = Math.max(1, opts.maxEntries ?? DEFAULT_MAX_ENTRIES);
  const now = opts.now ?? Date.now;
  const entries = new Map<string, Entry>();
  return async (token: string): Promise<Principal> => {
    const key = createHash("sha256").update(token, "utf8").digest("hex");
    const hit = entries.get(key);
    if (hit !== undefined) {
      if (now() < hit.until) return hit.principal;
      entries.delete(key);
    }
    const principal = await verifier(token);
    const verifiedAt = now();
    const until = Math.min(verifiedAt + ttlMs, principal.expiresAt * 1000);
    if (until > verifiedAt) {
      entries.delete(key);
      while (entries.size >= maxEntries) {
        const oldest = entries.keys().next();
        if (oldest.done === true) break;
        entries.delete(oldest.value);
      }
      entries.set(key, { principal, until });
    }
    return principal;
  };
}
