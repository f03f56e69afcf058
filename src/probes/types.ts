import type { TokenVerifier } from "../authn/principal.js";
import type { TrustBundle } from "../artifacts/trust-bundle.js";
import type { PolicyLine } from "../policy/lines.js";
import type { LoadedTool } from "../policy/load-policy.js";
import type { Runtime } from "../runtime/runtime.js";

/** What a strict start verified: the runtime rows of `prove` attack exactly this. */
export interface TrustContext {
  readonly bundle: TrustBundle;
  /** cordon's data directory (the pinned root, the signed bundle, signatures, versions.json). */
  readonly dataDir: string;
  /** The verifier every transport uses for this runtime. */
  readonly verifier: TokenVerifier;
}

export interface ProbeEnv {
  readonly runtime: Runtime;
  readonly line: PolicyLine;
  /** The tool the line belongs to (tool lines), or the role's name (role lines). */
  readonly tool: LoadedTool | undefined;
  readonly role: string | undefined;
  /** A fresh temporary directory, removed after the probe. */
  readonly tmp: string;
  /** The verified trust of this run (runtime lines; absent for policy lines). */
  readonly trust?: TrustContext;
}

export interface ProbeOutcome {
  /** The hostile action was stopped (host unchanged, nothing leaked). */
  readonly stopped: boolean;
  /** What was observed, for the table. */
  readonly detail: string;
  /**
   * Set when the probe could not be run here, saying why (e.g. it needs a key this host does
   * not hold). The row is then `unavailable`, never proven.
   */
  readonly unavailable?: string;
}

export type Probe = (env: ProbeEnv) => Promise<ProbeOutcome>;
