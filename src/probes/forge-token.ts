// Builds compact JWS tokens the way an attacker would: any header, any claims, any algorithm
// (none, HMAC keyed with a public key, an embedded or remote key), signed with whatever key
// the attacker holds. jose refuses to produce most of these, so the bytes are put together
// here by hand. Used only by `cordon prove`'s token probes.
import { constants, createHmac, generateKeyPairSync, sign, type KeyObject } from "node:crypto";
import type { TokenAlgorithm } from "../artifacts/trust-bundle.js";

export type ForgedSigner =
  | { readonly alg: TokenAlgorithm; readonly key: KeyObject }
  | { readonly alg: "HS256"; readonly secret: Uint8Array }
  | { readonly alg: "none" | "None" };

function b64(value: unknown): string {
  return Buffer.from(JSON.stringify(value), "utf8").toString("base64url");
}

function signature(data: Buffer, signer: ForgedSigner): Buffer {
  switch (signer.alg) {
    case "none":
    case "None":
      return Buffer.alloc(0);
    case "HS256":
      return createHmac("sha256", signer.secret).update(data).digest();
    case "EdDSA":
      return sign(null, data, signer.key);
    case "ES256":
      return sign("sha256", data, { key: signer.key, dsaEncoding: "ieee-p1363" });
    case "RS256":
      return sign("sha256", data, signer.key);
    case "PS256":
      return sign("sha256", data, { key: signer.key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 });
  }
}

/** `header.payload.signature`; the header's `alg` is the signer's unless `header` sets one. */
export function forgeToken(header: Readonly<Record<string, unknown>>, payload: Readonly<Record<string, unknown>>, signer: ForgedSigner): string {
  const input = `${b64({ alg: signer.alg, ...header })}.${b64(payload)}`;
  return `${input}.${signature(Buffer.from(input, "ascii"), signer).toString("base64url")}`;
}

/** A fresh key pair for `alg`: the attacker's own key, trusted by no one. */
export function attackerKey(alg: TokenAlgorithm): { privateKey: KeyObject; publicKey: KeyObject } {
  switch (alg) {
    case "EdDSA":
      return generateKeyPairSync("ed25519");
    case "ES256":
      return generateKeyPairSync("ec", { namedCurve: "P-256" });
    case "RS256":
    case "PS256":
      return generateKeyPairSync("rsa", { modulusLength: 2048 });
  }
}
