// Sigstore bundles: what cordon writes is a v0.3 bundle @sigstore/bundle parses; what it
// accepts is a bundle whose one signature verifies under a key of the trust bundle, whatever
// the bundle's hint says.
import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { test } from "node:test";
import fc from "fast-check";
import { bundleFromJSON } from "@sigstore/bundle";
import { keyId } from "../crypto/dsse.js";
import { signArtifact } from "../artifacts/sign-file.js";
import { IN_TOTO_PAYLOAD_TYPE } from "../artifacts/statement.js";
import { toSigstoreBundle, verifySigstoreBundle } from "./sigstore-bundle.js";

function key() {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  return { keyid: keyId(publicKey), privateKey, publicKey };
}

const publisher = key();
const other = key();
const trusted = new Map([[publisher.keyid, publisher.publicKey]]);
const bytes = Buffer.from("tools: {}\n");
const envelope = signArtifact(bytes, "policy.yaml", publisher, { kind: "policy", version: 3 });

void test("a published signature is a v0.3 Sigstore bundle carrying cordon's DSSE envelope, and it verifies", () => {
  const json = toSigstoreBundle(envelope);
  assert.equal(json.mediaType, "application/vnd.dev.sigstore.bundle.v0.3+json");
  const parsed = bundleFromJSON(json);
  assert.equal(parsed.content.$case, "dsseEnvelope");
  assert.deepEqual(parsed.verificationMaterial.tlogEntries, [], "no transparency-log entry: a key-signed, offline bundle");
  const v = verifySigstoreBundle(JSON.parse(JSON.stringify(json)), IN_TOTO_PAYLOAD_TYPE, trusted, "policy");
  assert.equal(v.keyid, publisher.keyid);
  assert.equal(v.payload.toString("base64"), envelope.payload);
  assert.deepEqual(v.envelope, envelope);
});

void test("a key outside the trust bundle, another payload type, a tlog entry no trusted log vouches for: refused", () => {
  const json = toSigstoreBundle(envelope);
  assert.throws(() => verifySigstoreBundle(json, IN_TOTO_PAYLOAD_TYPE, new Map([[other.keyid, other.publicKey]]), "policy"), { code: "ERR_SIGNATURE_INVALID" });
  assert.throws(() => verifySigstoreBundle(json, "application/vnd.cordon.trust-bundle+json", trusted, "policy"), { code: "ERR_SIGNATURE_INVALID" });
  const withTlog = { ...json, verificationMaterial: { ...json.verificationMaterial, tlogEntries: [{ logIndex: "1", logId: { keyId: "AAAA" }, kindVersion: { kind: "dsse", version: "0.0.1" }, integratedTime: "1700000000", inclusionPromise: { signedEntryTimestamp: "AAAA" }, inclusionProof: { logIndex: "1", rootHash: "AAAA", treeSize: "2", hashes: [], checkpoint: { envelope: "x" } }, canonicalizedBody: "e30=" }] } };
  assert.throws(() => verifySigstoreBundle(withTlog, IN_TOTO_PAYLOAD_TYPE, trusted, "policy"), { code: "ERR_SIGNATURE_INVALID" });
});

void test("the key hint never picks the key: a hint naming a trusted key does not make an outsider's signature valid, and a hint that names another key than the verifying one is refused", () => {
  const forged = signArtifact(bytes, "policy.yaml", { keyid: publisher.keyid, privateKey: other.privateKey }, { kind: "policy", version: 3 });
  assert.throws(() => verifySigstoreBundle(toSigstoreBundle(forged), IN_TOTO_PAYLOAD_TYPE, trusted, "policy"), { code: "ERR_SIGNATURE_INVALID" });
  const misleading = signArtifact(bytes, "policy.yaml", { keyid: other.keyid, privateKey: publisher.privateKey }, { kind: "policy", version: 3 });
  assert.throws(() => verifySigstoreBundle(toSigstoreBundle(misleading), IN_TOTO_PAYLOAD_TYPE, trusted, "policy"), /another key/);
  const unhinted = signArtifact(bytes, "policy.yaml", { keyid: "", privateKey: publisher.privateKey }, { kind: "policy", version: 3 });
  assert.equal(verifySigstoreBundle(toSigstoreBundle(unhinted), IN_TOTO_PAYLOAD_TYPE, trusted, "policy").keyid, publisher.keyid);
});

void test("property: a flipped bit in the signature or the payload is never accepted", () => {
  const json = toSigstoreBundle(envelope);
  const sig = Buffer.from(json.dsseEnvelope?.signatures[0]?.sig ?? "", "base64");
  const payload = Buffer.from(json.dsseEnvelope?.payload ?? "", "base64");
  fc.assert(
    fc.property(fc.boolean(), fc.nat(), fc.integer({ min: 0, max: 7 }), (inSig, at, bit) => {
      const target = Buffer.from(inSig ? sig : payload);
      const i = at % target.byteLength;
      target[i] = (target[i] ?? 0) ^ (1 << bit);
      const dsse = { ...json.dsseEnvelope, ...(inSig ? { signatures: [{ keyid: publisher.keyid, sig: target.toString("base64") }] } : { payload: target.toString("base64") }) };
      assert.throws(() => verifySigstoreBundle({ ...json, dsseEnvelope: dsse }, IN_TOTO_PAYLOAD_TYPE, trusted, "policy"), { code: "ERR_SIGNATURE_INVALID" });
    }),
    { numRuns: 200 },
  );
});
