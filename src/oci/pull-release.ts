// `cordon pull REF`: fetch a release and verify every byte before anything is kept as verified.
// The reference is by digest (or a tag, resolved once and pinned; a tag that later resolves
// elsewhere is refused, and the pinned digest is what runs). Every manifest and blob is hashed
// as it downloads and must be the digest its parent names, under a cap checked before the
// download completes. The trust bundle, if the release carries one, must be signed by the
// pinned root and not older than the one accepted here; the policy by a policy signer of that
// bundle, and not older than the newest policy accepted here; every module and script (and
// image) the policy pins by a module signer. Signatures are Sigstore bundles attached as OCI
// referrers (the referrers API, or the tag schema where the registry has none), each
// verified offline (sigstore-bundle.ts) and checked to name exactly the bytes it vouches for.
// Only when all of that holds are the version marks raised, the trust bundle installed, the
// tag pinned and the release recorded as verified in the content cache.
import type { KeyObject } from "node:crypto";
import { createHash } from "node:crypto";
import { acceptArtifactVersion, checkArtifactVersion, readVersionState, versionsPath, type VersionState } from "../artifacts/artifact-versions.js";
import { loadTrustBundle, loadTrustRoot, trustBundlePath, trustRootPath } from "../artifacts/load-trust-bundle.js";
import { IN_TOTO_PAYLOAD_TYPE, parseArtifactStatement } from "../artifacts/statement.js";
import { parseTrustBundle, TRUST_BUNDLE_PAYLOAD_TYPE, type TrustBundle } from "../artifacts/trust-bundle.js";
import { SignatureInvalid } from "../crypto/errors.js";
import { writeFileAtomic } from "../crypto/write-atomic.js";
import { parsePolicy } from "../policy/load-policy.js";
import { ContentCache, type VerifiedArtifact, type VerifiedRelease } from "./content-cache.js";
import { OciManifestInvalid, OciNotFound, OciTagMoved, OciUnsigned } from "./errors.js";
import { parseArtifactManifest, parseReferrers, parseReleaseIndex, parseSignatureManifest, referrersTag, type ArtifactManifest, type ReleaseMember } from "./manifests.js";
import { KIND_MEDIA, MAX_INDEX_BYTES, MAX_MANIFEST_BYTES, MAX_SIGNATURE_BUNDLE_BYTES, MAX_SIGNATURES_PER_ARTIFACT, SIGSTORE_BUNDLE_MEDIA_TYPE, type OciArtifactKind } from "./media-types.js";
import { formatReference, repositoryOf, type OciReference } from "./reference.js";
import { parseJsonObject, type Descriptor, type RegistryClient } from "./registry-client.js";
import { verifySigstoreBundle } from "./sigstore-bundle.js";
import { artifactRefs } from "./policy-artifacts.js";

/** Blobs up to this size are held in memory (policies, modules, scripts); larger ones (images) only on disk. */
export const IN_MEMORY_BYTES = 64 * 1024 * 1024;

export interface Progress {
  readonly what: string;
  readonly received: number;
  readonly total: number | null;
}

export interface PullOptions {
  readonly dataDir: string;
  readonly reference: OciReference;
  readonly client: RegistryClient;
  /** Follow a tag that moved, replacing its pin (`--repin`). */
  readonly repin?: boolean;
  /** Caps per artifact kind (defaults: media-types.ts). */
  readonly caps?: Partial<Record<OciArtifactKind, number>>;
  readonly onProgress?: (p: Progress) => void;
  readonly now?: () => Date;
  readonly uid?: number;
}

export interface PulledRelease {
  /** The reference as given, canonical. */
  readonly reference: string;
  /** The release digest that was verified (a tag's pinned digest). */
  readonly digest: string;
  /** Set when a tag was resolved here (first pull, or --repin). */
  readonly pinnedNow: boolean;
  readonly release: VerifiedRelease;
  /** Bytes downloaded (blobs already in the cache are re-hashed, not downloaded). */
  readonly downloaded: number;
  readonly trustBundleInstalled: boolean;
}

interface Fetcher {
  readonly client: RegistryClient;
  readonly repository: string;
  readonly cache: ContentCache;
  readonly onProgress: ((p: Progress) => void) | undefined;
  downloaded: number;
}

/** A manifest by digest, from the cache (re-hashed) or the registry; `size` is the descriptor's, when one names it. */
async function manifestBytes(f: Fetcher, desc: { readonly digest: string; readonly size?: number }, cap: number, what: string): Promise<Buffer> {
  if (desc.size !== undefined && desc.size > cap) throw new OciManifestInvalid(what, `its descriptor names ${desc.size} bytes, over the ${cap}-byte cap`);
  if (f.cache.has(desc.digest)) return f.cache.read(desc.digest, cap, what);
  const got = await f.client.getManifest(f.repository, desc.digest, cap, desc.size);
  f.downloaded += got.bytes.byteLength;
  f.cache.put(got.bytes, desc.digest, what);
  return got.bytes;
}

/** A blob, from the cache (re-hashed) or downloaded into it (hashed as it arrives). Returns its bytes when small enough to hold. */
async function blob(f: Fetcher, desc: Pick<Descriptor, "digest" | "size">, cap: number, what: string): Promise<Buffer | null> {
  const hold = desc.size <= IN_MEMORY_BYTES;
  if (desc.size > cap) throw new OciManifestInvalid(what, `its descriptor names ${desc.size} bytes, over the ${cap}-byte cap`);
  if (f.cache.has(desc.digest)) return hold ? f.cache.read(desc.digest, cap, what) : null;
  const writer = f.cache.writer();
  const chunks: Buffer[] = [];
  try {
    let shown = 0;
    await f.client.getBlob(f.repository, desc, {
      what,
      cap,
      sink: (chunk) => {
        writer.write(chunk);
        if (hold) chunks.push(chunk);
      },
      onBytes: (received, total) => {
        // Progress for large downloads, about every 8 MiB.
        if (f.onProgress !== undefined && desc.size >= 4 * 1024 * 1024 && (received - shown >= 8 * 1024 * 1024 || received === total)) {
          shown = received;
          f.onProgress({ what, received, total });
        }
      },
    });
    writer.commit(desc.digest, what);
  } catch (err) {
    writer.abort();
    throw err;
  }
  f.downloaded += desc.size;
  return hold ? Buffer.concat(chunks) : null;
}

interface Candidate {
  readonly bundleDigest: string;
  readonly value: unknown;
}

/** The Sigstore bundles attached to `manifest` (referrers API, else the tag schema), each from a manifest whose subject is it. */
async function signaturesOf(f: Fetcher, manifest: Pick<Descriptor, "digest" | "size">, what: string, reasons: string[]): Promise<Candidate[]> {
  let listing = await f.client.referrersApi(f.repository, manifest.digest);
  if (listing === null) {
    try {
      listing = await f.client.getManifest(f.repository, referrersTag(manifest.digest), MAX_INDEX_BYTES);
    } catch (err) {
      if (err instanceof OciNotFound) return [];
      throw err;
    }
  }
  const referrers = parseReferrers(listing.bytes, `the referrers of ${what}`)
    .filter((d) => d.artifactType === SIGSTORE_BUNDLE_MEDIA_TYPE)
    .slice(0, MAX_SIGNATURES_PER_ARTIFACT);
  const out: Candidate[] = [];
  for (const ref of referrers) {
    const sigWhat = `a signature of ${what}`;
    const sig = parseSignatureManifest(await manifestBytes(f, ref, MAX_MANIFEST_BYTES, sigWhat), sigWhat);
    // The tag schema's index is only a list anyone with push access can write: the manifest itself must name this subject.
    if (sig.subject !== manifest.digest) {
      reasons.push(`a signature manifest attached to another artifact (${sig.subject.slice(0, 19)}…)`);
      continue;
    }
    const bytes = await blob(f, sig.bundle, MAX_SIGNATURE_BUNDLE_BYTES, sigWhat);
    if (bytes === null) continue;
    out.push({ bundleDigest: sig.bundle.digest, value: parseJsonObject(bytes, sigWhat) });
  }
  return out;
}

interface Checked {
  readonly bundleDigest: string;
  readonly payload: Buffer;
  readonly statementVersion: number | null;
}

/**
 * The first attached signature that verifies against `trusted` and names exactly `layerDigest`
 * (and, for statements, `signedKind`). None attached: OciUnsigned; none valid: SignatureInvalid.
 */
async function verifiedSignature(f: Fetcher, manifest: Descriptor, layerDigest: string, payloadType: string, signedKind: "policy" | "module" | "image" | null, trusted: ReadonlyMap<string, KeyObject>, what: string): Promise<Checked> {
  const reasons: string[] = [];
  const candidates = await signaturesOf(f, manifest, what, reasons);
  if (candidates.length === 0 && reasons.length === 0) throw new OciUnsigned(what, manifest.digest, []);
  for (const c of candidates) {
    try {
      const v = verifySigstoreBundle(c.value, payloadType, trusted, what);
      if (signedKind === null) {
        // The trust bundle: the signed payload is the document itself, so it must be these bytes.
        const digest = `sha256:${createHash("sha256").update(v.payload).digest("hex")}`;
        if (digest !== layerDigest) throw new SignatureInvalid(what, `the signature is for other bytes (signed ${digest})`);
        return { bundleDigest: c.bundleDigest, payload: v.payload, statementVersion: null };
      }
      const statement = parseArtifactStatement(v.payload, what);
      if (`sha256:${statement.subject.sha256}` !== layerDigest) throw new SignatureInvalid(what, `the signature is for other bytes (signed sha256:${statement.subject.sha256})`);
      if (statement.predicate.kind !== signedKind) throw new SignatureInvalid(what, `the signature is for a ${statement.predicate.kind}, not a ${signedKind}`);
      return { bundleDigest: c.bundleDigest, payload: v.payload, statementVersion: statement.predicate.version };
    } catch (err) {
      if (!(err instanceof SignatureInvalid)) throw err;
      reasons.push(err.reason);
    }
  }
  throw new SignatureInvalid(what, reasons.join("; "));
}

function pinnedKey(ref: OciReference): string {
  return `${repositoryOf(ref)}:${ref.tag ?? ""}`;
}

/** Resolves the reference to the release digest to verify: a digest as given; a tag through its pin. */
async function resolve(opts: PullOptions, cache: ContentCache): Promise<{ digest: string; pinNow: boolean; index: Buffer | null }> {
  const ref = opts.reference;
  if (ref.digest !== null) return { digest: ref.digest, pinNow: false, index: null };
  const got = await opts.client.getManifest(ref.repository, ref.tag ?? "", MAX_INDEX_BYTES);
  const pinned = cache.pinned(pinnedKey(ref));
  if (pinned !== null && pinned !== got.digest && opts.repin !== true) throw new OciTagMoved(formatReference(ref), pinned, got.digest);
  return { digest: got.digest, pinNow: pinned !== got.digest, index: got.bytes };
}

function capOf(opts: PullOptions, kind: OciArtifactKind): number {
  return opts.caps?.[kind] ?? KIND_MEDIA[kind].maxBytes;
}

export async function pullRelease(opts: PullOptions): Promise<PulledRelease> {
  const now = opts.now ?? (() => new Date());
  const cache = ContentCache.open(opts.dataDir, opts.uid);
  const ref = opts.reference;
  const f: Fetcher = { client: opts.client, repository: ref.repository, cache, onProgress: opts.onProgress, downloaded: 0 };
  const { digest, pinNow, index } = await resolve(opts, cache);
  const releaseWhat = `release ${repositoryOf(ref)}@${digest}`;
  let indexBytes: Buffer;
  if (index !== null) {
    indexBytes = index;
    if (!cache.has(digest)) cache.put(index, digest, releaseWhat);
  } else {
    // Its size is not known before it is fetched: it is read under the index cap.
    indexBytes = await manifestBytes(f, { digest }, MAX_INDEX_BYTES, releaseWhat);
  }
  const members = parseReleaseIndex(indexBytes, releaseWhat);
  const manifests = new Map<string, { member: ReleaseMember; manifest: ArtifactManifest }>();
  for (const member of members) {
    const what = `the ${member.kind} manifest ${member.manifest.digest}`;
    const parsed = parseArtifactManifest(await manifestBytes(f, member.manifest, MAX_MANIFEST_BYTES, what), what);
    if (parsed.kind !== member.kind) throw new OciManifestInvalid(what, `the index lists it as a ${member.kind}, the manifest says ${parsed.kind}`);
    manifests.set(member.manifest.digest, { member, manifest: parsed });
  }
  const ofKind = (kind: OciArtifactKind) => [...manifests.values()].filter((m) => m.member.kind === kind);
  const artifacts: VerifiedArtifact[] = [];
  const versionsFile = versionsPath(opts.dataDir);
  // Checked as the release is read; written only once all of it verified.
  let state: VersionState = readVersionState(versionsFile, opts.uid);

  // 1. Whom to trust: the release's trust bundle (signed by the pinned root, never older), else the one accepted here.
  const [tbMember, ...moreBundles] = ofKind("trust-bundle");
  if (moreBundles.length > 0) throw new OciManifestInvalid(releaseWhat, "a release carries at most one trust bundle");
  let bundle: TrustBundle;
  let bundleEnvelope: string | null = null;
  if (tbMember !== undefined) {
    const root = loadTrustRoot(trustRootPath(opts.dataDir), opts.uid);
    const what = "the trust bundle";
    const layer = tbMember.manifest.layer;
    await blob(f, layer, capOf(opts, "trust-bundle"), what);
    const checked = await verifiedSignature(f, tbMember.member.manifest, layer.digest, TRUST_BUNDLE_PAYLOAD_TYPE, null, new Map([[root.keyid, root.publicKey]]), what);
    bundle = parseTrustBundle(checked.payload);
    state = checkArtifactVersion(state, "trust-bundle", bundle.version);
    bundleEnvelope = trustBundleFile(cache, checked.bundleDigest, root.keyid, root.publicKey);
    artifacts.push({ kind: "trust-bundle", path: "trust-bundle.json", digest: layer.digest, size: layer.size, manifest: tbMember.member.manifest.digest, bundle: checked.bundleDigest });
  } else {
    bundle = loadTrustBundle({ dataDir: opts.dataDir, ...(opts.uid === undefined ? {} : { uid: opts.uid }) }).bundle;
  }

  // 2. The policy: exactly one, signed by a policy signer, with a version not older than accepted here.
  const [policyMember, ...morePolicies] = ofKind("policy");
  if (policyMember === undefined || morePolicies.length > 0) throw new OciManifestInvalid(releaseWhat, "a release carries exactly one policy");
  const policyLayer = policyMember.manifest.layer;
  const policyBytes = await blob(f, policyLayer, capOf(opts, "policy"), "the policy");
  if (policyBytes === null) throw new OciManifestInvalid("the policy", "too large to hold");
  const policySig = await verifiedSignature(f, policyMember.member.manifest, policyLayer.digest, IN_TOTO_PAYLOAD_TYPE, "policy", bundle.policySigners, "the policy");
  if (policySig.statementVersion === null) throw new SignatureInvalid("the policy", "a policy signature must carry a version");
  checkArtifactVersion(state, "policy", policySig.statementVersion);
  artifacts.push({ kind: "policy", path: "policy.yaml", digest: policyLayer.digest, size: policyLayer.size, manifest: policyMember.member.manifest.digest, bundle: policySig.bundleDigest });

  // 3. Every artifact the signed policy pins, found in the release by its digest and kind, each signed.
  const { spec } = parsePolicy(policyBytes.toString("utf8"));
  for (const ref of artifactRefs(spec)) {
    const what = `tool ${ref.tool}'s ${ref.kind} ${ref.path}`;
    const found = [...manifests.values()].find((m) => m.member.kind === ref.kind && m.manifest.layer.digest === `sha256:${ref.sha256}`);
    if (found === undefined) throw new OciManifestInvalid(releaseWhat, `it carries no ${ref.kind} sha256:${ref.sha256} (${what})`);
    const layer = found.manifest.layer;
    await blob(f, layer, capOf(opts, ref.kind), what);
    const sig = await verifiedSignature(f, found.member.manifest, layer.digest, IN_TOTO_PAYLOAD_TYPE, KIND_MEDIA[ref.kind].signedKind ?? "module", bundle.moduleSigners, what);
    artifacts.push({ kind: ref.kind, path: ref.path, digest: layer.digest, size: layer.size, manifest: found.member.manifest.digest, bundle: sig.bundleDigest });
  }

  // 4. Everything verified: raise the marks, install the trust bundle, pin the tag, record the release.
  if (tbMember !== undefined && bundleEnvelope !== null) {
    acceptArtifactVersion(versionsFile, "trust-bundle", bundle.version, opts.uid);
    writeFileAtomic(trustBundlePath(opts.dataDir), bundleEnvelope, 0o644);
  }
  acceptArtifactVersion(versionsFile, "policy", policySig.statementVersion, opts.uid);
  const release: VerifiedRelease = {
    digest,
    repository: repositoryOf(ref),
    verifiedAt: now().toISOString(),
    policyVersion: policySig.statementVersion,
    trustBundleVersion: tbMember === undefined ? null : bundle.version,
    artifacts,
  };
  cache.recordVerified(release);
  if (ref.tag !== null && pinNow) cache.pin(pinnedKey(ref), digest, now());
  return { reference: formatReference(ref), digest, pinnedNow: ref.tag !== null && pinNow, release, downloaded: f.downloaded, trustBundleInstalled: tbMember !== undefined };
}

/** The cached Sigstore bundle's DSSE envelope as cordon's trust-bundle file (keyid: the root's). */
function trustBundleFile(cache: ContentCache, bundleDigest: string, rootKeyid: string, rootKey: KeyObject): string {
  const value = parseJsonObject(cache.read(bundleDigest, MAX_SIGNATURE_BUNDLE_BYTES, "the trust bundle's signature"), "the trust bundle's signature");
  const v = verifySigstoreBundle(value, TRUST_BUNDLE_PAYLOAD_TYPE, new Map([[rootKeyid, rootKey]]), "the trust bundle");
  return `${JSON.stringify(v.envelope, null, 2)}\n`;
}

