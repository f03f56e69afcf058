// Loading the trust bundle: the pinned root public key (dataDir()/trust-root.pub, or a path
// given on the command line, never the environment) is trusted only if neither it nor its
// directory can be written by anyone but its owner. The signed bundle is read once, verified
// against that root, parsed from the verified bytes, and refused if its version is older
// than one already accepted here.
import type { KeyObject } from "node:crypto";
import { dirname, join } from "node:path";
import { acceptArtifactVersion, versionsPath } from "./artifact-versions.js";
import { MAX_ENVELOPE_BYTES } from "../crypto/dsse.js";
import { KeyUnusable } from "../crypto/errors.js";
import { currentUid, directoryProblem } from "../crypto/file-trust.js";
import { loadPublicKey, type PublicKeyInfo } from "../crypto/keys.js";
import { verifyTrustBundle, type TrustBundle } from "./trust-bundle.js";
import { readCapped } from "./verify-file.js";

export const TRUST_ROOT_FILE = "trust-root.pub";
export const TRUST_BUNDLE_FILE = "trust-bundle.dsse.json";

export function trustRootPath(dataDir: string): string {
  return join(dataDir, TRUST_ROOT_FILE);
}

export function trustBundlePath(dataDir: string): string {
  return join(dataDir, TRUST_BUNDLE_FILE);
}

/** The pinned root key, after checking its directory and the file itself. */
export function loadTrustRoot(path: string, uid = currentUid()): PublicKeyInfo {
  const problem = directoryProblem(dirname(path), uid);
  if (problem !== null) throw new KeyUnusable(path, problem);
  return loadPublicKey(path, { uid });
}

export interface LoadTrustBundleOptions {
  /** cordon's data directory (dataDir()): holds the pinned root, the bundle and versions.json. */
  readonly dataDir: string;
  /** The pinned root public key; defaults to dataDir/trust-root.pub. */
  readonly rootKeyPath?: string;
  /** The signed bundle; defaults to dataDir/trust-bundle.dsse.json. */
  readonly bundlePath?: string;
  readonly uid?: number;
}

export interface LoadedTrustBundle {
  readonly bundle: TrustBundle;
  readonly rootKeyid: string;
  /** The highest trust-bundle version accepted on this host, after this one. */
  readonly highestVersion: number;
}

export function readEnvelopeFile(path: string): Buffer {
  return readCapped(path, MAX_ENVELOPE_BYTES);
}

export function loadTrustBundle(opts: LoadTrustBundleOptions): LoadedTrustBundle {
  const uid = opts.uid ?? currentUid();
  const root = loadTrustRoot(opts.rootKeyPath ?? trustRootPath(opts.dataDir), uid);
  const roots = new Map<string, KeyObject>([[root.keyid, root.publicKey]]);
  const bundle = verifyTrustBundle(readEnvelopeFile(opts.bundlePath ?? trustBundlePath(opts.dataDir)), roots);
  const highestVersion = acceptArtifactVersion(versionsPath(opts.dataDir), "trust-bundle", bundle.version, uid);
  return { bundle, rootKeyid: root.keyid, highestVersion };
}
