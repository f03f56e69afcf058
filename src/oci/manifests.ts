// The JSON documents cordon writes to a registry and reads back, built and parsed here (pure):
// an artifact manifest (empty config, one layer: the file), a signature manifest (a Sigstore
// bundle as its one layer, `subject` the artifact), a release index (the artifacts of one
// policy), and the referrers index of the tag schema. Parsing checks exactly what cordon uses;
// unknown members are ignored, as the image spec asks.
import { z } from "zod";
import { OciManifestInvalid } from "./errors.js";
import {
  ANNOTATION_BUNDLE_CONTENT, ANNOTATION_BUNDLE_PREDICATE, ANNOTATION_KIND, ANNOTATION_TITLE, ANNOTATION_VERSION, EMPTY_CONFIG, INDEX_MEDIA_TYPE, KIND_MEDIA,
  kindOfArtifactType, MANIFEST_MEDIA_TYPE, MAX_RELEASE_MEMBERS, RELEASE_ARTIFACT_TYPE, SIGSTORE_BUNDLE_MEDIA_TYPE, type OciArtifactKind,
} from "./media-types.js";
import { DIGEST } from "./reference.js";
import { parseJsonObject, sha256Digest, type Descriptor } from "./registry-client.js";

const descriptorSchema = z.object({
  mediaType: z.string().min(1).max(255),
  digest: z.string().regex(DIGEST),
  size: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  artifactType: z.string().max(255).optional(),
  annotations: z.record(z.string().max(255), z.string().max(4096)).optional(),
  data: z.string().max(4096).optional(),
});

const manifestSchema = z.object({
  schemaVersion: z.literal(2),
  mediaType: z.literal(MANIFEST_MEDIA_TYPE),
  artifactType: z.string().max(255).optional(),
  config: descriptorSchema,
  layers: z.array(descriptorSchema).max(16),
  subject: descriptorSchema.optional(),
  annotations: z.record(z.string().max(255), z.string().max(4096)).optional(),
});

const indexSchema = z.object({
  schemaVersion: z.literal(2),
  mediaType: z.literal(INDEX_MEDIA_TYPE),
  artifactType: z.string().max(255).optional(),
  manifests: z.array(descriptorSchema).max(MAX_RELEASE_MEMBERS * 4),
  annotations: z.record(z.string().max(255), z.string().max(4096)).optional(),
});

export interface Built {
  readonly bytes: Buffer;
  readonly descriptor: Descriptor;
}

function built(value: object, mediaType: string, extra: Partial<Descriptor> = {}): Built {
  const bytes = Buffer.from(JSON.stringify(value), "utf8");
  return { bytes, descriptor: { mediaType, digest: sha256Digest(bytes), size: bytes.byteLength, ...extra } };
}

/** The descriptor of a file's bytes as a layer of `kind`. */
export function layerDescriptor(kind: OciArtifactKind, digest: string, size: number, title: string): Descriptor {
  return { mediaType: KIND_MEDIA[kind].layerMediaType, digest, size, annotations: { [ANNOTATION_TITLE]: title } };
}

/** An artifact manifest: `artifactType` of its kind, the empty config, the file as its one layer. Deterministic. */
export function buildArtifactManifest(kind: OciArtifactKind, layer: Descriptor, version: number | null): Built {
  const annotations: Record<string, string> = { [ANNOTATION_KIND]: kind, ...(version === null ? {} : { [ANNOTATION_VERSION]: String(version) }) };
  const artifactType = KIND_MEDIA[kind].artifactType;
  return built({ schemaVersion: 2, mediaType: MANIFEST_MEDIA_TYPE, artifactType, config: EMPTY_CONFIG, layers: [layer], annotations }, MANIFEST_MEDIA_TYPE, { artifactType, annotations });
}

export interface ArtifactManifest {
  readonly kind: OciArtifactKind;
  readonly layer: Descriptor;
  /** The annotation, informational only: the version that counts is the signed one. */
  readonly version: string | null;
}

function parsed<T>(schema: z.ZodType<T>, bytes: Uint8Array, what: string): T {
  const result = schema.safeParse(parseJsonObject(bytes, what));
  if (!result.success) throw new OciManifestInvalid(what, result.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`).slice(0, 4).join("; "));
  return result.data;
}

export function parseArtifactManifest(bytes: Uint8Array, what: string): ArtifactManifest {
  const m = parsed(manifestSchema, bytes, what);
  const kind = kindOfArtifactType(m.artifactType ?? "");
  if (kind === null) throw new OciManifestInvalid(what, `artifactType ${String(m.artifactType).slice(0, 64)} is not a cordon artifact type`);
  if (m.config.digest !== EMPTY_CONFIG.digest || m.config.mediaType !== EMPTY_CONFIG.mediaType) throw new OciManifestInvalid(what, "the config must be the empty descriptor");
  const [layer, ...more] = m.layers;
  if (layer === undefined || more.length > 0) throw new OciManifestInvalid(what, "a cordon artifact has exactly one layer");
  if (layer.mediaType !== KIND_MEDIA[kind].layerMediaType) throw new OciManifestInvalid(what, `the layer's media type is not ${KIND_MEDIA[kind].layerMediaType}`);
  if (m.annotations?.[ANNOTATION_KIND] !== undefined && m.annotations[ANNOTATION_KIND] !== kind) throw new OciManifestInvalid(what, "the kind annotation contradicts the artifact type");
  return { kind, layer: layer as Descriptor, version: m.annotations?.[ANNOTATION_VERSION] ?? null };
}

/** A signature manifest: the Sigstore bundle as its one layer, `subject` the artifact manifest it signs (as cosign attaches bundles). */
export function buildSignatureManifest(subject: Descriptor, bundle: Descriptor, predicateType: string | null): Built {
  const annotations: Record<string, string> = { [ANNOTATION_BUNDLE_CONTENT]: "dsse-envelope", ...(predicateType === null ? {} : { [ANNOTATION_BUNDLE_PREDICATE]: predicateType }) };
  const sub = { mediaType: subject.mediaType, digest: subject.digest, size: subject.size };
  return built(
    { schemaVersion: 2, mediaType: MANIFEST_MEDIA_TYPE, artifactType: SIGSTORE_BUNDLE_MEDIA_TYPE, config: EMPTY_CONFIG, layers: [{ mediaType: SIGSTORE_BUNDLE_MEDIA_TYPE, digest: bundle.digest, size: bundle.size }], subject: sub, annotations },
    MANIFEST_MEDIA_TYPE,
    { artifactType: SIGSTORE_BUNDLE_MEDIA_TYPE, annotations },
  );
}

export interface SignatureManifest {
  /** The digest the manifest says it signs (the signed statement is checked separately). */
  readonly subject: string;
  readonly bundle: Descriptor;
}

export function parseSignatureManifest(bytes: Uint8Array, what: string): SignatureManifest {
  const m = parsed(manifestSchema, bytes, what);
  if (m.artifactType !== SIGSTORE_BUNDLE_MEDIA_TYPE) throw new OciManifestInvalid(what, "not a Sigstore bundle manifest");
  const [layer, ...more] = m.layers;
  if (layer === undefined || more.length > 0 || layer.mediaType !== SIGSTORE_BUNDLE_MEDIA_TYPE) throw new OciManifestInvalid(what, "a signature manifest has exactly one Sigstore bundle layer");
  if (m.subject === undefined) throw new OciManifestInvalid(what, "a signature manifest names its subject");
  return { subject: m.subject.digest, bundle: layer as Descriptor };
}

export interface ReleaseMember {
  readonly kind: OciArtifactKind;
  readonly manifest: Descriptor;
}

/** The release index: one descriptor per artifact manifest, with its artifactType and kind. */
export function buildReleaseIndex(members: readonly ReleaseMember[], annotations: Readonly<Record<string, string>>): Built {
  const manifests = members.map((m) => ({ mediaType: MANIFEST_MEDIA_TYPE, digest: m.manifest.digest, size: m.manifest.size, artifactType: KIND_MEDIA[m.kind].artifactType, annotations: { [ANNOTATION_KIND]: m.kind, ...(m.manifest.annotations?.[ANNOTATION_VERSION] === undefined ? {} : { [ANNOTATION_VERSION]: m.manifest.annotations[ANNOTATION_VERSION] }) } }));
  return built({ schemaVersion: 2, mediaType: INDEX_MEDIA_TYPE, artifactType: RELEASE_ARTIFACT_TYPE, manifests, annotations }, INDEX_MEDIA_TYPE, { artifactType: RELEASE_ARTIFACT_TYPE });
}

export function parseReleaseIndex(bytes: Uint8Array, what: string): ReleaseMember[] {
  const idx = parsed(indexSchema, bytes, what);
  if (idx.artifactType !== RELEASE_ARTIFACT_TYPE) throw new OciManifestInvalid(what, `not a cordon release (artifactType ${RELEASE_ARTIFACT_TYPE})`);
  if (idx.manifests.length > MAX_RELEASE_MEMBERS) throw new OciManifestInvalid(what, `more than ${MAX_RELEASE_MEMBERS} members`);
  return idx.manifests.map((d, i) => {
    const kind = kindOfArtifactType(d.artifactType ?? "");
    if (kind === null || d.mediaType !== MANIFEST_MEDIA_TYPE) throw new OciManifestInvalid(what, `member ${i} is not a cordon artifact manifest`);
    return { kind, manifest: d as Descriptor };
  });
}

/** The referrers index (API answer or tag-schema index): descriptors of manifests whose subject is the digest. */
export function parseReferrers(bytes: Uint8Array, what: string): Descriptor[] {
  return parsed(indexSchema, bytes, what).manifests as Descriptor[];
}

export function buildReferrersIndex(manifests: readonly Descriptor[]): Built {
  return built({ schemaVersion: 2, mediaType: INDEX_MEDIA_TYPE, manifests }, INDEX_MEDIA_TYPE);
}

/** The referrers tag schema's tag for `digest`: `sha256-<hex>`. */
export function referrersTag(digest: string): string {
  return digest.replace(":", "-");
}
