// `cordon publish REF`: the current signed artifacts, as they are on this machine, pushed as one
// release. The policy and every file it pins (modules, scripts, images), the trust bundle, and
// the signatures `cordon sign` / `cordon init` made for them: nothing is re-signed here, so
// publishing needs no private key. Each signature is checked against the local trust bundle
// before it leaves (an unsigned or wrongly signed artifact is refused, not published), wrapped
// unchanged as a Sigstore bundle, and attached to its artifact's manifest as an OCI referrer:
// through the referrers API where the registry has one, else through the tag schema
// (`sha256-<hex>` indexes). Manifests are deterministic, so publishing twice is a no-op.
import { closeSync, openSync, readSync, statSync } from "node:fs";
import { createHash } from "node:crypto";
import { basename, dirname, isAbsolute, resolve } from "node:path";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { SIGNATURES_DIR, signatureFor } from "../artifacts/policy-trust.js";
import { loadTrustBundle, readEnvelopeFile, trustBundlePath } from "../artifacts/load-trust-bundle.js";
import { ARTIFACT_PREDICATE_TYPE, IN_TOTO_PAYLOAD_TYPE, parseArtifactStatement } from "../artifacts/statement.js";
import { SignatureInvalid } from "../crypto/errors.js";
import { verifySignedArtifact } from "../artifacts/verify-file.js";
import { verifyEnvelope, type Envelope } from "../crypto/dsse.js";
import { readCapped } from "../artifacts/verify-file.js";
import { parsePolicy } from "../policy/load-policy.js";
import { OciManifestInvalid, OciNotFound } from "./errors.js";
import { buildArtifactManifest, buildReferrersIndex, buildReleaseIndex, buildSignatureManifest, layerDescriptor, parseReferrers, referrersTag, type ReleaseMember } from "./manifests.js";
import { EMPTY_CONFIG, EMPTY_CONFIG_BYTES, INDEX_MEDIA_TYPE, KIND_MEDIA, MANIFEST_MEDIA_TYPE, MAX_INDEX_BYTES, SIGSTORE_BUNDLE_MEDIA_TYPE, type OciArtifactKind } from "./media-types.js";
import { formatReference, pinnedReference, type OciReference } from "./reference.js";
import { sha256Digest, type Descriptor, type RegistryClient } from "./registry-client.js";
import { artifactRefs } from "./policy-artifacts.js";
import { toSigstoreBundle } from "./sigstore-bundle.js";
import { IN_MEMORY_BYTES } from "./pull-release.js";

export interface PublishOptions {
  readonly dataDir: string;
  readonly policyPath: string;
  readonly reference: OciReference;
  readonly client: RegistryClient;
  readonly onProgress?: (what: string) => void;
}

export interface PublishedRelease {
  readonly digest: string;
  /** `registry/repository@sha256:…`: what to pull and start from. */
  readonly pinned: string;
  readonly artifacts: number;
  readonly bytes: number;
  readonly uploaded: { readonly monolithic: number; readonly chunked: number; readonly existing: number };
  /** How signatures were attached: the referrers API, or the tag schema. */
  readonly referrers: "api" | "tag-schema";
}

/** A file to publish: its bytes (small) or its path (large), its digest, and its signature envelope. */
interface Source {
  readonly kind: OciArtifactKind;
  readonly title: string;
  readonly digest: string;
  readonly size: number;
  readonly version: number | null;
  readonly chunkAt: (offset: number, length: number) => Uint8Array;
  readonly envelope: Envelope;
  readonly predicateType: string | null;
}

function fromBytes(bytes: Buffer): (offset: number, length: number) => Uint8Array {
  return (offset, length) => bytes.subarray(offset, offset + length);
}

/** A large file read in ranges from its descriptor, hashed once up front. */
function fromFile(path: string): { digest: string; size: number; chunkAt: (offset: number, length: number) => Uint8Array } {
  const size = statSync(path).size;
  const fd = openSync(path, "r");
  const hash = createHash("sha256");
  const buf = Buffer.alloc(8 * 1024 * 1024);
  try {
    for (let at = 0; at < size; ) {
      const n = readSync(fd, buf, 0, Math.min(buf.byteLength, size - at), at);
      if (n === 0) break;
      hash.update(buf.subarray(0, n));
      at += n;
    }
  } finally {
    closeSync(fd);
  }
  return {
    digest: `sha256:${hash.digest("hex")}`,
    size,
    chunkAt: (offset, length) => {
      const out = Buffer.alloc(length);
      const f = openSync(path, "r");
      try {
        let at = 0;
        while (at < length) {
          const n = readSync(f, out, at, length - at, offset + at);
          if (n === 0) break;
          at += n;
        }
      } finally {
        closeSync(f);
      }
      return out;
    },
  };
}

/** FILE.sig.json beside a large file, or the data directory's signature for its digest. */
function signatureByDigest(path: string, digest: string, dataDir: string): Buffer {
  const beside = `${path}.sig.json`;
  if (existsSync(beside)) return readEnvelopeFile(beside);
  const stored = join(dataDir, SIGNATURES_DIR, `${digest.slice("sha256:".length)}.sig.json`);
  if (existsSync(stored)) return readEnvelopeFile(stored);
  throw new SignatureInvalid(path, "no signature (neither FILE.sig.json nor one in cordon's data directory)");
}

function envelopeOf(bytes: Buffer, what: string): Envelope {
  try {
    return JSON.parse(bytes.toString("utf8")) as Envelope;
  } catch {
    throw new OciManifestInvalid(what, "its signature is not JSON");
  }
}

/** The predicate kind an artifact of `kind` is signed as (an image by its digest, as "image"). */
function signedKindOf(kind: OciArtifactKind): string {
  const signed = KIND_MEDIA[kind].signedKind;
  if (signed === null) throw new Error(`${kind} is not signed as a statement`);
  return signed;
}

/** Everything to publish, each signature checked against the local trust bundle first. */
function collect(opts: PublishOptions): Source[] {
  const { bundle } = loadTrustBundle({ dataDir: opts.dataDir });
  const sources: Source[] = [];
  const tbEnvelopeBytes = readEnvelopeFile(trustBundlePath(opts.dataDir));
  const tbEnvelope = envelopeOf(tbEnvelopeBytes, "the trust bundle");
  const tbPayload = Buffer.from(tbEnvelope.payload, "base64");
  sources.push({ kind: "trust-bundle", title: "trust-bundle.json", digest: sha256Digest(tbPayload), size: tbPayload.byteLength, version: bundle.version, chunkAt: fromBytes(tbPayload), envelope: tbEnvelope, predicateType: null });
  const policyPath = resolve(opts.policyPath);
  const policyBytes = readCapped(policyPath, KIND_MEDIA.policy.maxBytes);
  const policySig = signatureFor(policyPath, policyBytes, opts.dataDir);
  const checked = verifySignedArtifact(policyBytes, policySig, "policy", bundle.policySigners, policyPath);
  sources.push({ kind: "policy", title: basename(policyPath), digest: sha256Digest(policyBytes), size: policyBytes.byteLength, version: checked.version, chunkAt: fromBytes(policyBytes), envelope: envelopeOf(policySig, policyPath), predicateType: ARTIFACT_PREDICATE_TYPE });
  const { spec } = parsePolicy(policyBytes.toString("utf8"));
  const dir = dirname(policyPath);
  const seen = new Set<string>();
  for (const ref of artifactRefs(spec)) {
    if (seen.has(`${ref.kind}:${ref.sha256}`)) continue;
    seen.add(`${ref.kind}:${ref.sha256}`);
    const path = isAbsolute(ref.path) ? ref.path : resolve(dir, ref.path);
    const size = statSync(path).size;
    if (size <= IN_MEMORY_BYTES) {
      const bytes = readCapped(path, KIND_MEDIA[ref.kind].maxBytes);
      const sig = signatureFor(path, bytes, opts.dataDir);
      verifySignedArtifact(bytes, sig, signedKindOf(ref.kind), bundle.moduleSigners, path);
      if (sha256Digest(bytes) !== `sha256:${ref.sha256}`) throw new OciManifestInvalid(path, `it is not the sha256:${ref.sha256} the policy pins`);
      sources.push({ kind: ref.kind, title: basename(path), digest: sha256Digest(bytes), size, version: null, chunkAt: fromBytes(bytes), envelope: envelopeOf(sig, path), predicateType: ARTIFACT_PREDICATE_TYPE });
    } else {
      const file = fromFile(path);
      if (file.digest !== `sha256:${ref.sha256}`) throw new OciManifestInvalid(path, `it is not the sha256:${ref.sha256} the policy pins`);
      // A large image is never read whole: its signature is found and checked by its digest.
      const sig = signatureByDigest(path, file.digest, opts.dataDir);
      const statement = parseArtifactStatement(verifyEnvelope(sig, IN_TOTO_PAYLOAD_TYPE, bundle.moduleSigners, path), path);
      if (`sha256:${statement.subject.sha256}` !== file.digest || statement.predicate.kind !== signedKindOf(ref.kind)) throw new SignatureInvalid(path, "its signature is for other bytes or another kind");
      sources.push({ kind: ref.kind, title: basename(path), digest: file.digest, size: file.size, version: null, chunkAt: file.chunkAt, envelope: envelopeOf(sig, path), predicateType: ARTIFACT_PREDICATE_TYPE });
    }
  }
  return sources;
}

/** Adds `sig` to the tag-schema index of `subject` (`sha256-<hex>`), unless it is listed already. */
async function attachByTag(client: RegistryClient, repository: string, subject: string, sig: Descriptor): Promise<void> {
  const tag = referrersTag(subject);
  let listed: Descriptor[] = [];
  try {
    listed = parseReferrers((await client.getManifest(repository, tag, MAX_INDEX_BYTES)).bytes, `the referrers of ${subject}`);
  } catch (err) {
    if (!(err instanceof OciNotFound)) throw err;
  }
  if (listed.some((d) => d.digest === sig.digest)) return;
  const index = buildReferrersIndex([...listed, { mediaType: MANIFEST_MEDIA_TYPE, digest: sig.digest, size: sig.size, artifactType: SIGSTORE_BUNDLE_MEDIA_TYPE, ...(sig.annotations === undefined ? {} : { annotations: sig.annotations }) }]);
  await client.putManifest(repository, tag, index.bytes, INDEX_MEDIA_TYPE);
}

export async function publishRelease(opts: PublishOptions): Promise<PublishedRelease> {
  const { client, reference: ref } = opts;
  const repo = ref.repository;
  const sources = collect(opts);
  const uploaded = { monolithic: 0, chunked: 0, existing: 0 };
  const count = (how: "exists" | "monolithic" | "chunked") => {
    if (how === "exists") uploaded.existing += 1;
    else uploaded[how] += 1;
  };
  count(await client.pushBlob(repo, EMPTY_CONFIG.digest, EMPTY_CONFIG.size, fromBytes(EMPTY_CONFIG_BYTES)));
  const api = (await client.referrersApi(repo, EMPTY_CONFIG.digest)) !== null;
  const members: ReleaseMember[] = [];
  let bytes = 0;
  for (const s of sources) {
    opts.onProgress?.(`${s.kind} ${s.title} (${s.size} bytes)`);
    count(await client.pushBlob(repo, s.digest, s.size, s.chunkAt));
    bytes += s.size;
    const manifest = buildArtifactManifest(s.kind, layerDescriptor(s.kind, s.digest, s.size, s.title), s.version);
    await client.putManifest(repo, manifest.descriptor.digest, manifest.bytes, MANIFEST_MEDIA_TYPE);
    const bundleBytes = Buffer.from(JSON.stringify(toSigstoreBundle(s.envelope)), "utf8");
    const bundleDigest = sha256Digest(bundleBytes);
    count(await client.pushBlob(repo, bundleDigest, bundleBytes.byteLength, fromBytes(bundleBytes)));
    const sig = buildSignatureManifest(manifest.descriptor, { mediaType: SIGSTORE_BUNDLE_MEDIA_TYPE, digest: bundleDigest, size: bundleBytes.byteLength }, s.predicateType);
    const put = await client.putManifest(repo, sig.descriptor.digest, sig.bytes, MANIFEST_MEDIA_TYPE);
    if (!put.subjectProcessed && !api) await attachByTag(client, repo, manifest.descriptor.digest, sig.descriptor);
    members.push({ kind: s.kind, manifest: manifest.descriptor });
  }
  const policy = sources.find((s) => s.kind === "policy");
  const index = buildReleaseIndex(members, { "dev.cordon.policy.version": String(policy?.version ?? "") });
  await client.putManifest(repo, index.descriptor.digest, index.bytes, INDEX_MEDIA_TYPE);
  if (ref.tag !== null) await client.putManifest(repo, ref.tag, index.bytes, INDEX_MEDIA_TYPE);
  return { digest: index.descriptor.digest, pinned: formatReference(pinnedReference(ref, index.descriptor.digest)), artifacts: sources.length, bytes, uploaded, referrers: api ? "api" : "tag-schema" };
}
