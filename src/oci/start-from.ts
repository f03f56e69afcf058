// Pulls as a start does, audited: `cordon pull` and `cordon up --from`. A refusal (anything that
// fails to verify, or a registry that misbehaves) is one `oci.refused` record naming the
// oci-verify enforcer before it is rethrown. For a start, a registry that cannot be reached
// or does not answer in time is not a refusal: the verified cache serves the start instead,
// recorded as `oci.cache-used` with the reason, and only when nothing verified is cached for
// the reference is the start refused (ERR_OCI_NOT_CACHED). A verification failure never
// falls back to the cache: it is refused.
import type { AuditEvent, AuditRecord } from "../audit/index.js";
import { errorFields } from "../audit/fields.js";
import { CordonError } from "../errors.js";
import { ContentCache, type VerifiedRelease } from "./content-cache.js";
import { OciDigestRequired, OciNotCached, OciRegistryError } from "./errors.js";
import type { Deadlines } from "./http-transport.js";
import { materializeRelease, type Materialized } from "./materialize.js";
import { openRegistry } from "./open-registry.js";
import { pullRelease, type Progress, type PulledRelease } from "./pull-release.js";
import { formatReference, parseReference, repositoryOf, type OciReference } from "./reference.js";
import type { RegistryClient } from "./registry-client.js";
import type { OciArtifactKind } from "./media-types.js";

export const OCI_ENFORCER = "oci-verify";

export interface AuditSink {
  append(event: AuditEvent): Promise<AuditRecord>;
}

export interface AuditedPullOptions {
  readonly dataDir: string;
  readonly reference: string;
  readonly audit: AuditSink;
  readonly repin?: boolean;
  readonly deadlines?: Deadlines;
  readonly caps?: Partial<Record<OciArtifactKind, number>>;
  readonly onProgress?: (p: Progress) => void;
  /** A client to use instead of one for the reference's registry (tests, probes). */
  readonly client?: RegistryClient;
}

async function refuse(audit: AuditSink, reference: string, err: unknown): Promise<never> {
  if (err instanceof CordonError) await audit.append({ type: "oci.refused", enforcer: OCI_ENFORCER, reference: reference.slice(0, 512), ...errorFields(err) });
  throw err;
}

async function withClient<T>(opts: AuditedPullOptions, ref: OciReference, fn: (client: RegistryClient) => Promise<T>): Promise<T> {
  const client = opts.client ?? openRegistry(ref, opts.dataDir, opts.deadlines);
  try {
    return await fn(client);
  } finally {
    if (opts.client === undefined) client.close();
  }
}

/** `cordon pull`: fetch and verify, or one refusal record. */
export async function pullAudited(opts: AuditedPullOptions): Promise<PulledRelease> {
  let ref: OciReference;
  try {
    ref = parseReference(opts.reference);
  } catch (err) {
    return refuse(opts.audit, opts.reference, err);
  }
  try {
    const pulled = await withClient(opts, ref, (client) =>
      pullRelease({ dataDir: opts.dataDir, reference: ref, client, ...(opts.repin === undefined ? {} : { repin: opts.repin }), ...(opts.caps === undefined ? {} : { caps: opts.caps }), ...(opts.onProgress === undefined ? {} : { onProgress: opts.onProgress }) }),
    );
    await opts.audit.append({ type: "oci.pulled", reference: pulled.reference, digest: pulled.digest, pinnedNow: pulled.pinnedNow, policyVersion: pulled.release.policyVersion, artifacts: pulled.release.artifacts.length, downloaded: pulled.downloaded, trustBundleInstalled: pulled.trustBundleInstalled });
    return pulled;
  } catch (err) {
    return refuse(opts.audit, formatReference(ref), err);
  }
}

/** Failures that mean "the registry is not there", as opposed to "what it served is wrong". */
export function isUnavailable(err: unknown): boolean {
  if (!(err instanceof CordonError)) return false;
  if (err.code === "ERR_OCI_UNREACHABLE" || err.code === "ERR_OCI_TIMEOUT") return true;
  return err instanceof OciRegistryError && err.status >= 500;
}

export interface StartFrom extends Materialized {
  readonly reference: string;
  readonly digest: string;
  readonly source: "registry" | "cache";
}

/** `cordon up --from REF`: the release verified (pulled, or from the verified cache when the registry is down), laid out for the strict start. */
export async function startFrom(opts: AuditedPullOptions & { readonly grantsDir: string }): Promise<StartFrom> {
  let ref: OciReference;
  try {
    ref = parseReference(opts.reference);
  } catch (err) {
    return refuse(opts.audit, opts.reference, err);
  }
  const reference = formatReference(ref);
  let release: VerifiedRelease;
  let source: "registry" | "cache" = "registry";
  try {
    release = (await withClient(opts, ref, (client) =>
      pullRelease({ dataDir: opts.dataDir, reference: ref, client, ...(opts.caps === undefined ? {} : { caps: opts.caps }), ...(opts.onProgress === undefined ? {} : { onProgress: opts.onProgress }) }),
    )).release;
    await opts.audit.append({ type: "oci.pulled", reference, digest: release.digest, policyVersion: release.policyVersion, artifacts: release.artifacts.length });
  } catch (err) {
    if (!isUnavailable(err)) return refuse(opts.audit, reference, err);
    const cache = ContentCache.open(opts.dataDir);
    const digest = ref.digest ?? cache.pinned(`${repositoryOf(ref)}:${ref.tag ?? ""}`);
    const cached = digest === null ? null : cache.verified(digest);
    if (cached === null) return refuse(opts.audit, reference, new OciNotCached(reference, (err as CordonError).code));
    release = cached;
    source = "cache";
    await opts.audit.append({ type: "oci.cache-used", reference, digest: release.digest, reason: (err as CordonError).code, verifiedAt: release.verifiedAt });
  }
  try {
    const laid = materializeRelease(opts.dataDir, release, opts.grantsDir);
    // Production runs only what a reference names by digest: a tag's pin is the digest to write.
    if (laid.profile === "production" && ref.digest === null) throw new OciDigestRequired(reference, release.digest);
    return { ...laid, reference, digest: release.digest, source };
  } catch (err) {
    return refuse(opts.audit, reference, err);
  }
}
