// Failures of distribution through an OCI registry. One class per failure, each with a stable
// code; fields carry data (a reference, a digest, byte counts, an origin), never a credential,
// never a response body.
import { CordonError, type Json } from "../errors.js";

/** A reference that is not `host[:port]/repository[:tag][@sha256:hex]`, or a plain-HTTP registry that is not on loopback. */
export class OciReferenceInvalid extends CordonError {
  readonly code = "ERR_OCI_REFERENCE_INVALID";
  constructor(readonly reference: string, readonly reason: string) {
    super(`${reference.slice(0, 256)} is not a usable OCI reference: ${reason}`, "write REGISTRY/REPOSITORY@sha256:DIGEST (or :TAG outside the production profile), e.g. 127.0.0.1:5000/cordon/example@sha256:…");
  }
  fields(): Record<string, Json> {
    return { reference: this.reference.slice(0, 256), reason: this.reason };
  }
}

/** Bytes whose sha256 is not the digest they were asked for (a blob, a manifest, a cached file). */
export class OciDigestMismatch extends CordonError {
  readonly code = "ERR_OCI_DIGEST_MISMATCH";
  constructor(readonly what: string, readonly expected: string, readonly actual: string) {
    super(`${what}: the registry's bytes are ${actual}, not ${expected}`);
  }
  fields(): Record<string, Json> {
    return { what: this.what, expected: this.expected, actual: this.actual };
  }
}

/** A manifest, index or blob over its cap, or larger than its descriptor says: refused before the download completes. */
export class OciTooLarge extends CordonError {
  readonly code = "ERR_OCI_TOO_LARGE";
  constructor(readonly what: string, readonly cap: number, readonly received: number, readonly announced: number | null) {
    super(`${what} is over its ${cap}-byte cap (announced ${announced ?? "unknown"}, stopped after ${received} bytes)`);
  }
  fields(): Record<string, Json> {
    return { what: this.what, cap: this.cap, received: this.received, announced: this.announced };
  }
}

/** A download that ended before the size its descriptor names. */
export class OciTruncated extends CordonError {
  readonly code = "ERR_OCI_TRUNCATED";
  constructor(readonly what: string, readonly expected: number, readonly received: number) {
    super(`${what} ended after ${received} of ${expected} bytes`);
  }
  fields(): Record<string, Json> {
    return { what: this.what, expected: this.expected, received: this.received };
  }
}

/** A redirect to another origin (scheme, host, port): never followed, so nothing is fetched from or sent to it. */
export class OciRedirectRefused extends CordonError {
  readonly code = "ERR_OCI_REDIRECT_REFUSED";
  constructor(readonly from: string, readonly to: string) {
    super(`the registry ${from} redirected to another host (${to}); cordon follows redirects only within the registry's own origin`);
  }
  fields(): Record<string, Json> {
    return { from: this.from, to: this.to };
  }
}

/** The registry did not answer (headers or the next bytes of a body) within the deadline. */
export class OciTimeout extends CordonError {
  readonly code = "ERR_OCI_TIMEOUT";
  constructor(readonly origin: string, readonly stage: "connect" | "headers" | "body" | "total", readonly ms: number) {
    super(`the registry ${origin} did not answer within ${ms} ms (${stage})`);
  }
  fields(): Record<string, Json> {
    return { origin: this.origin, stage: this.stage, ms: this.ms };
  }
}

/** The registry cannot be reached at all (connection refused, reset, no route, DNS). */
export class OciUnreachable extends CordonError {
  readonly code = "ERR_OCI_UNREACHABLE";
  constructor(readonly origin: string, readonly reason: string) {
    super(`the registry ${origin} cannot be reached: ${reason}`);
  }
  fields(): Record<string, Json> {
    return { origin: this.origin, reason: this.reason };
  }
}

/** An answer the distribution protocol does not allow here (an unexpected status, a missing header). */
export class OciRegistryError extends CordonError {
  readonly code = "ERR_OCI_REGISTRY";
  constructor(readonly origin: string, readonly operation: string, readonly status: number, readonly registryCode: string | null) {
    super(`the registry ${origin} answered ${status}${registryCode === null ? "" : ` (${registryCode})`} to ${operation}`);
  }
  fields(): Record<string, Json> {
    return { origin: this.origin, operation: this.operation, status: this.status, registryCode: this.registryCode };
  }
}

/** The registry has no such manifest or blob. */
export class OciNotFound extends CordonError {
  readonly code = "ERR_OCI_NOT_FOUND";
  constructor(readonly what: string) {
    super(`${what} is not in the registry`);
  }
  fields(): Record<string, Json> {
    return { what: this.what };
  }
}

/** The registry refused the credentials (or asked for some and none are configured). */
export class OciUnauthorized extends CordonError {
  readonly code = "ERR_OCI_UNAUTHORIZED";
  constructor(readonly origin: string, readonly scheme: string, readonly reason: string) {
    super(`the registry ${origin} refused access (${scheme}): ${reason}`, "put credentials for this registry in $CORDON_HOME/registry-auth.json (mode 0600)");
  }
  fields(): Record<string, Json> {
    return { origin: this.origin, scheme: this.scheme, reason: this.reason };
  }
}

/** A manifest, index or Sigstore bundle that is not the shape cordon publishes and accepts. */
export class OciManifestInvalid extends CordonError {
  readonly code = "ERR_OCI_MANIFEST_INVALID";
  constructor(readonly what: string, readonly reason: string) {
    super(`${what} is not a cordon artifact: ${reason}`);
  }
  fields(): Record<string, Json> {
    return { what: this.what, reason: this.reason };
  }
}

/** No signature attached to an artifact verifies it (none at all, or none naming it). */
export class OciUnsigned extends CordonError {
  readonly code = "ERR_OCI_UNSIGNED";
  constructor(readonly what: string, readonly digest: string, readonly reasons: readonly string[]) {
    super(`${what} (${digest}) carries no signature that verifies it${reasons.length === 0 ? " (no Sigstore bundle is attached)" : `: ${reasons.join("; ")}`}`);
  }
  fields(): Record<string, Json> {
    return { what: this.what, digest: this.digest, reasons: [...this.reasons] };
  }
}

/** A tag that resolves to another digest than the one pinned when it was first pulled. */
export class OciTagMoved extends CordonError {
  readonly code = "ERR_OCI_TAG_MOVED";
  constructor(readonly reference: string, readonly pinned: string, readonly now: string) {
    super(`${reference} now resolves to ${now}, not ${pinned} as pinned; the pinned digest is what runs`, "if the move is deliberate, pull it again with --repin (or use REF@sha256:… directly)");
  }
  fields(): Record<string, Json> {
    return { reference: this.reference, pinned: this.pinned, now: this.now };
  }
}

/** The production profile runs only what a reference names by digest. */
export class OciDigestRequired extends CordonError {
  readonly code = "ERR_OCI_DIGEST_REQUIRED";
  constructor(readonly reference: string, readonly pinned: string) {
    super(`${reference} names a tag; a production policy starts only from a reference by digest`, `use ${reference.replace(/:[^/:@]+$/, "")}@${pinned}`);
  }
  fields(): Record<string, Json> {
    return { reference: this.reference, pinned: this.pinned };
  }
}

/** The registry is unavailable and nothing verified is cached for this reference. */
export class OciNotCached extends CordonError {
  readonly code = "ERR_OCI_NOT_CACHED";
  constructor(readonly reference: string, readonly reason: string) {
    super(`${reference} cannot be fetched (${reason}) and no verified copy of it is cached`, "pull it while the registry is reachable: cordon pull REF@sha256:…");
  }
  fields(): Record<string, Json> {
    return { reference: this.reference, reason: this.reason };
  }
}

/** The registry credentials file is unreadable, malformed or readable by others. */
export class OciCredentialsUnusable extends CordonError {
  readonly code = "ERR_OCI_CREDENTIALS_UNUSABLE";
  constructor(readonly path: string, readonly reason: string) {
    super(`registry credentials ${path} cannot be used: ${reason}`);
  }
  fields(): Record<string, Json> {
    return { path: this.path, reason: this.reason };
  }
}
