// The distribution verbs: `cordon publish REF` pushes this machine's signed release to a
// registry; `cordon pull REF` fetches and verifies one into the data directory's cache; `cordon
// up --from REF` starts from one (up-from.ts). Registry credentials come from the data
// directory's owner-only registry-auth.json, never from argv or the environment.
import { AuditLog } from "../audit/index.js";
import { dataDir } from "../config/defaults.js";
import { openRegistry } from "../oci/open-registry.js";
import { publishRelease } from "../oci/publish-release.js";
import type { Progress } from "../oci/pull-release.js";
import { parseReference } from "../oci/reference.js";
import { pullAudited } from "../oci/start-from.js";
import type { Io } from "./commands.js";

export interface PublishFlags {
  readonly reference: string;
  readonly policy: string;
  readonly audit: string;
}

export async function publishCommand(opts: PublishFlags, io: Io): Promise<number> {
  const ref = parseReference(opts.reference);
  const home = dataDir();
  const client = openRegistry(ref, home);
  try {
    const published = await publishRelease({ dataDir: home, policyPath: opts.policy, reference: ref, client, onProgress: (what) => io.err(`cordon: pushing ${what}`) });
    const log = await AuditLog.open(opts.audit);
    try {
      await log.append({ type: "oci.published", reference: opts.reference.slice(0, 512), digest: published.digest, artifacts: published.artifacts, bytes: published.bytes, referrers: published.referrers });
    } finally {
      await log.close();
    }
    io.err(`cordon: ${published.artifacts} artifacts (${published.bytes} bytes; ${published.uploaded.monolithic + published.uploaded.chunked} blobs uploaded, ${published.uploaded.existing} already there), signatures attached by the ${published.referrers === "api" ? "referrers API" : "referrers tag schema"}`);
    io.out(published.pinned);
    return 0;
  } finally {
    client.close();
  }
}

/** Progress lines for large downloads (images), at most one per 8 MiB. */
export function progressPrinter(io: Io): (p: Progress) => void {
  return (p) => io.err(`cordon: ${p.what}: ${(p.received / 1048576).toFixed(1)} MiB${p.total === null ? "" : ` of ${(p.total / 1048576).toFixed(1)} MiB (${Math.floor((100 * p.received) / Math.max(1, p.total))}%)`}`);
}

export interface PullFlags {
  readonly reference: string;
  readonly audit: string;
  readonly repin: boolean;
}

export async function pullCommand(opts: PullFlags, io: Io): Promise<number> {
  const log = await AuditLog.open(opts.audit);
  try {
    const pulled = await pullAudited({ dataDir: dataDir(), reference: opts.reference, audit: log, repin: opts.repin, onProgress: progressPrinter(io) });
    const r = pulled.release;
    io.err(`cordon: verified ${r.artifacts.length} artifacts of policy version ${r.policyVersion}${r.trustBundleVersion === null ? "" : ` with trust bundle version ${r.trustBundleVersion}${pulled.trustBundleInstalled ? " (installed)" : ""}`}; downloaded ${pulled.downloaded} bytes${pulled.pinnedNow ? `; pinned ${pulled.reference} to ${pulled.digest}` : ""}`);
    io.out(`${r.repository}@${pulled.digest}`);
    return 0;
  } finally {
    await log.close();
  }
}
