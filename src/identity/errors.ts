// Failures of identity and supply-chain checks: signatures, keys, trust bundles, tokens,
// launch statements and the runtime lock. Codes are stable; fields never carry a secret,
// a token or a private key.
import { CordonError, type Json } from "../errors.js";

/** A signature envelope is malformed, unsigned by a trusted key, or for other bytes/type. */
export class SignatureInvalid extends CordonError {
  readonly code = "ERR_SIGNATURE_INVALID";
  constructor(readonly artifact: string, readonly reason: string) {
    super(`signature of ${artifact} is not valid: ${reason}`);
  }
  fields(): Record<string, Json> {
    return { artifact: this.artifact, reason: this.reason };
  }
}

/** A key file is missing, malformed, exposed (group/world-readable) or would be overwritten. */
export class KeyUnusable extends CordonError {
  readonly code = "ERR_KEY_UNUSABLE";
  constructor(readonly key: string, readonly reason: string) {
    super(`key ${key} cannot be used: ${reason}`);
  }
  fields(): Record<string, Json> {
    return { key: this.key, reason: this.reason };
  }
}

/**
 * A caller's token was refused. Subclasses carry stable ERR_AUTHN_* codes; no field ever holds
 * the token itself, only `tokenDigest` (a short sha256 prefix) where one is known.
 */
export abstract class AuthnError extends CordonError {}
