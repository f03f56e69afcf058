// The data that crosses into a cell and back out. Plain, serialisable, no functions: a later
// tier moves the cell into a sandboxed process and sends these over a pipe unchanged.
import type { CordonError } from "../../errors.js";
import type { Grant, Limits } from "../../types/tool.js";
import type { EnforcerName } from "../../enforcers.js";

export interface ToolTemplate {
  readonly name: string;
  readonly abi: "wasi-command" | "reactor";
  /** Verified bytes (digest already checked by the control plane). */
  readonly moduleBytes: Uint8Array;
  readonly limits: Limits;
  readonly grants: readonly Grant[];
}

/** Denials inside one call, aggregated per enforcer so a guest cannot flood the log. */
export interface DenialSummary {
  readonly enforcer: EnforcerName;
  readonly count: number;
  /** Count per error code, e.g. { ERR_WASI_PATH_ESCAPE: 3 }. */
  readonly codes: Readonly<Record<string, number>>;
  /** Count per operation, e.g. { path_open: 3 }. */
  readonly ops: Readonly<Record<string, number>>;
}

export interface CallStats {
  readonly fuelUsed: number;
  readonly wallUs: number;
  readonly outputBytes: number;
  readonly memoryBytes: number;
}

interface OutcomeBase {
  readonly logs: readonly string[];
  readonly denials: readonly DenialSummary[];
  readonly stats: CallStats;
}

export type CallOutcome =
  | (OutcomeBase & { readonly ok: true; readonly output: Uint8Array })
  | (OutcomeBase & { readonly ok: false; readonly error: CordonError; readonly enforcer: EnforcerName | null });

/**
 * What one call may reach beyond its instance, each only where its tool holds the grant (the
 * imports are vetted at load): given by the cell (frames to the control plane) or, in-process,
 * by the host. Synchronous: the guest waits.
 */
export interface CallHooks {
  /** A progress report (already kept increasing and capped by the call's context). */
  readonly progress?: (done: number, total: number) => void;
  /** Asks the client's model: the answer's bytes, or a negative code (guests/README.md). */
  readonly sample?: (request: Uint8Array, deadline: number) => Uint8Array | number;
  /** Runs at every fuel slice (about 1 ms of guest work); throws CallCancelled to stop the guest. */
  readonly slice?: () => void;
}

/** Events a cell reports as they happen (guest log lines surface here). */
export interface CellEvents {
  onLog?(tool: string, line: string): void;
}
