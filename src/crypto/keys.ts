// Ed25519 signing keys on disk. A private key is PKCS#8 PEM, created with O_EXCL and mode
// 0600 (never overwritten), and refused at load if anyone but its owner could read it. Its
// public key sits beside it as SPKI PEM at `path + ".pub"`. Keys are only ever read from
// files: never from the environment (see env-key-offers.ts).
import { closeSync, constants, fchmodSync, fsyncSync, openSync, unlinkSync, writeSync } from "node:fs";
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from "node:crypto";
import { ed25519PublicKey, keyId, type SigningKey } from "./dsse.js";
import { KeyUnusable, SignatureInvalid } from "./errors.js";
import { currentUid, readCheckedFile } from "./file-trust.js";

export interface PublicKeyInfo {
  /** sha256 of the SPKI DER, hex (see dsse.ts keyId). */
  readonly keyid: string;
  readonly publicKey: KeyObject;
}

export interface KeyFileOptions {
  /** The uid that must own the file; defaults to the current process's. */
  readonly uid?: number;
}

/** Writes `text` to a new file; refuses (EEXIST) if anything is already at `path`. */
function writeExclusive(path: string, text: string, mode: number): void {
  const fd = openSync(path, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY | constants.O_NOFOLLOW, mode);
  try {
    fchmodSync(fd, mode);
    const bytes = Buffer.from(text, "utf8");
    let at = 0;
    while (at < bytes.byteLength) at += writeSync(fd, bytes, at, bytes.byteLength - at);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function refusal(path: string, err: unknown, what: string): KeyUnusable {
  const code = (err as NodeJS.ErrnoException).code;
  return new KeyUnusable(path, code === "EEXIST" ? `${what} already exists; refusing to overwrite it` : `cannot create ${what}: ${code ?? "error"}`);
}

/**
 * Creates an Ed25519 key pair: the private key at `path` (mode 0600), the public key at
 * `path.pub`. Refuses to overwrite either. Returns the public key's fingerprint.
 */
export function initKey(path: string): string {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  const privatePem = privateKey.export({ type: "pkcs8", format: "pem" }) as string;
  const publicPem = publicKey.export({ type: "spki", format: "pem" }) as string;
  try {
    writeExclusive(path, privatePem, 0o600);
  } catch (err) {
    throw refusal(path, err, "the key file");
  }
  try {
    writeExclusive(`${path}.pub`, publicPem, 0o644);
  } catch (err) {
    unlinkSync(path);
    throw refusal(`${path}.pub`, err, "the public key file");
  }
  return keyId(publicKey);
}

/** Parses an Ed25519 private key from PKCS#8 PEM. The key material never enters an error. */
export function parseSigningKey(pem: Buffer, name: string): SigningKey {
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey({ key: pem, format: "pem" });
  } catch {
    throw new KeyUnusable(name, "not a PEM private key");
  }
  if (privateKey.asymmetricKeyType !== "ed25519") throw new KeyUnusable(name, `an ${privateKey.asymmetricKeyType ?? "unknown"} key, not Ed25519`);
  return { keyid: keyId(createPublicKey(privateKey)), privateKey };
}

/**
 * Loads a private signing key. Refuses a file that is not a regular file, not owned by the
 * current uid, or readable/writable by group or others (the reason names the mode).
 */
export function loadSigningKey(path: string, opts: KeyFileOptions = {}): SigningKey {
  const read = readCheckedFile(path, "secret", opts.uid ?? currentUid());
  if (!read.ok) throw new KeyUnusable(path, read.reason);
  try {
    return parseSigningKey(read.bytes, path);
  } finally {
    read.bytes.fill(0);
  }
}

/**
 * Loads an Ed25519 public key (SPKI PEM). Refuses a file writable by group or others, or
 * owned by anyone but the current uid or root: whoever can write it decides what is trusted.
 */
export function loadPublicKey(path: string, opts: KeyFileOptions = {}): PublicKeyInfo {
  const read = readCheckedFile(path, "trusted", opts.uid ?? currentUid());
  if (!read.ok) throw new KeyUnusable(path, read.reason);
  const text = read.bytes.toString("utf8");
  if (!/^-----BEGIN PUBLIC KEY-----\r?\n[A-Za-z0-9+/=\r\n]+-----END PUBLIC KEY-----\s*$/.test(text)) throw new KeyUnusable(path, "not an SPKI PEM public key");
  let publicKey: KeyObject;
  try {
    publicKey = ed25519PublicKey(text, path);
  } catch (err) {
    throw new KeyUnusable(path, err instanceof SignatureInvalid ? err.reason : "not a public key");
  }
  return { keyid: keyId(publicKey), publicKey };
}
