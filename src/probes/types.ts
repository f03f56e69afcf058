import type { PolicyLine } from "../policy/lines.js";
import type { LoadedTool } from "../policy/load-policy.js";
import type { Runtime } from "../runtime/runtime.js";

export interface ProbeEnv {
  readonly runtime: Runtime;
  readonly line: PolicyLine;
  /** The tool the line belongs to (tool lines), or the role's name (role lines). */
  readonly tool: LoadedTool | undefined;
  readonly role: string | undefined;
  /** A fresh temporary directory, removed after the probe. */
  readonly tmp: string;
}

export interface ProbeOutcome {
  /** The hostile action was stopped (host unchanged, nothing leaked). */
  readonly stopped: boolean;
  /** What was observed, for the table. */
  readonly detail: string;
}

export type Probe = (env: ProbeEnv) => Promise<ProbeOutcome>;
