// instrument: everything cordon does to a module's bytes before compiling it, in this order:
//   1. shape: size cap and every count capped (vet-module.ts: a parse that refuses a count past
//      its cap where it reads it, so no engine ever sees a module over a cap), then
//      WebAssembly.validate on the ORIGINAL bytes (before anything is added, so no reference to
//      a not-yet-existing global, type or function can become valid), then reserved names;
//   2. limits: memory and table caps written into the binary (rewrite-limits.ts);
//   3. metering: fuel checks (a loop trampoline at param-less loop headers, if/call at function
//      entries and loops with params, fuel cached in a local inside call-free loops), the
//      memory.grow hook, and the start section turned into the __cordon_start export
//      (inject-metering.ts, rewrite-body.ts, fuel-checks.ts, fuel-cost.ts).
// The output is validated again by whoever compiles it; the contract with the host is in
// meter-abi.ts (the host must call __cordon_start, when exported, before anything else).
import { ModuleMalformed, ModuleRefused } from "../../errors.js";
import { injectMetering } from "./inject-metering.js";
import { METER_MODULE, RESERVED_EXPORT_PREFIX } from "./meter-abi.js";
import { parseModule } from "./parse-module.js";
import { capLimits, checkLimits } from "./rewrite-limits.js";
import type { LimitCaps } from "./rewrite-limits.js";
import type { ParsedModule } from "./types.js";
import { vetCaps, vetModule, type VetOptions } from "./vet-module.js";

export type InstrumentOptions = LimitCaps & VetOptions;

export interface InstrumentResult {
  readonly bytes: Uint8Array<ArrayBuffer>;
  /** The ORIGINAL module, parsed. */
  readonly parsed: ParsedModule;
  /**
   * Function names from the name section, keyed by the ORIGINAL function index (imports first,
   * as the guest's author sees them). A V8 frame `wasm-function[N]` names an OUTPUT index: map
   * it with `mapWasmFunctionIndex(N, parsed.counts.importedFunctions)`.
   */
  readonly functionNames: ReadonlyMap<number, string>;
}

function engineMessage(bytes: Uint8Array<ArrayBuffer>): { message: string; offset?: number } {
  try {
    new WebAssembly.Module(bytes);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    const at = message.match(/@\+(\d+)/)?.[1];
    return at === undefined ? { message } : { message, offset: Number(at) };
  }
  return { message: "WebAssembly.validate returned false" };
}

/**
 * Why an invalid module is invalid: a refusal when it uses something cordon names (memory64,
 * GC types, ...), else the engine's own message. Either way it is never loaded. `parsed` is the
 * capped parse of `bytes` (every body was decoded by it: an unsupported opcode is already
 * refused), so the engine is only asked about a module within every cap.
 */
function diagnoseInvalid(bytes: Uint8Array<ArrayBuffer>, parsed: ParsedModule, caps: LimitCaps): ModuleRefused | ModuleMalformed {
  try {
    checkLimits(parsed, caps);
  } catch (err) {
    if (err instanceof ModuleRefused) return err;
  }
  const { message, offset } = engineMessage(bytes);
  return new ModuleMalformed(`rejected by the engine's validator: ${message}`, offset);
}

function checkShape(parsed: ParsedModule): void {
  const reserved = parsed.exports.find((e) => e.name.startsWith(RESERVED_EXPORT_PREFIX));
  if (reserved !== undefined) {
    throw new ModuleRefused("reserved-export", `export '${reserved.name}' uses the reserved prefix ${RESERVED_EXPORT_PREFIX}`);
  }
  const meterImport = parsed.imports.find((i) => i.module === METER_MODULE);
  if (meterImport !== undefined) {
    throw new ModuleRefused("reserved-export", `import ${meterImport.module}.${meterImport.name} uses the reserved module ${METER_MODULE}`);
  }
}

export function instrument(bytes: Uint8Array, opts: InstrumentOptions): InstrumentResult {
  if (bytes.length > opts.maxBytes) {
    throw new ModuleRefused("oversized", `module is ${bytes.length} bytes; the limit is ${opts.maxBytes}`);
  }
  // A private copy: the caller's buffer could change under us between checks (or be shared).
  const original = new Uint8Array(bytes);
  const parsed = vetModule(original, opts);
  if (!WebAssembly.validate(original)) throw diagnoseInvalid(original, parsed, opts);
  checkShape(parsed);
  const capped = capLimits(original, parsed, opts);
  const out = injectMetering(capped, parseModule(capped, vetCaps(opts)));
  return { bytes: out, parsed, functionNames: parsed.functionNames };
}
