// `cordon trust init`: creates (or reuses) the root key, pins its public key in cordon's data
// directory, and signs a trust bundle built from a small YAML/JSON input. For convenience the
// input may name public key files instead of writing JWKs or PEMs inline:
//   issuers[].keyFiles: [issuer.key.pub]     -> appended to issuers[].jwks.keys (kid = thumbprint)
//   policySigners: [{ keyFile: policy.key.pub }] -> { pem }
// Paths are relative to the input file. Everything else is the bundle schema (trust-bundle.ts).
import { closeSync, constants, existsSync, mkdirSync, openSync, readFileSync, writeSync } from "node:fs";
import { createPublicKey, type KeyObject } from "node:crypto";
import { join, resolve } from "node:path";
import { ArtifactUnreadable } from "../errors.js";
import { checkArtifactVersion, readVersionState, versionsPath } from "../artifacts/artifact-versions.js";
import { signEnvelope } from "../crypto/dsse.js";
import { KeyUnusable } from "../crypto/errors.js"
import { TrustBundleInvalid } from "../artifacts/errors.js";
import { currentUid, directoryProblem } from "../crypto/file-trust.js";
import { initKey, loadSigningKey } from "../crypto/keys.js";
import { loadTrustBundle, loadTrustRoot, trustBundlePath, trustRootPath, type LoadedTrustBundle } from "../artifacts/load-trust-bundle.js";
import { publicJwk } from "../authn/mint-token.js";
import { parseTrustBundle, TRUST_BUNDLE_PAYLOAD_TYPE } from "../artifacts/trust-bundle.js";
import { writeFileAtomic } from "../crypto/write-atomic.js";

export const ROOT_KEY_FILE = "trust-root.key";

function readPublicPem(path: string, at: string): string {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new ArtifactUnreadable(path, (err as NodeJS.ErrnoException).code ?? "error");
  }
  if (text.includes("PRIVATE")) throw new TrustBundleInvalid([{ path: at, problem: "names a private key file; give the .pub file" }]);
  return text;
}

function publicKeyFrom(pem: string, at: string): KeyObject {
  try {
    return createPublicKey(pem);
  } catch {
    throw new TrustBundleInvalid([{ path: at, problem: "not a public key" }]);
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Resolves `keyFiles` and `{ keyFile }` entries of an input document into bundle members. */
export async function resolveBundleInput(input: unknown, baseDir: string): Promise<unknown> {
  if (!isRecord(input)) return input;
  const doc: Record<string, unknown> = structuredClone(input);
  if (Array.isArray(doc["issuers"])) {
    doc["issuers"] = await Promise.all(
      doc["issuers"].map(async (issuer: unknown, i) => {
        if (!isRecord(issuer) || issuer["keyFiles"] === undefined) return issuer;
        const { keyFiles, ...rest } = issuer;
        const at = `$.issuers[${i}].keyFiles`;
        if (!Array.isArray(keyFiles) || !keyFiles.every((f) => typeof f === "string")) throw new TrustBundleInvalid([{ path: at, problem: "must be a list of paths" }]);
        const jwks = isRecord(rest["jwks"]) && Array.isArray(rest["jwks"]["keys"]) ? [...(rest["jwks"]["keys"] as unknown[])] : [];
        for (const f of keyFiles) jwks.push(await publicJwk(publicKeyFrom(readPublicPem(resolve(baseDir, f), at), at)));
        return { ...rest, jwks: { keys: jwks } };
      }),
    );
  }
  for (const list of ["policySigners", "moduleSigners", "launchSigners"]) {
    const signers = doc[list];
    if (!Array.isArray(signers)) continue;
    doc[list] = signers.map((s: unknown, i) => {
      if (!isRecord(s) || typeof s["keyFile"] !== "string") return s;
      const { keyFile, ...rest } = s;
      return { ...rest, pem: readPublicPem(resolve(baseDir, keyFile), `$.${list}[${i}].keyFile`) };
    });
  }
  return doc;
}

export interface InitTrustOptions {
  readonly dataDir: string;
  /** The parsed input document (see the file comment). */
  readonly input: unknown;
  /** Where relative key file paths in the input are resolved. */
  readonly baseDir: string;
  /** The root private key; created if missing. Defaults to dataDir/trust-root.key. */
  readonly rootKeyPath?: string;
  readonly bundlePath?: string;
  readonly uid?: number;
}

export interface InitTrustResult extends LoadedTrustBundle {
  readonly createdRoot: boolean;
  readonly rootKeyPath: string;
  readonly bundlePath: string;
}

/** Pins `pem` at `path` unless a key is already pinned there; a different pinned key is refused. */
function pinRoot(path: string, keyid: string, pem: string, uid: number): void {
  if (existsSync(path)) {
    const pinned = loadTrustRoot(path, uid);
    if (pinned.keyid !== keyid) throw new KeyUnusable(path, `a different root key (${pinned.keyid.slice(0, 16)}…) is already pinned; remove it deliberately to re-pin`);
    return;
  }
  const fd = openSync(path, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY | constants.O_NOFOLLOW, 0o644);
  try {
    writeSync(fd, pem);
  } finally {
    closeSync(fd);
  }
}

export async function initTrust(opts: InitTrustOptions): Promise<InitTrustResult> {
  const uid = opts.uid ?? currentUid();
  mkdirSync(opts.dataDir, { recursive: true, mode: 0o700 });
  const dirProblem = directoryProblem(opts.dataDir, uid);
  if (dirProblem !== null) throw new KeyUnusable(opts.dataDir, dirProblem);
  const rootKeyPath = opts.rootKeyPath ?? join(opts.dataDir, ROOT_KEY_FILE);
  const createdRoot = !existsSync(rootKeyPath);
  if (createdRoot) initKey(rootKeyPath);
  const root = loadSigningKey(rootKeyPath, { uid });
  pinRoot(trustRootPath(opts.dataDir), root.keyid, createPublicKey(root.privateKey).export({ type: "spki", format: "pem" }) as string, uid);
  const doc = await resolveBundleInput(opts.input, opts.baseDir);
  const payload = Buffer.from(JSON.stringify(doc), "utf8");
  const bundle = parseTrustBundle(payload);
  checkArtifactVersion(readVersionState(versionsPath(opts.dataDir), uid), "trust-bundle", bundle.version);
  const bundlePath = opts.bundlePath ?? trustBundlePath(opts.dataDir);
  writeFileAtomic(bundlePath, `${JSON.stringify(signEnvelope(TRUST_BUNDLE_PAYLOAD_TYPE, payload, root), null, 2)}\n`, 0o644);
  const loaded = loadTrustBundle({ dataDir: opts.dataDir, bundlePath, uid });
  return { ...loaded, createdRoot, rootKeyPath, bundlePath };
}
