// How a host call ends early. Thrown inside an operation and turned into an errno (plus, for a
// denial, exactly one onDenied event) by the single guard around every import.
import type { EnforcerName } from "../../enforcers.js";

/** Which enforcer refused, and why, as it will appear in the WasiDenial event. */
export interface DenialReason {
  readonly enforcer: EnforcerName;
  readonly code: string;
  readonly path?: string;
}

export class Refusal extends Error {
  constructor(readonly errno: number, readonly denial: DenialReason | null) {
    super(denial === null ? `wasi errno ${errno}` : `${denial.code} (errno ${errno})`);
    this.name = "Refusal";
  }
}

/** End the call with `errno`; an ordinary failure (ENOENT, EISDIR, …), not a denial. */
export function fail(errno: number): never {
  throw new Refusal(errno, null);
}

/** End the call with `errno` and report one denial. */
export function deny(errno: number, enforcer: EnforcerName, code: string, path?: string): never {
  throw new Refusal(errno, path === undefined ? { enforcer, code } : { enforcer, code, path });
}

/** Signals an out-of-bounds guest pointer; the guard turns it into EFAULT. */
export class MemoryFault extends Error {
  constructor() {
    super("guest pointer out of bounds");
    this.name = "MemoryFault";
  }
}
