// The media types cordon publishes and accepts. Every cordon artifact is an OCI image-spec 1.1
// manifest whose `artifactType` names what it carries, with the empty config and exactly one
// layer (the file); a release is an OCI image index of those manifests; a signature is a
// Sigstore bundle (v0.3) in a manifest whose `subject` is the artifact it signs.

export const MANIFEST_MEDIA_TYPE = "application/vnd.oci.image.manifest.v1+json";
export const INDEX_MEDIA_TYPE = "application/vnd.oci.image.index.v1+json";
/** The OCI 1.1 empty descriptor: `{}`, used as the config of every artifact manifest. */
export const EMPTY_CONFIG = Object.freeze({
  mediaType: "application/vnd.oci.empty.v1+json",
  digest: "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
  size: 2,
  data: "e30=",
});
export const EMPTY_CONFIG_BYTES = Buffer.from("{}");

/** The Sigstore bundle format cosign (--new-bundle-format) and sigstore-js write. */
export const SIGSTORE_BUNDLE_MEDIA_TYPE = "application/vnd.dev.sigstore.bundle.v0.3+json";
/** A cordon release: the index whose manifests are the policy, its modules and scripts, and the trust bundle. */
export const RELEASE_ARTIFACT_TYPE = "application/vnd.cordon.release.v1+json";

/** What one cordon artifact is. */
export type OciArtifactKind = "policy" | "module" | "script" | "trust-bundle" | "rootfs" | "vm-image";

export interface KindMedia {
  readonly artifactType: string;
  readonly layerMediaType: string;
  /** The signed statement's predicate kind (the trust bundle is a DSSE payload signed by the root, not a statement). */
  readonly signedKind: "policy" | "module" | "image" | null;
  /** The default cap on the layer's size. */
  readonly maxBytes: number;
}

const MiB = 1024 * 1024;

export const KIND_MEDIA: Readonly<Record<OciArtifactKind, KindMedia>> = Object.freeze({
  policy: { artifactType: "application/vnd.cordon.policy.v1", layerMediaType: "application/vnd.cordon.policy.v1+yaml", signedKind: "policy", maxBytes: 1 * MiB },
  module: { artifactType: "application/vnd.cordon.module.v1", layerMediaType: "application/vnd.cordon.module.v1+wasm", signedKind: "module", maxBytes: 64 * MiB },
  script: { artifactType: "application/vnd.cordon.script.v1", layerMediaType: "application/vnd.cordon.script.v1+text", signedKind: "module", maxBytes: 1 * MiB },
  "trust-bundle": { artifactType: "application/vnd.cordon.trust-bundle.v1", layerMediaType: "application/vnd.cordon.trust-bundle.v1+json", signedKind: null, maxBytes: 1 * MiB },
  // The container and microVM tiers' images: large blobs, streamed to disk and hashed while they download.
  rootfs: { artifactType: "application/vnd.cordon.rootfs.v1", layerMediaType: "application/vnd.cordon.rootfs.v1.tar", signedKind: "image", maxBytes: 4096 * MiB },
  "vm-image": { artifactType: "application/vnd.cordon.vm-image.v1", layerMediaType: "application/vnd.cordon.vm-image.v1+octet-stream", signedKind: "module", maxBytes: 4096 * MiB },
});

export const ARTIFACT_KINDS = Object.keys(KIND_MEDIA) as OciArtifactKind[];

export function kindOfArtifactType(artifactType: string): OciArtifactKind | null {
  return ARTIFACT_KINDS.find((k) => KIND_MEDIA[k].artifactType === artifactType) ?? null;
}

/** Annotations cordon sets: the kind, the signed version (policy, trust bundle) and the file's name. */
export const ANNOTATION_KIND = "dev.cordon.kind";
export const ANNOTATION_VERSION = "dev.cordon.version";
export const ANNOTATION_TITLE = "org.opencontainers.image.title";
/** Set on a Sigstore bundle's manifest, as cosign does. */
export const ANNOTATION_BUNDLE_CONTENT = "dev.sigstore.bundle.content";
export const ANNOTATION_BUNDLE_PREDICATE = "dev.sigstore.bundle.predicateType";

/** Caps on what is held in memory: manifests and indexes are small. */
export const MAX_MANIFEST_BYTES = 256 * 1024;
export const MAX_INDEX_BYTES = 1024 * 1024;
export const MAX_SIGNATURE_BUNDLE_BYTES = 1024 * 1024;
/** Members of a release, and signatures looked at per artifact. */
export const MAX_RELEASE_MEMBERS = 256;
export const MAX_SIGNATURES_PER_ARTIFACT = 16;
