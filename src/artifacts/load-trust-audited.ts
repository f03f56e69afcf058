// Start-up's trust step: the pinned root and the signed trust bundle from cordon's data
// directory, with a refusal recorded once (enforcer trust-bundle) before it is rethrown.
import type { AuditEvent, AuditRecord } from "../audit/index.js";
import { CordonError } from "../errors.js";
import { errorFields } from "../audit/fields.js";
import { loadTrustBundle } from "./load-trust-bundle.js";
import type { TrustBundle } from "./trust-bundle.js";

export const TRUST_BUNDLE_ENFORCER = "trust-bundle";

export async function loadTrustAudited(dataDir: string, audit: { append(event: AuditEvent): Promise<AuditRecord> }): Promise<TrustBundle> {
  try {
    return loadTrustBundle({ dataDir }).bundle;
  } catch (err) {
    if (err instanceof CordonError) await audit.append({ type: "trust.refused", enforcer: TRUST_BUNDLE_ENFORCER, ...errorFields(err) });
    throw err;
  }
}
