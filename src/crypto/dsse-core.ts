// The parts of DSSE that need nothing but node:crypto, so that a cell (which has no
// node_modules) can check a signed launch statement with the same encoding the control plane
// signed it with.
import { createHash, type KeyObject } from "node:crypto";

/** DSSE's pre-authentication encoding: "DSSEv1" SP len(type) SP type SP len(body) SP body. */
export function pae(payloadType: string, payload: Uint8Array): Buffer {
  const type = Buffer.from(payloadType, "utf8");
  return Buffer.concat([Buffer.from(`DSSEv1 ${type.byteLength} `), type, Buffer.from(` ${payload.byteLength} `), payload]);
}

/** The fingerprint of an Ed25519 public key: sha256 over its SPKI DER, hex. */
export function keyId(publicKey: KeyObject): string {
  return createHash("sha256").update(publicKey.export({ type: "spki", format: "der" })).digest("hex");
}
