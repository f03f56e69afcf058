// The data directory's content-addressed cache of pulled artifacts, laid out as an OCI image
// layout (`$CORDON_HOME/oci`: oci-layout, blobs/sha256/<hex>, index.json listing the verified
// releases) so any OCI tool can read it, plus what cordon itself keeps there: a record per
// verified release (verified/<hex>.json) and the tags it pinned (pins.json). Every blob is
// re-hashed when it is read back; a blob is written under its digest only after its bytes
// hashed to it. Like the rest of the data directory, only its owner may write here.
import { createHash, randomBytes, type Hash } from "node:crypto";
import { closeSync, constants, existsSync, fsyncSync, mkdirSync, openSync, renameSync, statSync, unlinkSync, writeSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { currentUid, directoryProblem, readCheckedFile } from "../crypto/file-trust.js";
import { writeFileAtomic } from "../crypto/write-atomic.js";
import { readCapped } from "../artifacts/verify-file.js";
import { OciDigestMismatch, OciManifestInvalid } from "./errors.js";
import { INDEX_MEDIA_TYPE, RELEASE_ARTIFACT_TYPE, type OciArtifactKind } from "./media-types.js";
import { DIGEST } from "./reference.js";

export const CACHE_DIR = "oci";

/** What a verified pull recorded about one artifact it checked. */
export interface VerifiedArtifact {
  readonly kind: OciArtifactKind;
  /** Where the signed policy puts it (relative to the policy), or the file name (policy, trust bundle). */
  readonly path: string;
  /** The layer's digest and size. */
  readonly digest: string;
  readonly size: number;
  /** The manifest that carried it and the Sigstore bundle (blob) whose signature verified it. */
  readonly manifest: string;
  readonly bundle: string;
}

export interface VerifiedRelease {
  /** The release index's digest: what was asked for (or what its tag was pinned to). */
  readonly digest: string;
  /** `registry/repository`. */
  readonly repository: string;
  readonly verifiedAt: string;
  readonly policyVersion: number;
  readonly trustBundleVersion: number | null;
  readonly artifacts: readonly VerifiedArtifact[];
}

const artifactSchema = z.object({
  kind: z.enum(["policy", "module", "script", "trust-bundle", "rootfs", "vm-image"]),
  path: z.string().min(1).max(1024),
  digest: z.string().regex(DIGEST),
  size: z.number().int().min(0),
  manifest: z.string().regex(DIGEST),
  bundle: z.string().regex(DIGEST),
}).strict();

const releaseSchema = z.object({
  digest: z.string().regex(DIGEST),
  repository: z.string().min(1).max(512),
  verifiedAt: z.string().max(64),
  policyVersion: z.number().int().min(1),
  trustBundleVersion: z.number().int().min(1).nullable(),
  artifacts: z.array(artifactSchema).max(1024),
}).strict();

const pinsSchema = z.object({ pins: z.record(z.string().max(700), z.object({ digest: z.string().regex(DIGEST), pinnedAt: z.string().max(64) }).strict()) }).strict();

function hexOf(digest: string): string {
  if (!DIGEST.test(digest)) throw new OciManifestInvalid(digest.slice(0, 80), "not a sha256 digest");
  return digest.slice("sha256:".length);
}

/** A blob being written: hashed as it arrives, renamed under its digest only if it matches. */
export interface BlobWriter {
  readonly hash: Hash;
  write(chunk: Uint8Array): void;
  /** Checks the digest and moves the file into place; throws OciDigestMismatch (and removes it) otherwise. */
  commit(digest: string, what: string): void;
  abort(): void;
}

export class ContentCache {
  private constructor(readonly root: string, private readonly uid: number) {}

  /** Opens (creating) `dataDir/oci`, refusing a directory others could write. */
  static open(dataDir: string, uid = currentUid()): ContentCache {
    const root = join(dataDir, CACHE_DIR);
    mkdirSync(join(root, "blobs", "sha256"), { recursive: true, mode: 0o700 });
    mkdirSync(join(root, "verified"), { recursive: true, mode: 0o700 });
    for (const dir of [dataDir, root, join(root, "blobs", "sha256"), join(root, "verified")]) {
      const problem = directoryProblem(dir, uid);
      if (problem !== null) throw new OciManifestInvalid("the content cache", problem);
    }
    const layout = join(root, "oci-layout");
    if (!existsSync(layout)) writeFileAtomic(layout, `${JSON.stringify({ imageLayoutVersion: "1.0.0" })}\n`, 0o600);
    return new ContentCache(root, uid);
  }

  blobPath(digest: string): string {
    return join(this.root, "blobs", "sha256", hexOf(digest));
  }

  has(digest: string): boolean {
    return existsSync(this.blobPath(digest));
  }

  /** Stores bytes under their digest, which must be `digest`. */
  put(bytes: Uint8Array, digest: string, what: string): void {
    const w = this.writer();
    w.write(bytes);
    w.commit(digest, what);
  }

  writer(): BlobWriter {
    const tmp = join(this.root, "blobs", `.incoming-${randomBytes(8).toString("hex")}`);
    const fd = openSync(tmp, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY | constants.O_NOFOLLOW, 0o600);
    const hash = createHash("sha256");
    let open = true;
    const close = () => {
      if (!open) return;
      open = false;
      closeSync(fd);
    };
    return {
      hash,
      write(chunk) {
        hash.update(chunk);
        let at = 0;
        while (at < chunk.byteLength) at += writeSync(fd, chunk, at, chunk.byteLength - at);
      },
      commit: (digest, what) => {
        fsyncSync(fd);
        close();
        const actual = `sha256:${hash.digest("hex")}`;
        if (actual !== digest) {
          unlinkSync(tmp);
          throw new OciDigestMismatch(what, digest, actual);
        }
        renameSync(tmp, this.blobPath(digest));
      },
      abort() {
        close();
        try {
          unlinkSync(tmp);
        } catch {
          // already gone
        }
      },
    };
  }

  /** Reads a cached blob (under `cap`) and re-hashes it: a cached file that changed is refused. */
  read(digest: string, cap: number, what: string): Buffer {
    const bytes = readCapped(this.blobPath(digest), cap);
    const actual = `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
    if (actual !== digest) throw new OciDigestMismatch(`cached ${what}`, digest, actual);
    return bytes;
  }

  size(digest: string): number {
    return statSync(this.blobPath(digest)).size;
  }

  /** Records a verified release, and lists it in the layout's index.json. */
  recordVerified(release: VerifiedRelease): void {
    writeFileAtomic(join(this.root, "verified", `${hexOf(release.digest)}.json`), `${JSON.stringify(release, null, 2)}\n`, 0o600);
    const indexPath = join(this.root, "index.json");
    const read = readCheckedFile(indexPath, "trusted", this.uid);
    let manifests: Array<Record<string, unknown>> = [];
    if (read.ok) {
      try {
        manifests = ((JSON.parse(read.bytes.toString("utf8")) as { manifests?: Array<Record<string, unknown>> }).manifests ?? []).filter((m) => m["digest"] !== release.digest);
      } catch {
        manifests = [];
      }
    }
    const size = this.has(release.digest) ? this.size(release.digest) : 0;
    manifests.push({ mediaType: INDEX_MEDIA_TYPE, digest: release.digest, size, artifactType: RELEASE_ARTIFACT_TYPE, annotations: { "org.opencontainers.image.ref.name": release.digest.replace(":", "-"), "dev.cordon.repository": release.repository, "dev.cordon.verified": release.verifiedAt } });
    writeFileAtomic(indexPath, `${JSON.stringify({ schemaVersion: 2, mediaType: INDEX_MEDIA_TYPE, manifests })}\n`, 0o600);
  }

  /** The record of a verified release, or null if this cache never verified it. */
  verified(digest: string): VerifiedRelease | null {
    const read = readCheckedFile(join(this.root, "verified", `${hexOf(digest)}.json`), "trusted", this.uid);
    if (!read.ok) {
      if (read.missing) return null;
      throw new OciManifestInvalid("a verified-release record", read.reason);
    }
    let value: unknown;
    try {
      value = JSON.parse(read.bytes.toString("utf8"));
    } catch {
      throw new OciManifestInvalid("a verified-release record", "not JSON");
    }
    const parsed = releaseSchema.safeParse(value);
    if (!parsed.success || parsed.data.digest !== digest) throw new OciManifestInvalid("a verified-release record", "malformed");
    return parsed.data;
  }

  #pins(): Record<string, { digest: string; pinnedAt: string }> {
    const read = readCheckedFile(join(this.root, "pins.json"), "trusted", this.uid);
    if (!read.ok) {
      if (read.missing) return {};
      throw new OciManifestInvalid("pins.json", read.reason);
    }
    let value: unknown;
    try {
      value = JSON.parse(read.bytes.toString("utf8"));
    } catch {
      throw new OciManifestInvalid("pins.json", "not JSON");
    }
    const parsed = pinsSchema.safeParse(value);
    if (!parsed.success) throw new OciManifestInvalid("pins.json", "malformed");
    return parsed.data.pins;
  }

  /** The digest a tag reference (`registry/repository:tag`) was pinned to, or null. */
  pinned(reference: string): string | null {
    return this.#pins()[reference]?.digest ?? null;
  }

  pin(reference: string, digest: string, at: Date): void {
    const pins = { ...this.#pins(), [reference]: { digest, pinnedAt: at.toISOString() } };
    writeFileAtomic(join(this.root, "pins.json"), `${JSON.stringify({ pins }, null, 2)}\n`, 0o600);
  }
}
