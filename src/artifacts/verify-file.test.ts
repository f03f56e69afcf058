import assert from "node:assert/strict";
import { generateKeyPairSync, type KeyObject } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { keyId, pae, signEnvelope, type Envelope, type SigningKey } from "../crypto/dsse.js";
import { SignatureInvalid } from "../crypto/errors.js";
import { initKey, loadPublicKey } from "../crypto/keys.js";
import { signArtifact, signFile } from "./sign-file.js";
import { ARTIFACT_PREDICATE_TYPE, IN_TOTO_PAYLOAD_TYPE, STATEMENT_TYPE, buildArtifactStatement } from "./statement.js";
import { verifyFile, verifySignedArtifact } from "./verify-file.js";

function newKey(): { key: SigningKey; trusted: Map<string, KeyObject> } {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  const keyid = keyId(publicKey);
  return { key: { keyid, privateKey }, trusted: new Map([[keyid, publicKey]]) };
}

function refusedWith(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (err) => err instanceof SignatureInvalid && err.code === "ERR_SIGNATURE_INVALID" && pattern.test(err.reason), String(pattern));
}

const POLICY = Buffer.from("version: 1\nroles: {}\n");

describe("signArtifact / verifySignedArtifact", () => {
  it("verifies the signed bytes and returns their digest, kind and version", () => {
    const { key, trusted } = newKey();
    const env = signArtifact(POLICY, "policy.yaml", key, { kind: "policy", version: 7 });
    assert.equal(env.payloadType, IN_TOTO_PAYLOAD_TYPE);
    const statement = JSON.parse(Buffer.from(env.payload, "base64").toString()) as { _type: string; predicateType: string; subject: unknown[] };
    assert.equal(statement._type, STATEMENT_TYPE);
    assert.equal(statement.predicateType, ARTIFACT_PREDICATE_TYPE);
    assert.equal(statement.subject.length, 1);
    const v = verifySignedArtifact(POLICY, env, "policy", trusted);
    assert.deepEqual({ name: v.name, kind: v.kind, version: v.version }, { name: "policy.yaml", kind: "policy", version: 7 });
  });

  it("refuses a valid signature reused for other bytes (one flipped bit)", () => {
    const { key, trusted } = newKey();
    const env = signArtifact(POLICY, "policy.yaml", key, { kind: "policy" });
    const other = Buffer.from(POLICY);
    other[0] = (other[0] ?? 0) ^ 1;
    refusedWith(() => verifySignedArtifact(other, env, "policy", trusted), /other bytes/);
  });

  it("refuses a payload-type swap: the same statement signed under another type, or the type field edited", () => {
    const { key, trusted } = newKey();
    const statement = buildArtifactStatement(POLICY, "policy.yaml", { kind: "policy" });
    const swapped = signEnvelope("application/vnd.cordon.trust-bundle+json", statement, key);
    refusedWith(() => verifySignedArtifact(POLICY, swapped, "policy", trusted), /payload type/);
    const good = signArtifact(POLICY, "policy.yaml", key, { kind: "policy" });
    const edited: Envelope = { ...good, payloadType: "application/json" };
    refusedWith(() => verifySignedArtifact(POLICY, edited, "policy", trusted), /payload type/);
    // The edited type with the original signature cannot verify either: PAE binds the type.
    const relabelled: Envelope = { ...swapped, payloadType: IN_TOTO_PAYLOAD_TYPE };
    refusedWith(() => verifySignedArtifact(POLICY, relabelled, "policy", trusted), /no signature by a trusted key/);
  });

  it("refuses a signature for another kind (a module signature offered for a policy)", () => {
    const { key, trusted } = newKey();
    const env = signArtifact(POLICY, "x", key, { kind: "module" });
    refusedWith(() => verifySignedArtifact(POLICY, env, "policy", trusted), /for a module, not a policy/);
  });

  it("refuses an untrusted key, a tampered payload and a DSSE-signed non-statement", () => {
    const { key, trusted } = newKey();
    const stranger = newKey();
    refusedWith(() => verifySignedArtifact(POLICY, signArtifact(POLICY, "p", stranger.key, { kind: "policy" }), "policy", trusted), /trusted key/);
    const env = signArtifact(POLICY, "p", key, { kind: "policy" });
    const statement = JSON.parse(Buffer.from(env.payload, "base64").toString()) as { predicate: { kind: string; version?: number } };
    statement.predicate.version = 99;
    const tampered: Envelope = { ...env, payload: Buffer.from(JSON.stringify(statement)).toString("base64") };
    refusedWith(() => verifySignedArtifact(POLICY, tampered, "policy", trusted), /trusted key/);
    const notStatement = signEnvelope(IN_TOTO_PAYLOAD_TYPE, Buffer.from('{"hello":"world"}'), key);
    refusedWith(() => verifySignedArtifact(POLICY, notStatement, "policy", trusted), /not a cordon artifact statement/);
  });

  it("binds PAE: the signature is over DSSEv1 + type + payload, not the payload alone", () => {
    const message = pae(IN_TOTO_PAYLOAD_TYPE, Buffer.from("ab"));
    assert.equal(message.toString(), `DSSEv1 ${IN_TOTO_PAYLOAD_TYPE.length} ${IN_TOTO_PAYLOAD_TYPE} 2 ab`);
  });
});

describe("signFile / verifyFile", () => {
  it("round-trips on disk, and a tampered file is refused while the signature file is unchanged", () => {
    const dir = mkdtempSync(join(tmpdir(), "cordon-sign-"));
    const keyPath = join(dir, "signer.key");
    initKey(keyPath);
    const file = join(dir, "policy.yaml");
    writeFileSync(file, POLICY);
    const signed = signFile(file, { keyPath, predicate: { kind: "policy", version: 2 } });
    assert.equal(signed.sigPath, `${file}.sig.json`);
    const pub = loadPublicKey(`${keyPath}.pub`);
    const trusted = new Map([[pub.keyid, pub.publicKey]]);
    const v = verifyFile(file, trusted, { kind: "policy" });
    assert.deepEqual(v.bytes, POLICY);
    assert.equal(v.version, 2);
    const sigBefore = readFileSync(signed.sigPath);
    writeFileSync(file, "version: 1\nroles: { admin: { tools: [everything] } }\n");
    assert.throws(() => verifyFile(file, trusted, { kind: "policy" }), (err) => err instanceof SignatureInvalid && /other bytes/.test(err.reason));
    assert.deepEqual(readFileSync(signed.sigPath), sigBefore);
    assert.throws(() => verifyFile(join(dir, "missing"), trusted), (err) => (err as { code: string }).code === "ERR_ARTIFACT_UNREADABLE");
  });
});
