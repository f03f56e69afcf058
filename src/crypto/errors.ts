// Failures of signatures and keys. Codes are stable; fields never carry a secret or a private key.
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
    // Named keyFile: the audit log refuses any field called "key".
    return { keyFile: this.key, reason: this.reason };
  }
}
