// The contract between an instrumented module and its host.
//
// Imports (appended AFTER the module's own imports, so imported function indices never move):
//   cordon_meter.refill : [] -> []        called when the fuel global drops below 0; the host
//                                           either loads a new slice into the global and returns,
//                                           or throws to stop the guest.
//   cordon_meter.grow   : [i32] -> [i32]  replaces every `memory.grow` on memory 0: same
//                                           contract (delta pages in, old size in pages or -1
//                                           out); the host grows `__cordon_memory` through the JS
//                                           API, so it can see and record a denial.
// Exports:
//   __cordon_fuel    mutable i64 global: fuel left in the current slice. It starts at 0; the host
//                    loads a slice before calling in. Refill must leave it >= 0 (or throw): a
//                    loop's check only lets the guest through when it is (see fuel-checks.ts).
//   __cordon_memory  memory 0, when the module defines one (its own exports are kept too).
//   __cordon_start   the module's start function, when it has one. The start section is
//                    removed, so nothing runs during instantiation (when the host has not yet
//                    bound fuel and memory); the host calls this export once, right after
//                    instantiating and loading the first slice, before any other export.
//
// Function indices: defined functions move up by 2 in the output. A V8 stack frame
// `wasm-function[N]` names an OUTPUT index; `mapWasmFunctionIndex` turns it back into the index
// the guest's author sees (and that `InstrumentResult.functionNames` is keyed by).

export const METER_MODULE = "cordon_meter";
export const REFILL_IMPORT = "refill";
export const GROW_IMPORT = "grow";
export const FUEL_EXPORT = "__cordon_fuel";
export const MEMORY_EXPORT = "__cordon_memory";
export const START_EXPORT = "__cordon_start";
/** Export names starting with this are reserved for cordon. */
export const RESERVED_EXPORT_PREFIX = "__cordon";

/** How many function imports instrumentation adds. */
export const ADDED_FUNCTION_IMPORTS = 2;

/** Original function index -> output function index. */
export function toOutputFunctionIndex(originalIndex: number, importedFunctionCount: number): number {
  return originalIndex < importedFunctionCount ? originalIndex : originalIndex + ADDED_FUNCTION_IMPORTS;
}

/**
 * Output function index (as in a V8 stack frame's `wasm-function[N]`) -> the original module's
 * index, or null for the two functions instrumentation added (refill, grow).
 * `importedFunctionCount` is the ORIGINAL module's (`parsed.counts.importedFunctions`).
 */
export function mapWasmFunctionIndex(outputIndex: number, importedFunctionCount: number): number | null {
  if (outputIndex < importedFunctionCount) return outputIndex;
  if (outputIndex < importedFunctionCount + ADDED_FUNCTION_IMPORTS) return null;
  return outputIndex - ADDED_FUNCTION_IMPORTS;
}
