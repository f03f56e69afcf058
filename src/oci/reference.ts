// OCI references: `host[:port]/repository[:tag][@sha256:hex]`. The registry is always named
// (no implicit default registry); plain HTTP is used only for loopback registries, HTTPS for
// every other. Pure.
import { OciReferenceInvalid } from "./errors.js";

export interface OciReference {
  /** `host[:port]` as written (lower-cased). */
  readonly registry: string;
  readonly repository: string;
  readonly tag: string | null;
  /** `sha256:<64 hex>`, or null for a tag reference. */
  readonly digest: string | null;
  /** `http:` for loopback registries, `https:` otherwise. */
  readonly scheme: "http:" | "https:";
}

const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;
export const DIGEST = /^sha256:[0-9a-f]{64}$/;
const HOST = /^(?:\[[0-9a-f:.]+\]|[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*)(?::[0-9]{1,5})?$/;

/** True for a loopback host (127.0.0.0/8, ::1, localhost), with or without a port. */
export function isLoopbackRegistry(registry: string): boolean {
  const host = registry.startsWith("[") ? registry.slice(1, registry.indexOf("]")) : (registry.split(":")[0] ?? "");
  return host === "localhost" || host === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

export function parseReference(text: string): OciReference {
  const bad = (reason: string) => new OciReferenceInvalid(text, reason);
  if (text.length > 512) throw bad("longer than 512 characters");
  if (/^[a-z]+:\/\//i.test(text)) throw bad("write it without a scheme");
  let rest = text;
  let digest: string | null = null;
  const at = rest.indexOf("@");
  if (at !== -1) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) throw bad("the digest must be sha256: and 64 lower-case hex digits");
  }
  const slash = rest.indexOf("/");
  if (slash === -1) throw bad("name the registry: REGISTRY/REPOSITORY");
  const registry = rest.slice(0, slash).toLowerCase();
  let path = rest.slice(slash + 1);
  if (!HOST.test(registry)) throw bad("the registry must be a host name or address, with an optional port");
  // As docker reads references: a first component without '.' or ':' (other than localhost) is a path, not a registry.
  if (!/[.:[]/.test(registry) && registry !== "localhost") throw bad("name the registry (a host with a '.' or a port, or localhost): REGISTRY/REPOSITORY");
  const port = /:([0-9]+)$/.exec(registry)?.[1];
  if (port !== undefined && (Number(port) < 1 || Number(port) > 65535)) throw bad("the port is out of range");
  let tag: string | null = null;
  const colon = path.lastIndexOf(":");
  if (colon !== -1) {
    tag = path.slice(colon + 1);
    path = path.slice(0, colon);
    if (!TAG.test(tag)) throw bad("a tag is [A-Za-z0-9_][A-Za-z0-9._-]{0,127}");
  }
  if (path.length === 0 || path.length > 255 || !path.split("/").every((c) => COMPONENT.test(c))) {
    throw bad("the repository is lower-case path components ([a-z0-9] separated by . _ __ or -)");
  }
  if (tag === null && digest === null) throw bad("give a tag or a digest (REF:TAG or REF@sha256:…)");
  return Object.freeze({ registry, repository: path, tag, digest, scheme: isLoopbackRegistry(registry) ? "http:" : "https:" });
}

/** `registry/repository` without tag or digest. */
export function repositoryOf(ref: OciReference): string {
  return `${ref.registry}/${ref.repository}`;
}

/** The reference as written, canonical: `registry/repository[:tag][@digest]`. */
export function formatReference(ref: OciReference): string {
  return `${repositoryOf(ref)}${ref.tag === null ? "" : `:${ref.tag}`}${ref.digest === null ? "" : `@${ref.digest}`}`;
}

/** The same repository, pinned to `digest` (the tag dropped). */
export function pinnedReference(ref: OciReference, digest: string): OciReference {
  return Object.freeze({ ...ref, tag: null, digest });
}

/** The origin requests go to. */
export function originOf(ref: Pick<OciReference, "registry" | "scheme">): string {
  return `${ref.scheme}//${ref.registry}`;
}
