// Loads a policy for a run, auditing a refusal. A policy that fails validation (a tampered
// module's digest among them), in strict mode its signatures or version check, or a module its
// load-time vetting refuses (a count over its cap), is refused with its typed error AND one
// audit record, before anything runs.
import type { AuditEvent, AuditRecord } from "../audit/index.js";
import { CordonError, PolicyInvalid, ToolRefused } from "../errors.js";
import { loadPolicy, type LoadedPolicy, type PolicyTrust } from "../policy/load-policy.js";
import { errorFields } from "../audit/fields.js";

export interface AuditAppend {
  append(event: AuditEvent): Promise<AuditRecord>;
}

export async function loadAudited(path: string, audit: AuditAppend, trust?: PolicyTrust): Promise<LoadedPolicy> {
  try {
    return loadPolicy(path, trust);
  } catch (err) {
    if (err instanceof PolicyInvalid) {
      const digest = err.issues.some((i) => i.path.endsWith(".module.sha256") || i.path.endsWith(".script.sha256"));
      await audit.append({ type: "policy.refused", ...(digest ? { enforcer: "module-digest" } : {}), code: err.code, problems: err.issues.length });
    } else if (err instanceof ToolRefused) {
      await audit.append({ type: "policy.refused", ...errorFields(err) });
    } else if (err instanceof CordonError) {
      const signature = err.code === "ERR_SIGNATURE_INVALID" || err.code === "ERR_ARTIFACT_ROLLBACK";
      await audit.append({ type: "policy.refused", ...(signature ? { enforcer: "artifact-signature" } : {}), ...errorFields(err) });
    }
    throw err;
  }
}
