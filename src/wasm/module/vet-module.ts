// vetModule: the checks a module must pass before any engine sees its bytes — its size, a parse
// that holds every count to the tool's caps, then each body's nesting depth (which decodes every
// instruction, so an unsupported opcode is refused here too). It compiles nothing and its memory
// is bounded by the caps, so the control plane runs it at policy load and the cell again before
// it validates and instruments (the same function, the same caps, both times).
import { ModuleRefused } from "../../errors.js";
import { checkNesting } from "./check-nesting.js";
import { toolModuleCaps, type ModuleCaps } from "./module-caps.js";
import { parseModule } from "./parse-module.js";
import type { ParsedModule } from "./types.js";

export interface VetOptions {
  /** Largest module, in bytes. */
  readonly maxBytes: number;
  /** Most functions (imported + defined): the policy's `limits.maxFunctions`. */
  readonly maxFunctions: number;
  /** The memory cap in 64 KiB pages: data segments may hold at most this much. */
  readonly maxMemoryPages: number;
  /** Other caps than the defaults (tests; the function and data caps come from the fields above). */
  readonly caps?: Partial<Omit<ModuleCaps, "functions" | "dataBytes">>;
}

/** The caps `vetModule` holds a module to under `opts`. */
export function vetCaps(opts: VetOptions): ModuleCaps {
  return toolModuleCaps(opts, opts.caps);
}

/** The shape checks of vetModule under explicit caps: the capped parse, then every body's nesting depth. */
export function vetShape(bytes: Uint8Array, caps: ModuleCaps): ParsedModule {
  const parsed = parseModule(bytes, caps);
  for (const body of parsed.code) checkNesting(bytes, { start: body.codeStart, end: body.end }, caps);
  return parsed;
}

/**
 * Throws ModuleRefused("oversized"), ModuleCapExceeded (a count over its cap, refused where it
 * was read), ModuleMalformed or ModuleRefused("unsupported-feature"); else the parsed module
 * (its bodies decoded once, and within the nesting cap).
 */
export function vetModule(bytes: Uint8Array, opts: VetOptions): ParsedModule {
  if (bytes.length > opts.maxBytes) {
    throw new ModuleRefused("oversized", `module is ${bytes.length} bytes; the limit is ${opts.maxBytes}`);
  }
  return vetShape(bytes, vetCaps(opts));
}
