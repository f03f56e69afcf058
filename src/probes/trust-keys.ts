// What the runtime rows' probes need from the trust a strict start verified: the context
// itself, and, on a development trust setup (`cordon init`), the issuer and publisher keys in
// cordon's data directory. Without those keys the rows that need them are unavailable, with
// the reason; cordon holds no production issuer or publisher key, and a probe never invents
// trust it does not have.
import type { KeyObject } from "node:crypto";
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { JWK } from "jose";
import { ISSUER_KEY_FILE, PUBLISHER_KEY_FILE } from "../config/defaults.js";
import type { SigningKey } from "../crypto/dsse.js";
import { loadSigningKey } from "../crypto/keys.js";
import { algorithmFor, publicJwk } from "../authn/mint-token.js";
import type { IssuerTrust, TokenAlgorithm } from "../artifacts/trust-bundle.js";
import type { ProbeEnv, TrustContext } from "./types.js";

export function requireTrust(env: ProbeEnv): TrustContext {
  if (env.trust === undefined) throw new Error(`'${env.line.text}' needs the trust of a strict start`);
  return env.trust;
}

/** A key the bundle trusts for one of its issuers. */
export interface TrustedIssuerKey {
  readonly issuer: IssuerTrust;
  readonly privateKey: KeyObject;
  readonly alg: TokenAlgorithm;
  /** The kid the bundle lists for this key, if any. */
  readonly kid: string | undefined;
}

export type Found<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly unavailable: string };

function samePublicKey(a: JWK, b: JWK): boolean {
  return a.kty === b.kty && a.crv === b.crv && a.x === b.x && a.y === b.y && a.n === b.n && a.e === b.e;
}

/** The development issuer key (`<dataDir>/issuer.key`), if present and listed by an issuer of the bundle. */
export async function trustedIssuerKey(trust: TrustContext): Promise<Found<TrustedIssuerKey>> {
  const path = join(trust.dataDir, ISSUER_KEY_FILE);
  if (!existsSync(path)) return { ok: false, unavailable: `needs a token signed by a trusted issuer: no ${ISSUER_KEY_FILE} in ${trust.dataDir} (not a development trust setup; cordon holds no production issuer key)` };
  const { privateKey } = loadSigningKey(path);
  const jwk = await publicJwk(privateKey);
  const alg = algorithmFor(privateKey);
  for (const issuer of trust.bundle.issuers) {
    const listed = issuer.jwks.keys.find((k) => samePublicKey(k, jwk));
    if (listed !== undefined && issuer.algorithms.includes(alg)) return { ok: true, value: { issuer, privateKey, alg, kid: listed.kid } };
  }
  return { ok: false, unavailable: `${ISSUER_KEY_FILE} in ${trust.dataDir} is not a key of any issuer the trust bundle lists` };
}

/** The development publisher key (`<dataDir>/publisher.key`), if present and allowed to sign policies. */
export function trustedPublisherKey(trust: TrustContext): Found<SigningKey> {
  const path = join(trust.dataDir, PUBLISHER_KEY_FILE);
  if (!existsSync(path)) return { ok: false, unavailable: `needs a validly signed older policy: no ${PUBLISHER_KEY_FILE} in ${trust.dataDir} (not a development trust setup)` };
  const key = loadSigningKey(path);
  if (!trust.bundle.policySigners.has(key.keyid)) return { ok: false, unavailable: `${PUBLISHER_KEY_FILE} in ${trust.dataDir} is not a policy signer of the trust bundle` };
  return { ok: true, value: key };
}
