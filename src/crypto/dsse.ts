// DSSE (Dead Simple Signing Envelope) with Ed25519, by node:crypto. The signature covers
// PAE(payloadType, payload), so a valid signature cannot be replayed for another payload type
// or other bytes. Verification returns the payload bytes it checked, and callers parse those
// same bytes: nothing is read twice.
import { createPublicKey, sign, verify, type KeyObject } from "node:crypto";
import { z } from "zod";
import { keyId, pae } from "./dsse-core.js";
import { SignatureInvalid } from "./errors.js";

export { keyId, pae };

export interface Envelope {
  readonly payloadType: string;
  /** Standard base64 of the payload bytes. */
  readonly payload: string;
  readonly signatures: readonly { readonly keyid: string; readonly sig: string }[];
}

export interface SigningKey {
  /** The public key's fingerprint (see keyId). */
  readonly keyid: string;
  readonly privateKey: KeyObject;
}

const B64 = /^[A-Za-z0-9+/]*={0,2}$/;
/** Envelopes are small; anything larger is refused before it is decoded. */
export const MAX_ENVELOPE_BYTES = 16 * 1024 * 1024;

const envelopeSchema = z
  .object({
    payloadType: z.string().min(1).max(256),
    payload: z.string().max(MAX_ENVELOPE_BYTES).regex(B64),
    signatures: z
      .array(z.object({ keyid: z.string().max(256), sig: z.string().max(1024).regex(B64) }).strict())
      .min(1)
      .max(16),
  })
  .strict();

export function signEnvelope(payloadType: string, payload: Uint8Array, key: SigningKey): Envelope {
  if (key.privateKey.asymmetricKeyType !== "ed25519") throw new SignatureInvalid("signing key", "only Ed25519 keys sign envelopes");
  const sig = sign(null, pae(payloadType, payload), key.privateKey).toString("base64");
  return { payloadType, payload: Buffer.from(payload).toString("base64"), signatures: [{ keyid: key.keyid, sig }] };
}

/**
 * Checks that `raw` (parsed JSON or envelope bytes) is an envelope of `payloadType` signed by
 * one of `trusted` (keyid → Ed25519 public key), and returns the payload bytes. Unknown key
 * ids are skipped; at least one signature must be by a trusted key.
 */
export function verifyEnvelope(raw: unknown, payloadType: string, trusted: ReadonlyMap<string, KeyObject>, artifact = "envelope"): Buffer {
  let value = raw;
  if (raw instanceof Uint8Array) {
    if (raw.byteLength > MAX_ENVELOPE_BYTES) throw new SignatureInvalid(artifact, "envelope is too large");
    try {
      value = JSON.parse(Buffer.from(raw).toString("utf8"));
    } catch {
      throw new SignatureInvalid(artifact, "envelope is not JSON");
    }
  }
  const parsed = envelopeSchema.safeParse(value);
  if (!parsed.success) throw new SignatureInvalid(artifact, "envelope is malformed");
  const env = parsed.data;
  if (env.payloadType !== payloadType) throw new SignatureInvalid(artifact, `payload type is ${env.payloadType.slice(0, 64)}, expected ${payloadType}`);
  const payload = Buffer.from(env.payload, "base64");
  if (payload.toString("base64") !== env.payload) throw new SignatureInvalid(artifact, "payload is not canonical base64");
  const message = pae(env.payloadType, payload);
  for (const s of env.signatures) {
    const key = trusted.get(s.keyid);
    if (key === undefined) continue;
    const sig = Buffer.from(s.sig, "base64");
    if (sig.byteLength !== 64) continue;
    if (verify(null, message, key, sig)) return payload;
  }
  throw new SignatureInvalid(artifact, "no signature by a trusted key");
}

/** An Ed25519 public key from PEM or SPKI DER; anything else is refused. */
export function ed25519PublicKey(material: string | Uint8Array, name = "public key"): KeyObject {
  let key: KeyObject;
  try {
    key = typeof material === "string" ? createPublicKey(material) : createPublicKey({ key: Buffer.from(material), format: "der", type: "spki" });
  } catch {
    throw new SignatureInvalid(name, "not a public key");
  }
  if (key.asymmetricKeyType !== "ed25519") throw new SignatureInvalid(name, "not an Ed25519 key");
  return key;
}
