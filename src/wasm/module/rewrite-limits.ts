// capLimits: writes the engine's memory and table caps into the module's own limits, so the VM
// itself enforces them — `memory.grow` past the cap returns -1 and `WebAssembly.Memory#grow`
// throws, whoever asks. Only the module's defined memory and tables are rewritten; imported
// tables keep their limits (the host that provides them sets theirs). Shapes whose size the
// cap cannot bound this way are refused: memory64, shared memory, several memories, an
// imported memory.
import { ModuleRefused, UsageError } from "../../errors.js";
import { assembleModule } from "./assemble-module.js";
import { encodeMemories, encodeTables } from "./encode-sections.js";
import { SECTION } from "./parse-module.js";
import type { MemoryType, ParsedModule, TableType } from "./types.js";

export interface LimitCaps {
  /** Maximum memory size in 64 KiB pages (at most 65536). */
  readonly maxMemoryPages: number;
  readonly maxTableElements: number;
}

function checkCaps(caps: LimitCaps): void {
  const ok = (n: number, max: number): boolean => Number.isSafeInteger(n) && n >= 0 && n <= max;
  if (!ok(caps.maxMemoryPages, 65536)) throw new UsageError("maxMemoryPages must be an integer from 0 to 65536");
  if (!ok(caps.maxTableElements, 0xffffffff)) throw new UsageError("maxTableElements must be an integer from 0 to 2^32-1");
}

function cappedMemory(m: MemoryType, index: number, cap: number): MemoryType {
  if (m.memory64) throw new ModuleRefused("memory64", `memory ${index} is a 64-bit memory`);
  if (m.shared) throw new ModuleRefused("shared-memory", `memory ${index} is shared`);
  if (m.min > cap) {
    throw new ModuleRefused("memory-too-large", `memory ${index} needs at least ${m.min} pages; the cap is ${cap}`);
  }
  return { ...m, max: Math.min(m.max ?? cap, cap) };
}

function cappedTable(t: TableType, index: number, cap: number): TableType {
  if (t.min > cap) {
    throw new ModuleRefused("table-too-large", `table ${index} needs at least ${t.min} elements; the cap is ${cap}`);
  }
  return { ...t, max: Math.min(t.max ?? cap, cap) };
}

/** The capped memories and tables, or the refusal. Rewrites nothing. */
export function checkLimits(parsed: ParsedModule, caps: LimitCaps): { memories: MemoryType[]; tables: TableType[] } {
  checkCaps(caps);
  if (parsed.counts.memories > 1) {
    throw new ModuleRefused("multi-memory", `module has ${parsed.counts.memories} memories; cordon allows one`);
  }
  const imported = parsed.imports.find((i) => i.kind === "memory");
  if (imported !== undefined) {
    throw new ModuleRefused("imported-memory", `module imports its memory (${imported.module}.${imported.name})`);
  }
  const memories = parsed.memories.map((m, i) => cappedMemory(m, i, caps.maxMemoryPages));
  const base = parsed.counts.importedTables;
  const tables = parsed.tables.map((t, i) => cappedTable(t, base + i, caps.maxTableElements));
  return { memories, tables };
}

/**
 * Rewrites the defined memory's and tables' limits: max = min(declared max ?? infinity, cap).
 * `parsed` must be `parseModule(bytes)`. Throws ModuleRefused for a shape the cap cannot bound
 * or a minimum above the cap.
 */
export function capLimits(bytes: Uint8Array, parsed: ParsedModule, caps: LimitCaps): Uint8Array<ArrayBuffer> {
  const { memories, tables } = checkLimits(parsed, caps);
  const sections = new Map<number, Uint8Array>();
  if (memories.length > 0) sections.set(SECTION.memory, encodeMemories(memories));
  if (tables.length > 0) sections.set(SECTION.table, encodeTables(tables));
  return assembleModule(bytes, parsed, { sections });
}
