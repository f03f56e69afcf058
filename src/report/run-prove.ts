// One prove run turned into a report: runs every probe (as `cordon prove` does), keeps each
// record the run appended, and joins rows to records. The CLI and the console both use it.
import type { AuditRecord } from "../audit/index.js";
import { dataDir } from "../config/defaults.js";
import { lockRows, type RuntimeLockResult } from "../lock/verify-lock.js";
import { prove, type ProveRow } from "../probes/prove.js";
import { PROBES } from "../probes/registry.js";
import type { TrustContext } from "../probes/types.js";
import type { Runtime } from "../runtime/runtime.js";
import type { TrustBundle } from "../artifacts/trust-bundle.js";
import type { TokenVerifier } from "../authn/principal.js";
import { hostFacts, tierFacts } from "./host-facts.js";
import { buildProveReport, type ProveReport } from "./prove-report.js";

export interface ProveSubject {
  readonly runtime: Runtime;
  readonly bundle: TrustBundle | null;
  readonly verifier: TokenVerifier | null;
  readonly lock: RuntimeLockResult | null;
  /** The policy file, as given. */
  readonly policyPath: string;
}

export async function runProveReport(subject: ProveSubject, onRow?: (row: ProveRow) => void): Promise<ProveReport> {
  const { runtime, bundle, verifier } = subject;
  // The runtime rows attack the trust this start verified; --no-strict shows them unavailable.
  const trust: TrustContext | null = bundle === null || verifier === null ? null : { bundle, verifier, dataDir: dataDir() };
  const records = new Map<number, AuditRecord>();
  const stop = runtime.audit.onRecord((r) => records.set(r.seq, r));
  let rows: ProveRow[];
  try {
    rows = await prove(runtime, onRow, PROBES, trust);
  } finally {
    stop();
  }
  for (const r of runtime.audit.recordsAfter(0)) if (!records.has(r.seq)) records.set(r.seq, r);
  const { policy } = runtime;
  return buildProveReport({
    now: new Date(),
    policy: { path: subject.policyPath, sha256: policy.sha256, profile: policy.profile, lines: policy.lines.length },
    isolation: runtime.isolation,
    host: hostFacts(tierFacts((t) => runtime.driverOf(t))),
    rows,
    records,
    lock: subject.lock === null ? null : lockRows(subject.lock),
  });
}
