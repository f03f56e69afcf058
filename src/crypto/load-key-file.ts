// Key files named on the command line: an Ed25519 private key (PKCS#8 PEM) to sign with, or a
// public key (SPKI PEM) to trust. A private key file readable by group or others is refused:
// whoever can read it can sign. Keys never come from the environment.
// (Interim: `cordon keys init` will own key handling; this is the small loader its callers use.)
import { createPrivateKey, createPublicKey, type KeyObject } from "node:crypto";
import { open } from "node:fs/promises";
import { keyId, ed25519PublicKey, type SigningKey } from "./dsse.js";
import { KeyUnusable } from "./errors.js";

/** Key files are a few hundred bytes; anything larger is not one. */
const MAX_KEY_FILE_BYTES = 64 * 1024;

/**
 * Loads an Ed25519 signing key from a PKCS#8 PEM file. Throws KeyUnusable if the file is
 * missing, not a regular file, group/world-accessible, or not an Ed25519 private key. The
 * file is opened once and checked through that same handle (no stat-then-open race).
 */
export async function loadSigningKeyFile(path: string): Promise<SigningKey> {
  const pem = await readKeyFile(path, true);
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey({ key: pem, format: "pem" });
  } catch {
    throw new KeyUnusable(path, "not a PEM private key");
  }
  if (privateKey.asymmetricKeyType !== "ed25519") throw new KeyUnusable(path, "not an Ed25519 key");
  return { keyid: keyId(createPublicKey(privateKey)), privateKey };
}

/** Loads an Ed25519 public key (SPKI PEM) as a one-key trust map: keyid → key. */
export async function loadTrustedKeyFile(path: string): Promise<ReadonlyMap<string, KeyObject>> {
  const pem = await readKeyFile(path, false);
  let key: KeyObject;
  try {
    key = ed25519PublicKey(pem, path);
  } catch {
    throw new KeyUnusable(path, "not an Ed25519 public key (PEM)");
  }
  return new Map([[keyId(key), key]]);
}

async function readKeyFile(path: string, secret: boolean): Promise<string> {
  let handle;
  try {
    handle = await open(path, "r");
  } catch (err) {
    const code = typeof err === "object" && err !== null ? (err as { code?: unknown }).code : undefined;
    throw new KeyUnusable(path, typeof code === "string" ? code : "cannot open");
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) throw new KeyUnusable(path, "not a regular file");
    if (secret && (stat.mode & 0o077) !== 0) {
      throw new KeyUnusable(path, `mode ${(stat.mode & 0o777).toString(8)} lets group or others read it; chmod 600`);
    }
    if (stat.size > MAX_KEY_FILE_BYTES) throw new KeyUnusable(path, "too large to be a key");
    return await handle.readFile("utf8");
  } finally {
    await handle.close();
  }
}
