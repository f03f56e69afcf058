// Test and bench support: in-memory issuers, root keys and signed trust bundles. Not used by
// cordon itself.
import { generateKeyPairSync, type KeyObject } from "node:crypto";
import type { JWK } from "jose";
import { keyId, signEnvelope, type SigningKey } from "../crypto/dsse.js";
import { publicJwk } from "../authn/mint-token.js";
import { TRUST_BUNDLE_PAYLOAD_TYPE, type TokenAlgorithm, type TrustBundleDocument } from "../artifacts/trust-bundle.js";

export interface TestIssuer {
  readonly alg: TokenAlgorithm;
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  readonly jwk: JWK;
  readonly kid: string;
}

export async function testIssuer(alg: TokenAlgorithm = "EdDSA"): Promise<TestIssuer> {
  const pair =
    alg === "EdDSA"
      ? generateKeyPairSync("ed25519")
      : alg === "ES256"
        ? generateKeyPairSync("ec", { namedCurve: "P-256" })
        : generateKeyPairSync("rsa", { modulusLength: 2048 });
  const jwk = await publicJwk(pair.publicKey);
  return { alg, privateKey: pair.privateKey, publicKey: pair.publicKey, jwk: { ...jwk, alg }, kid: jwk.kid ?? "" };
}

export interface TestRoot extends SigningKey {
  readonly publicKey: KeyObject;
  readonly trusted: ReadonlyMap<string, KeyObject>;
}

export function testRoot(): TestRoot {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  const keyid = keyId(publicKey);
  return { keyid, privateKey, publicKey, trusted: new Map([[keyid, publicKey]]) };
}

export const TEST_ISSUER = "https://issuer.test";
export const TEST_AUDIENCE = "https://cordon.test/mcp";

type IssuerDoc = TrustBundleDocument["issuers"][number];

/** A bundle document with one issuer per key (or one issuer for all keys when `shared`). */
export function bundleDocument(issuers: readonly TestIssuer[], version = 1, over: Partial<IssuerDoc> = {}): TrustBundleDocument {
  const entry: IssuerDoc = {
    issuer: TEST_ISSUER,
    audience: TEST_AUDIENCE,
    algorithms: [...new Set(issuers.map((i) => i.alg))],
    jwks: { keys: issuers.map((i) => ({ ...i.jwk })) },
    roleClaim: "role",
    requireTyp: "at+jwt",
    maxTokenAgeSec: 3600,
    clockSkewSec: 60,
    ...over,
  };
  return { version, issuers: [entry], policySigners: [], moduleSigners: [] };
}

export function signBundle(doc: unknown, root: SigningKey): Buffer {
  return Buffer.from(JSON.stringify(signEnvelope(TRUST_BUNDLE_PAYLOAD_TYPE, Buffer.from(JSON.stringify(doc)), root)));
}
