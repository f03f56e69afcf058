// ModuleCaps: the most of each thing a module may declare. The parser checks every count where
// it reads it, before it allocates anything for it, so its memory is bounded by these caps and
// the byte cap whatever the input.
//
// The engines' own implementation limits (the JS API's "implementation-defined limits", shared
// by V8, SpiderMonkey and wasmparser) are far larger: 1,000,000 types, functions and globals,
// 100,000 imports, exports and data segments, 50,000 locals, 1,000 params and results,
// 100 tables and memories, 100,000-byte names, 7,654,321-byte bodies. cordon's tools are small
// programs, so most caps here are tighter; a cap only an attacker can reach costs nothing.
import { UsageError, type ModuleCapName } from "../../errors.js";

export type ModuleCaps = { readonly [K in ModuleCapName]: number };

const MiB = 1024 * 1024;

export const DEFAULT_MODULE_CAPS: ModuleCaps = Object.freeze({
  /** Entries of the type section. */
  types: 10_000,
  /** Params of one function type (the engines' limit). */
  typeParams: 1_000,
  /** Results of one function type (the engines' limit). */
  typeResults: 1_000,
  /** Params plus results over all types. */
  typeValues: 100_000,
  imports: 1_000,
  /** Imported + defined. The policy's `limits.maxFunctions` replaces it per tool. */
  functions: 20_000,
  /** Imported + defined (each table's size has its own cap, `limits.maxTableElements`). */
  tables: 16,
  /** Imported + defined. cordon then refuses more than one (multi-memory) or an imported one. */
  memories: 100,
  /** Imported + defined. */
  globals: 10_000,
  /** Imported + defined (exception handling itself is refused by the instruction decoder). */
  tags: 1_000,
  exports: 10_000,
  elementSegments: 1_000,
  /** Entries of one element segment (as many as there may be functions). */
  segmentElements: 20_000,
  /** Entries over all element segments. */
  elements: 50_000,
  dataSegments: 1_000,
  /** Bytes over all data segments. Per tool it is the memory cap (`limits.memory`): more could never all be in memory. */
  dataBytes: 8 * MiB,
  /** Locals one function declares (the sum of its local groups), params not included. */
  functionLocals: 50_000,
  /** Local groups over all functions. */
  localGroups: 50_000,
  /** One code entry, its size field excluded. */
  bodyBytes: 1 * MiB,
  /** Open `block`/`loop`/`if` labels inside one function body. */
  nestingDepth: 1_000,
  /** Bytes of one name: import module and field names, export names, custom section names, the name section's names. */
  nameBytes: 1024,
  /** Bytes of all those names together (each is decoded into a string). */
  totalNameBytes: 2 * MiB,
  /** Subsections, naming maps' entries and names of the name section, together. */
  nameEntries: 50_000,
  customSections: 100,
});

export const MODULE_CAP_NAMES = Object.freeze(Object.keys(DEFAULT_MODULE_CAPS) as ModuleCapName[]);

/**
 * Full caps from the defaults and `overrides`, checked (each a safe integer >= 0) and frozen
 * into a prototype-less object. Throws UsageError on a bad value or an unknown name.
 */
export function moduleCaps(overrides: Partial<ModuleCaps> = {}): ModuleCaps {
  const out = Object.create(null) as Record<ModuleCapName, number>;
  for (const name of MODULE_CAP_NAMES) out[name] = DEFAULT_MODULE_CAPS[name];
  for (const [name, value] of Object.entries(overrides)) {
    if (!(MODULE_CAP_NAMES as readonly string[]).includes(name)) throw new UsageError(`unknown module cap '${name}'`);
    if (value === undefined) continue;
    if (!Number.isSafeInteger(value) || value < 0) throw new UsageError(`module cap ${name} must be an integer >= 0`);
    out[name as ModuleCapName] = value;
  }
  return Object.freeze(out);
}

/** The caps a tool's module is held to: the defaults, its function cap, and data no larger than its memory cap. */
export function toolModuleCaps(limits: { readonly maxFunctions: number; readonly maxMemoryPages: number }, overrides: Partial<ModuleCaps> = {}): ModuleCaps {
  return moduleCaps({ ...overrides, functions: limits.maxFunctions, dataBytes: limits.maxMemoryPages * 65536 });
}
