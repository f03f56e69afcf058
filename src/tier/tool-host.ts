// Where a session's tools run, seen from the control plane: one interface every tier's host
// implements (a cell, a tool process per call, a container, a microVM), so a session does not
// care which. Plain types only; the tiers and the runtime sit above this.
import type { Json } from "../errors.js";
import type { CallOutcome } from "../wasm/engine/types.js";
import type { JailedEntry, JailedResult, JailedStat } from "../wasm/wasi/jailed-files.js";

export type Isolation = "cell" | "in-process";

export interface HostCallOptions {
  readonly wallClockMs: number;
  readonly maxOutputBytes: number;
  /** Probes only: replace the tool's fuel budget (Wasm). */
  readonly fuelOverride?: number;
  /**
   * Aborted when the client cancels the call: the host stops the call's work as its tier
   * allows (a process tier kills the call's process tree; a cell stops the guest at its next
   * fuel slice) and answers ERR_CALL_CANCELLED.
   */
  readonly signal?: AbortSignal;
  /** The guest's own progress reports (Wasm tools with the progress grant). */
  readonly onProgress?: (done: number, total: number) => void;
  /** Answers the guest's request to the client's model (Wasm tools with the sampling grant). */
  readonly onSample?: (request: Uint8Array) => Promise<Uint8Array | number>;
}

/** A resource root's files, served by the compartment that binds them, through its jail. */
export interface ResourceFiles {
  list(tool: string, mount: string, dir: string, depth: number, dirs: boolean): Promise<JailedResult<JailedEntry[]>>;
  read(tool: string, mount: string, path: string, maxBytes: number): Promise<JailedResult<{ bytes: Uint8Array; mtimeMs: number }>>;
  stat(tool: string, mount: string, path: string): Promise<JailedResult<JailedStat>>;
}

export interface ToolHost {
  readonly isolation: Isolation;
  toolNames(): string[];
  has(name: string): boolean;
  call(name: string, input: Uint8Array, opts: HostCallOptions): Promise<CallOutcome>;
  close(): Promise<void>;
  /** The files of the session's resource roots, where this compartment serves them. */
  readonly files?: ResourceFiles | undefined;
}

/** What a tier is made of on this host: named layers, in order from the outside in. */
export type Layer = "wasm" | "os-sandbox" | "seccomp" | "container" | "gvisor" | "microvm" | "in-process";

/** Whether this host runs a tier, and what it is made of here. */
export type Availability =
  | { readonly ok: true; readonly layers: readonly Layer[]; readonly detail: Readonly<Record<string, Json>> }
  | { readonly ok: false; readonly missing: string };
