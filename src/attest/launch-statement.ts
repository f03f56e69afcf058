// The control plane's side of attested launch: one statement per session, signed with the
// per-boot launch key (generated in memory at start, never written anywhere).
import { createHash, generateKeyPairSync, type KeyObject } from "node:crypto";
import { canonicalJson } from "../audit/canonical-json.js";
import type { Json } from "../errors.js";
import type { Principal } from "../authn/principal.js";
import { keyId, signEnvelope, type SigningKey } from "../crypto/dsse.js";
import { IN_TOTO_PAYLOAD_TYPE, IN_TOTO_STATEMENT_TYPE, LAUNCH_PREDICATE_TYPE, type LaunchPredicate, type LaunchStatement, type LaunchSubject } from "./launch-format.js";

export interface LaunchKey extends SigningKey {
  readonly publicKey: KeyObject;
  /** SPKI DER, base64: how a cell is told the key (on its command line, not over the pipe). */
  readonly publicKeyB64: string;
}

export function newLaunchKey(): LaunchKey {
  const { publicKey, privateKey } = generateKeyPairSync("ed25519");
  const der = publicKey.export({ type: "spki", format: "der" });
  return { keyid: keyId(publicKey), privateKey, publicKey, publicKeyB64: der.toString("base64") };
}

/** sha256 over the canonical principal: who, for which role, from which issuer. */
export function principalDigest(p: Principal): string {
  return createHash("sha256").update(canonicalJson({ iss: p.issuer, sub: p.subject, role: p.role, tenant: p.tenant })).digest("hex");
}

export interface SignedLaunch {
  /** The DSSE envelope as JSON text: what the cell checks and the audit log keeps. */
  readonly envelope: string;
  /** sha256 of `envelope`: stamped on every record of the session. */
  readonly digest: string;
  readonly statement: LaunchStatement;
}

export function signLaunch(subject: readonly LaunchSubject[], predicate: LaunchPredicate, key: LaunchKey): SignedLaunch {
  const statement: LaunchStatement = { _type: IN_TOTO_STATEMENT_TYPE, subject, predicateType: LAUNCH_PREDICATE_TYPE, predicate };
  const payload = Buffer.from(canonicalJson(statement as unknown as Json), "utf8");
  const envelope = JSON.stringify(signEnvelope(IN_TOTO_PAYLOAD_TYPE, payload, key));
  return { envelope, digest: createHash("sha256").update(envelope).digest("hex"), statement };
}
