// The public shapes of cordon's WASI host.
import type { EnforcerName } from "../../enforcers.js";

export interface Preopen {
  /** Directory name the guest sees, e.g. "/data". */
  readonly guestPath: string;
  /** Absolute host directory, already validated by policy. */
  readonly hostPath: string;
  readonly writable: boolean;
  /** Enforcer named in denial events for this preopen, e.g. "wasi-jail". */
  readonly enforcer: EnforcerName;
}

export interface WasiDenial {
  /** "wasi-jail" (or the preopen's enforcer) for fs, "wasi-clock", "wasi-random", "wasi-unsupported". */
  readonly enforcer: EnforcerName;
  /** Stable code, e.g. "ERR_WASI_PATH_ESCAPE". */
  readonly code: string;
  /** The preview1 function that was refused. */
  readonly op: string;
  /** The WASI errno returned to the guest. */
  readonly errno: number;
  /** The guest-supplied path, truncated to 256 characters. */
  readonly path?: string;
}

export interface WasiOptions {
  readonly args: readonly string[];
  /** Only the granted variables; nothing from process.env is ever added. */
  readonly env: Readonly<Record<string, string>>;
  /** Become guest fds 3, 4, … in this order. */
  readonly preopens: readonly Preopen[];
  readonly stdin: Uint8Array;
  /** Bytes; writing past it throws LimitExceeded("output") out of the host call. */
  readonly stdoutCap: number;
  /** Bytes; stderr past it is silently dropped. */
  readonly stderrCap: number;
  readonly clock: boolean;
  readonly random: boolean;
  /** Files the guest may hold open at once via path_open (stdio and preopens not counted). */
  readonly maxOpenFiles: number;
  /** Realtime clock in ns; also drives the monotonic clock (clamped to never go back). */
  readonly now?: () => bigint;
  readonly randomFill?: (bytes: Uint8Array) => void;
  /** Called once for every refused operation. If it throws, the throw unwinds the guest. */
  readonly onDenied: (denial: WasiDenial) => void;
}
