// Verify bytes, then use those same bytes: the digest is checked on the buffer that will be
// compiled, never on a path that could be re-opened and swapped.
import { createHash } from "node:crypto";
import { DigestMismatch } from "../errors.js";

export function sha256Hex(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** Returns the same buffer if its sha256 matches; throws DigestMismatch otherwise. */
export function verifyDigest(bytes: Uint8Array, expectedSha256: string, artifact: string): Uint8Array {
  const actual = sha256Hex(bytes);
  if (actual !== expectedSha256) throw new DigestMismatch(artifact, expectedSha256, actual);
  return bytes;
}
