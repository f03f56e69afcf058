// `cordon verify FILE`: reads FILE once into memory, hashes those bytes, verifies the DSSE
// envelope (payload type bound by PAE), and checks that the signed statement's one subject is
// exactly that digest. A valid signature therefore cannot vouch for other bytes, another
// payload type or another kind of artifact. Strict policy and module loading (artifacts/policy-trust.ts) calls
// verifySignedArtifact on bytes it already holds, then uses those same bytes.
import { readFileSync, statSync } from "node:fs";
import type { KeyObject } from "node:crypto";
import { ArtifactUnreadable } from "../errors.js";
import { MAX_ENVELOPE_BYTES, verifyEnvelope } from "../crypto/dsse.js";
import { SignatureInvalid } from "../crypto/errors.js";
import { sha256Hex } from "../crypto/digest.js";
import { IN_TOTO_PAYLOAD_TYPE, parseArtifactStatement } from "./statement.js";

export interface VerifiedArtifact {
  /** sha256 of the verified bytes, hex. */
  readonly sha256: string;
  /** The subject name the signer gave (informational; the digest is what binds). */
  readonly name: string;
  readonly kind: string;
  /** The signed version, or null when the signer gave none. */
  readonly version: number | null;
}

/**
 * Verifies that `envelope` (bytes or parsed JSON) is a DSSE in-toto envelope signed by one of
 * `trusted` (keyid → Ed25519 public key) whose statement names exactly `bytes` and, unless
 * `kind` is null, that kind of artifact. Pure. Throws SignatureInvalid.
 */
export function verifySignedArtifact(
  bytes: Uint8Array,
  envelope: unknown,
  kind: string | null,
  trusted: ReadonlyMap<string, KeyObject>,
  artifact = kind ?? "artifact",
): VerifiedArtifact {
  return verifySignedDigest(sha256Hex(bytes), envelope, kind, trusted, artifact);
}

/** The same check for bytes known by their digest only (hashed as they were streamed). Pure. */
export function verifySignedDigest(sha256: string, envelope: unknown, kind: string | null, trusted: ReadonlyMap<string, KeyObject>, artifact = kind ?? "artifact"): VerifiedArtifact {
  const payload = verifyEnvelope(envelope, IN_TOTO_PAYLOAD_TYPE, trusted, artifact);
  const statement = parseArtifactStatement(payload, artifact);
  if (statement.subject.sha256 !== sha256) throw new SignatureInvalid(artifact, `the signature is for other bytes (signed sha256:${statement.subject.sha256}, file sha256:${sha256})`);
  if (kind !== null && statement.predicate.kind !== kind) throw new SignatureInvalid(artifact, `the signature is for a ${statement.predicate.kind}, not a ${kind}`);
  return { sha256, name: statement.subject.name, kind: statement.predicate.kind, version: statement.predicate.version };
}

/** Reads `path` whole, refusing (before reading) a file larger than `max` bytes. */
export function readCapped(path: string, max: number): Buffer {
  try {
    const size = statSync(path).size;
    if (size > max) throw new ArtifactUnreadable(path, `${size} bytes, over the ${max}-byte cap`);
    return readFileSync(path);
  } catch (err) {
    if (err instanceof ArtifactUnreadable) throw err;
    throw new ArtifactUnreadable(path, (err as NodeJS.ErrnoException).code ?? "error");
  }
}

export interface VerifyFileOptions {
  /** Defaults to `path + ".sig.json"`. */
  readonly sigPath?: string;
  /** The artifact kind the signature must name; null accepts any kind. */
  readonly kind?: string | null;
  /** A file larger than this is refused before it is read (default 256 MiB). */
  readonly maxBytes?: number;
}

/** Reads `path` once and verifies it. Returns the verified bytes so the caller uses those. */
export function verifyFile(path: string, trusted: ReadonlyMap<string, KeyObject>, opts: VerifyFileOptions = {}): VerifiedArtifact & { readonly bytes: Buffer } {
  const bytes = readCapped(path, opts.maxBytes ?? 256 * 1024 * 1024);
  const envelope = readCapped(opts.sigPath ?? `${path}.sig.json`, MAX_ENVELOPE_BYTES);
  return { ...verifySignedArtifact(bytes, envelope, opts.kind ?? null, trusted, path), bytes };
}
