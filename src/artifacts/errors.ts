// Failures of the trust bundle and of signed artifacts' versions. Codes are stable.
import { CordonError, type Json } from "../errors.js";

export interface BundleIssue {
  readonly path: string;
  readonly problem: string;
}

/** A trust bundle's payload does not match the schema or its cross-checks. */
export class TrustBundleInvalid extends CordonError {
  readonly code = "ERR_TRUST_BUNDLE_INVALID";
  constructor(readonly issues: readonly BundleIssue[]) {
    super(`trust bundle is invalid: ${issues.map((i) => `${i.path}: ${i.problem}`).join("; ")}`);
  }
  fields(): Record<string, Json> {
    return { issues: this.issues.map((i) => ({ path: i.path, problem: i.problem })) };
  }
}

/** A validly signed artifact older than one already accepted: a rollback, refused. */
export class ArtifactRollback extends CordonError {
  readonly code = "ERR_ARTIFACT_ROLLBACK";
  constructor(readonly kind: string, readonly version: number, readonly highest: number) {
    super(`${kind} version ${version} is older than version ${highest}, already accepted`,
      `sign a ${kind} with a version of at least ${highest}`);
  }
  fields(): Record<string, Json> {
    return { kind: this.kind, version: this.version, highest: this.highest };
  }
}

/** The state file that remembers accepted versions is unreadable, malformed or exposed. */
export class VersionStateUnusable extends CordonError {
  readonly code = "ERR_VERSION_STATE_UNUSABLE";
  constructor(readonly path: string, readonly reason: string) {
    super(`version state ${path} cannot be used: ${reason}`);
  }
  fields(): Record<string, Json> {
    return { path: this.path, reason: this.reason };
  }
}
