// `cordon init` (and the first step of `cordon up`): a development trust setup in cordon's data
// directory. It creates, once, a root key (pinned as trust-root.pub), a token issuer key and a
// publisher key; signs a trust bundle naming them; and signs the policy, its modules and
// scripts into signatures/<sha256>.sig.json. Re-running reuses the keys; a changed policy gets
// the next version. For production, make these keys elsewhere and use `cordon trust init` and
// `cordon sign` instead: this is the path that makes the bundled example run signed out of the box.
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { SIGNATURES_DIR } from "../artifacts/policy-trust.js";
import { sha256Hex } from "../crypto/digest.js";
import { readVersionState, versionsPath } from "../artifacts/artifact-versions.js";
import { initTrust } from "./init-trust.js";
import { initKey, loadSigningKey } from "../crypto/keys.js";
import { signArtifact, signDigest } from "../artifacts/sign-file.js";
import { parseArtifactStatement } from "../artifacts/statement.js";
import { writeFileAtomic } from "../crypto/write-atomic.js";
import { writeRuntimeLock } from "../lock/write-lock.js";
import { loadPolicy } from "../policy/load-policy.js";
import { ISSUER_KEY_FILE, PUBLISHER_KEY_FILE } from "../config/defaults.js";

export const DEV_ISSUER = "https://issuer.cordon.localhost";
/** Signs the audit log's checkpoints: held by the running control plane, so kept apart from the publisher key. */
export const CHECKPOINT_KEY_FILE = "checkpoint.key";
/** The runtime lock of this installation, signed by the publisher key. */
export const RUNTIME_LOCK_FILE = "runtime.lock.json";

export interface DevInit {
  readonly issuer: string;
  readonly audience: string;
  readonly issuerKeyPath: string;
  readonly policyVersion: number;
  readonly signed: number;
  readonly createdKeys: boolean;
  /** Components locked by this run (null: a lock already existed and was kept). */
  readonly lockedComponents: number | null;
}

function ensureKey(path: string): boolean {
  if (existsSync(path)) return false;
  initKey(path);
  return true;
}

function signInto(dir: string, bytes: Uint8Array, name: string, kind: string, keyPath: string, version?: number): string {
  const key = loadSigningKey(keyPath);
  const path = join(dir, `${sha256Hex(bytes)}.sig.json`);
  writeFileAtomic(path, `${JSON.stringify(signArtifact(bytes, name, key, version === undefined ? { kind } : { kind, version }), null, 2)}\n`, 0o644);
  return path;
}

/** The version already signed for these exact policy bytes, if any. */
function signedVersion(path: string): number | null {
  if (!existsSync(path)) return null;
  try {
    const env = JSON.parse(readFileSync(path, "utf8")) as { payload: string };
    return parseArtifactStatement(Buffer.from(env.payload, "base64"), path).predicate.version;
  } catch {
    return null;
  }
}

export async function devInit(opts: { dataDir: string; policyPath: string; audience: string; packageRoot: string }): Promise<DevInit> {
  mkdirSync(opts.dataDir, { recursive: true, mode: 0o700 });
  const issuerKeyPath = join(opts.dataDir, ISSUER_KEY_FILE);
  const publisherKeyPath = join(opts.dataDir, PUBLISHER_KEY_FILE);
  const created = [issuerKeyPath, publisherKeyPath, join(opts.dataDir, CHECKPOINT_KEY_FILE)].map(ensureKey).some(Boolean);
  const input = {
    version: 1,
    issuers: [
      { issuer: DEV_ISSUER, audience: opts.audience, algorithms: ["EdDSA"], keyFiles: [`${ISSUER_KEY_FILE}.pub`], roleClaim: "role", requireTyp: "at+jwt", maxTokenAgeSec: 86_400, clockSkewSec: 60 },
    ],
    policySigners: [{ keyFile: `${PUBLISHER_KEY_FILE}.pub` }],
    moduleSigners: [{ keyFile: `${PUBLISHER_KEY_FILE}.pub` }],
  };
  const state = readVersionState(versionsPath(opts.dataDir));
  const bundleVersion = state["trust-bundle"] ?? 1;
  await initTrust({ dataDir: opts.dataDir, input: { ...input, version: bundleVersion }, baseDir: opts.dataDir });
  const sigDir = join(opts.dataDir, SIGNATURES_DIR);
  mkdirSync(sigDir, { recursive: true, mode: 0o755 });
  const policyBytes = readFileSync(opts.policyPath);
  const sigPath = join(sigDir, `${sha256Hex(policyBytes)}.sig.json`);
  const policyVersion = signedVersion(sigPath) ?? (state.policy ?? 0) + 1;
  signInto(sigDir, policyBytes, "policy.yaml", "policy", publisherKeyPath, policyVersion);
  // Read through the same loader the runtime uses (unsigned here), to find every artifact.
  const policy = loadPolicy(opts.policyPath);
  const base = dirname(resolve(opts.policyPath));
  let signed = 1;
  const images = new Set<string>();
  for (const tool of policy.tools.values()) {
    if (tool.tier === "container" && !images.has(tool.image.sha256)) {
      // Signed by the digest the loader streamed (an image is never held whole).
      images.add(tool.image.sha256);
      const envelope = signDigest(tool.image.sha256, basename(tool.image.absPath), loadSigningKey(publisherKeyPath), { kind: "image" });
      writeFileAtomic(join(sigDir, `${tool.image.sha256}.sig.json`), `${JSON.stringify(envelope, null, 2)}\n`, 0o644);
      signed += 1;
    }
    const artifact = tool.tier === "wasm" ? { path: tool.modulePath, bytes: tool.moduleBytes } : tool.command.script;
    if (artifact === null) continue;
    signInto(sigDir, artifact.bytes, basename(resolve(base, artifact.path)), "module", publisherKeyPath);
    signed += 1;
  }
  // Lock this installation once; afterwards a changed file is refused at start until someone
  // deliberately re-locks (cordon lock --key publisher.key --out <dataDir>/runtime.lock.json).
  const lockPath = join(opts.dataDir, RUNTIME_LOCK_FILE);
  const locked = existsSync(lockPath) ? null : await writeRuntimeLock(opts.packageRoot, loadSigningKey(publisherKeyPath), lockPath);
  return { issuer: DEV_ISSUER, audience: opts.audience, issuerKeyPath, policyVersion, signed, createdKeys: created, lockedComponents: locked?.components ?? null };
}
