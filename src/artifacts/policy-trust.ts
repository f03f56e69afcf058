// Strict mode's PolicyTrust: the policy must be signed by a policy signer of the trust bundle
// (and not older than the newest policy version this host accepted), every module and script
// by a module signer. Signatures are looked up beside the artifact (`FILE.sig.json`, what
// `cordon sign` writes) or, failing that, in cordon's data directory by the artifact's digest
// (`signatures/<sha256>.sig.json`, what `cordon init` writes for the bundled examples).
import { existsSync } from "node:fs";
import { join } from "node:path";
import { acceptArtifactVersion, versionsPath } from "./artifact-versions.js";
import { SignatureInvalid } from "../crypto/errors.js";
import { readEnvelopeFile } from "./load-trust-bundle.js";
import type { TrustBundle } from "./trust-bundle.js";
import { verifySignedArtifact, verifySignedDigest } from "./verify-file.js";
import type { PolicyTrust } from "../policy/load-policy.js";
import { sha256Hex } from "../crypto/digest.js";

export const SIGNATURES_DIR = "signatures";

/** Where a signature for `bytes` read from `path` may be found, in the order tried. */
export function signatureFor(path: string, bytes: Uint8Array | string, dataDir: string): Buffer {
  const beside = `${path}.sig.json`;
  if (existsSync(beside)) return readEnvelopeFile(beside);
  const stored = join(dataDir, SIGNATURES_DIR, `${typeof bytes === "string" ? bytes : sha256Hex(bytes)}.sig.json`);
  if (existsSync(stored)) return readEnvelopeFile(stored);
  throw new SignatureInvalid(path, "no signature (neither FILE.sig.json nor one in cordon's data directory)");
}

export interface SignedPolicyFacts {
  /** The signed policy version accepted (rollback-checked), once checkPolicy has run. */
  version: number | null;
  modules: number;
}

export function policyTrust(bundle: TrustBundle, dataDir: string): PolicyTrust & { readonly facts: SignedPolicyFacts } {
  const facts: SignedPolicyFacts = { version: null, modules: 0 };
  return {
    facts,
    checkPolicy(path, bytes) {
      const v = verifySignedArtifact(bytes, signatureFor(path, bytes, dataDir), "policy", bundle.policySigners, path);
      if (v.version === null) throw new SignatureInvalid(path, "a policy signature must carry a version (cordon sign --artifact-version N)");
      acceptArtifactVersion(versionsPath(dataDir), "policy", v.version);
      facts.version = v.version;
    },
    checkArtifact(path, bytes) {
      verifySignedArtifact(bytes, signatureFor(path, bytes, dataDir), "module", bundle.moduleSigners, path);
      facts.modules += 1;
    },
    checkArtifactDigest(path, sha256) {
      verifySignedDigest(sha256, signatureFor(path, sha256, dataDir), "image", bundle.moduleSigners, path);
      facts.modules += 1;
    },
  };
}
