// The artifacts a policy pins by digest, each with the kind it travels as: every Wasm module and
// process-tier script, and (where a tier carries one) a container root filesystem or a
// microVM image. Read from the parsed, signed policy, so the policy decides what a release
// must contain and where each file goes.
import type { PolicySpec } from "../policy/schema.js";
import type { OciArtifactKind } from "./media-types.js";

export interface ArtifactRef {
  readonly tool: string;
  readonly kind: OciArtifactKind;
  /** As the policy writes it, relative to the policy's directory. */
  readonly path: string;
  readonly sha256: string;
}

interface PathDigest {
  readonly path: string;
  readonly sha256: string;
}

function pathDigest(value: unknown): PathDigest | null {
  if (typeof value !== "object" || value === null) return null;
  const { path, sha256 } = value as { path?: unknown; sha256?: unknown };
  return typeof path === "string" && typeof sha256 === "string" && /^[0-9a-f]{64}$/.test(sha256) ? { path, sha256 } : null;
}

export function artifactRefs(spec: PolicySpec): ArtifactRef[] {
  const out: ArtifactRef[] = [];
  for (const [tool, t] of Object.entries(spec.tools)) {
    const module = pathDigest(t.module);
    if (module !== null) out.push({ tool, kind: "module", ...module });
    const script = pathDigest(t.command?.script);
    if (script !== null) out.push({ tool, kind: "script", ...script });
    // The container and microVM tiers pin an image the same way (container.image, vm.image).
    const loose = t as { readonly container?: { readonly image?: unknown }; readonly vm?: { readonly image?: unknown } };
    const rootfs = pathDigest(loose.container?.image);
    if (rootfs !== null) out.push({ tool, kind: "rootfs", ...rootfs });
    const vm = pathDigest(loose.vm?.image);
    if (vm !== null) out.push({ tool, kind: "vm-image", ...vm });
  }
  return out;
}
