// Identity and supply chain: keys, detached signatures, the trust bundle, tokens.
export { acceptArtifactVersion, checkArtifactVersion, readVersionState, versionsPath, VERSIONS_FILE } from "./artifact-versions.js";
export type { ArtifactKind, VersionState } from "./artifact-versions.js";
export { authnDeniedEvent, TOKEN_VERIFIER_ENFORCER } from "./authn-event.js";
export { ed25519PublicKey, keyId, MAX_ENVELOPE_BYTES, pae, signEnvelope, verifyEnvelope } from "./dsse.js";
export type { Envelope, SigningKey } from "./dsse.js";
export { envKeyOffers, envKeyOffersEvent } from "./env-key-offers.js";
export {
  AlgorithmRefused,
  ArtifactRollback,
  AudienceMismatch,
  AuthnError,
  ClaimInvalid,
  CritUnsupported,
  IssuerUnknown,
  KeyUnknown,
  KeyUnusable,
  RoleUnknown,
  SignatureInvalid,
  TokenExpired,
  TokenMalformed,
  TokenNotYetValid,
  TokenSignatureInvalid,
  TokenTooLarge,
  TokenTooOld,
  TrustBundleInvalid,
  TypeMismatch,
  VersionStateUnusable,
} from "./errors.js";
export type { AuthnErrorCode, BundleIssue, TokenPart } from "./errors.js";
export { initTrust, resolveBundleInput, ROOT_KEY_FILE } from "./init-trust.js";
export type { InitTrustOptions, InitTrustResult } from "./init-trust.js";
export { initKey, loadPublicKey, loadSigningKey, parseSigningKey } from "./keys.js";
export type { KeyFileOptions, PublicKeyInfo } from "./keys.js";
export { loadTrustBundle, loadTrustRoot, readEnvelopeFile, TRUST_BUNDLE_FILE, TRUST_ROOT_FILE, trustBundlePath, trustRootPath } from "./load-trust-bundle.js";
export type { LoadedTrustBundle, LoadTrustBundleOptions } from "./load-trust-bundle.js";
export { algorithmFor, mintToken, publicJwk } from "./mint-token.js";
export type { MintTokenOptions } from "./mint-token.js";
export type { Principal, TokenVerifier } from "./principal.js";
export { signArtifact, signFile } from "./sign-file.js";
export type { SignedFile, SignFileOptions } from "./sign-file.js";
export { ARTIFACT_PREDICATE_TYPE, IN_TOTO_PAYLOAD_TYPE, sha256Hex, STATEMENT_TYPE } from "./statement.js";
export type { ArtifactPredicate } from "./statement.js";
export {
  KID_PATTERN,
  MAX_CLOCK_SKEW_SEC,
  MAX_TOKEN_AGE_SEC,
  parseTrustBundle,
  TOKEN_ALGORITHMS,
  TRUST_BUNDLE_PAYLOAD_TYPE,
  verifyTrustBundle,
} from "./trust-bundle.js";
export type { IssuerTrust, TokenAlgorithm, TrustBundle, TrustBundleDocument } from "./trust-bundle.js";
export { verifyFile, verifySignedArtifact } from "./verify-file.js";
export type { VerifiedArtifact, VerifyFileOptions } from "./verify-file.js";
export { createTokenVerifier, MAX_TOKEN_BYTES, tokenDigest } from "./verify-token.js";
export type { TokenVerifierOptions } from "./verify-token.js";
