// `cordon sign FILE`: a detached signature in FILE.sig.json. The file is read once; the
// envelope is DSSE (payload type application/vnd.in-toto+json) over an in-toto Statement whose
// one subject is the sha256 of those bytes.
import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { signEnvelope, type Envelope, type SigningKey } from "../crypto/dsse.js";
import { ArtifactUnreadable } from "../errors.js";
import { loadSigningKey } from "../crypto/keys.js";
import { sha256Hex } from "../crypto/digest.js";
import { buildArtifactStatement, buildDigestStatement, IN_TOTO_PAYLOAD_TYPE, type ArtifactPredicate } from "./statement.js";
import { writeFileAtomic } from "../crypto/write-atomic.js";

/** Signs `bytes` (named `name` in the statement). Pure: no I/O. */
export function signArtifact(bytes: Uint8Array, name: string, key: SigningKey, predicate: ArtifactPredicate): Envelope {
  return signEnvelope(IN_TOTO_PAYLOAD_TYPE, buildArtifactStatement(bytes, name, predicate), key);
}

/** Signs the bytes whose sha256 is `sha256` (streamed elsewhere: a container image). Pure. */
export function signDigest(sha256: string, name: string, key: SigningKey, predicate: ArtifactPredicate): Envelope {
  return signEnvelope(IN_TOTO_PAYLOAD_TYPE, buildDigestStatement(sha256, name, predicate), key);
}

export interface SignFileOptions {
  readonly keyPath: string;
  readonly predicate: ArtifactPredicate;
  /** Where the envelope goes; defaults to `path + ".sig.json"`. */
  readonly out?: string;
}

export interface SignedFile {
  readonly sigPath: string;
  readonly sha256: string;
  readonly keyid: string;
}

export function signFile(path: string, opts: SignFileOptions): SignedFile {
  const key = loadSigningKey(opts.keyPath);
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    throw new ArtifactUnreadable(path, (err as NodeJS.ErrnoException).code ?? "error");
  }
  const envelope = signArtifact(bytes, basename(path), key, opts.predicate);
  const sigPath = opts.out ?? `${path}.sig.json`;
  writeFileAtomic(sigPath, `${JSON.stringify(envelope, null, 2)}\n`, 0o644);
  return { sigPath, sha256: sha256Hex(bytes), keyid: key.keyid };
}
