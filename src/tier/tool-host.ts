// Where a session's tools run, seen from the control plane: one interface every tier's host
// implements (a cell, a tool process per call, a container, a microVM), so a session does not
// care which. Plain types only; the tiers and the runtime sit above this.
import type { Json } from "../errors.js";
import type { CallOutcome } from "../wasm/engine/types.js";

export type Isolation = "cell" | "in-process";

export interface HostCallOptions {
  readonly wallClockMs: number;
  readonly maxOutputBytes: number;
  /** Probes only: replace the tool's fuel budget (Wasm). */
  readonly fuelOverride?: number;
}

export interface ToolHost {
  readonly isolation: Isolation;
  toolNames(): string[];
  has(name: string): boolean;
  call(name: string, input: Uint8Array, opts: HostCallOptions): Promise<CallOutcome>;
  close(): Promise<void>;
}

/** What a tier is made of on this host: named layers, in order from the outside in. */
export type Layer = "wasm" | "os-sandbox" | "seccomp" | "container" | "gvisor" | "microvm" | "in-process";

/** Whether this host runs a tier, and what it is made of here. */
export type Availability =
  | { readonly ok: true; readonly layers: readonly Layer[]; readonly detail: Readonly<Record<string, Json>> }
  | { readonly ok: false; readonly missing: string };
