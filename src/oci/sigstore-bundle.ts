// Signatures as Sigstore bundles (v0.3, `application/vnd.dev.sigstore.bundle.v0.3+json`): the
// DSSE envelope cordon already signs (an in-toto Statement for policies and modules, the trust
// bundle's own payload for the trust bundle), carried in the bundle format cosign and
// sigstore-js produce and verify. Built with @sigstore/bundle and verified with
// @sigstore/verify 3.1.0 (the last release that runs on Node 20), offline, against keys from
// cordon's trust root only:
//   - tlogThreshold 0, timestampThreshold 0, ctlogThreshold 0: a key-signed bundle needs no
//     transparency-log entry, no signed timestamp and no certificate. A bundle that carries a
//     tlog entry or a timestamp is still checked, against no trusted log or TSA, so it fails:
//     cordon trusts no log it cannot reach offline.
//   - the key: each key the trust bundle allows for this kind is tried in turn; the bundle's
//     key hint never picks one. A hint that is present must name the key that verified
//     (cordon's hex keyid, or the same sha256 in base64); any other hint is refused.
import type { KeyObject } from "node:crypto";
import { bundleFromJSON, bundleToJSON, toDSSEBundle, type Bundle, type SerializedBundle } from "@sigstore/bundle";
import { toSignedEntity, Verifier, type TrustMaterial } from "@sigstore/verify";
import { keyId, type Envelope } from "../crypto/dsse.js";
import { SignatureInvalid } from "../crypto/errors.js";
import { SIGSTORE_BUNDLE_MEDIA_TYPE } from "./media-types.js";

/** The verifier's thresholds, stated once (README: "Signatures in the registry"). */
export const VERIFY_THRESHOLDS = Object.freeze({ tlogThreshold: 0, ctlogThreshold: 0, timestampThreshold: 0 });

/** A Sigstore bundle (JSON) carrying `envelope`, with cordon's keyid of the signing key as the hint. */
export function toSigstoreBundle(envelope: Envelope): SerializedBundle {
  const [sig, ...more] = envelope.signatures;
  if (sig === undefined || more.length > 0) throw new SignatureInvalid("signature", "a Sigstore bundle carries exactly one signature");
  const bundle = toDSSEBundle({
    artifact: Buffer.from(envelope.payload, "base64"),
    artifactType: envelope.payloadType,
    signature: Buffer.from(sig.sig, "base64"),
    keyHint: sig.keyid,
  });
  return bundleToJSON(bundle);
}

export interface VerifiedBundle {
  readonly payloadType: string;
  readonly payload: Buffer;
  /** cordon's keyid of the trusted key that verified the signature. */
  readonly keyid: string;
  /** The DSSE envelope in cordon's own format (keyid = the verifying key), for `FILE.sig.json`. */
  readonly envelope: Envelope;
}

function parseBundle(value: unknown, what: string): Bundle {
  if (typeof value !== "object" || value === null || (value as { mediaType?: unknown }).mediaType !== SIGSTORE_BUNDLE_MEDIA_TYPE) {
    throw new SignatureInvalid(what, `not a ${SIGSTORE_BUNDLE_MEDIA_TYPE}`);
  }
  try {
    return bundleFromJSON(value);
  } catch {
    throw new SignatureInvalid(what, "not a valid Sigstore bundle");
  }
}

function hintNames(hint: string, publicKey: KeyObject): boolean {
  const hex = keyId(publicKey);
  return hint === hex || hint === Buffer.from(hex, "hex").toString("base64");
}

/**
 * Verifies a Sigstore bundle (parsed JSON) of `payloadType` against `trusted` (keyid → key), offline.
 * Returns the signed payload, which the caller then checks names the bytes it is about to use.
 */
export function verifySigstoreBundle(value: unknown, payloadType: string, trusted: ReadonlyMap<string, KeyObject>, what: string): VerifiedBundle {
  const bundle = parseBundle(value, what);
  if (bundle.content.$case !== "dsseEnvelope") throw new SignatureInvalid(what, "the bundle holds a message signature, not a DSSE envelope");
  const env = bundle.content.dsseEnvelope;
  if (env.payloadType !== payloadType) throw new SignatureInvalid(what, `payload type is ${env.payloadType.slice(0, 64)}, expected ${payloadType}`);
  if (bundle.verificationMaterial.content.$case !== "publicKey") throw new SignatureInvalid(what, "cordon verifies key-signed bundles only (no certificate identities)");
  const hint = bundle.verificationMaterial.content.publicKey.hint;
  const entity = toSignedEntity(bundle);
  let lastProblem = "no key of the trust bundle signed it";
  for (const [keyid, publicKey] of trusted) {
    // The trust material holds exactly this one trusted key: whatever the hint says, it is the key checked.
    const material: TrustMaterial = {
      certificateAuthorities: [],
      timestampAuthorities: [],
      tlogs: [],
      ctlogs: [],
      publicKey: () => ({ publicKey, validFor: () => true }),
    };
    try {
      new Verifier(material, VERIFY_THRESHOLDS).verify(entity);
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      if (code !== "SIGNATURE_ERROR") lastProblem = `@sigstore/verify: ${typeof code === "string" ? code : "error"}`;
      continue;
    }
    if (hint !== "" && !hintNames(hint, publicKey)) throw new SignatureInvalid(what, "the bundle's key hint names another key than the one that verified it");
    const sig = env.signatures[0]?.sig ?? Buffer.alloc(0);
    return {
      payloadType: env.payloadType,
      payload: Buffer.from(env.payload),
      keyid,
      envelope: { payloadType: env.payloadType, payload: Buffer.from(env.payload).toString("base64"), signatures: [{ keyid, sig: Buffer.from(sig).toString("base64") }] },
    };
  }
  throw new SignatureInvalid(what, lastProblem);
}
