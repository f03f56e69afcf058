// Adds fuel metering and the memory.grow hook to a (validated, limit-capped) module: two
// imports appended after the module's own, a fuel global appended to the global section, the
// reserved exports, every function index remapped wherever it appears (code, element segments,
// global initialisers, exports, names), every body rewritten. The start section is removed and
// its function exported as __cordon_start instead, for the host to call once it has bound fuel
// and memory. See meter-abi.ts for the host's side of the contract, rewrite-body.ts for the
// body rewrite, fuel-checks.ts for the injected code and fuel-cost.ts for the fuel rule.
import { ModuleMalformed } from "../../errors.js";
import { assembleModule } from "./assemble-module.js";
import { ByteWriter } from "./byte-writer.js";
import { appendToVec, encodeElements, encodeExports, encodeGlobals } from "./encode-sections.js";
import type { Remap } from "./encode-sections.js";
import {
  FUEL_EXPORT,
  GROW_IMPORT,
  MEMORY_EXPORT,
  METER_MODULE,
  REFILL_IMPORT,
  START_EXPORT,
  toOutputFunctionIndex,
} from "./meter-abi.js";
import { SECTION } from "./parse-module.js";
import { rewriteBody } from "./rewrite-body.js";
import type { MeterIndices } from "./rewrite-body.js";
import { rewriteNames } from "./rewrite-names.js";
import type { Export, ParsedModule } from "./types.js";

function sectionOf(parsed: ParsedModule, id: number): ParsedModule["sections"][number] | undefined {
  return parsed.sections.find((s) => s.id === id);
}

function addedTypes(): Uint8Array {
  return new ByteWriter()
    .bytes(Uint8Array.of(0x60, 0x00, 0x00)) // refill: [] -> []
    .bytes(Uint8Array.of(0x60, 0x01, 0x7f, 0x01, 0x7f)) // grow: [i32] -> [i32]
    .finish();
}

function addedImports(refillType: number, growType: number): Uint8Array {
  const w = new ByteWriter();
  w.name(METER_MODULE).name(REFILL_IMPORT).byte(0x00).u32(refillType);
  w.name(METER_MODULE).name(GROW_IMPORT).byte(0x00).u32(growType);
  return w.finish();
}

function encodeCode(bytes: Uint8Array, parsed: ParsedModule, meter: MeterIndices): Uint8Array {
  const section = sectionOf(parsed, SECTION.code);
  const size = section === undefined ? 0 : section.end - section.contentStart;
  const w = new ByteWriter(size + size / 4 + 64).u32(parsed.code.length);
  parsed.code.forEach((body, i) => {
    const type = parsed.types[parsed.functions[i] as number];
    if (type === undefined) throw new ModuleMalformed(`function ${i} has no type`, body.start);
    rewriteBody(w, bytes, body, type, meter);
  });
  return w.finish();
}

export interface MeteringOptions {
  /** Keep fuel in a local inside call-free loops (the default); false only to test that it changes nothing. */
  readonly cacheFuel?: boolean;
}

/** `parsed` must be `parseModule(bytes)` of a module that passed validation and `capLimits`. */
export function injectMetering(bytes: Uint8Array, parsed: ParsedModule, opts: MeteringOptions = {}): Uint8Array<ArrayBuffer> {
  const imported = parsed.counts.importedFunctions;
  const remap: Remap = (i) => toOutputFunctionIndex(i, imported);
  const meter: MeterIndices = {
    fuelGlobal: parsed.counts.globals,
    refillFunc: imported,
    growFunc: imported + 1,
    remap,
    types: parsed.types,
    cacheFuel: opts.cacheFuel ?? true,
  };
  const refillType = parsed.types.length;
  const sections = new Map<number, Uint8Array | null>();
  sections.set(SECTION.type, appendToVec(bytes, sectionOf(parsed, SECTION.type), 2, addedTypes()));
  sections.set(
    SECTION.import,
    appendToVec(bytes, sectionOf(parsed, SECTION.import), 2, addedImports(refillType, refillType + 1)),
  );
  const fuelGlobal = Uint8Array.of(0x7e, 0x01, 0x42, 0x00, 0x0b); // (mut i64) (i64.const 0)
  sections.set(SECTION.global, encodeGlobals(bytes, parsed.globals, remap, 1, fuelGlobal));
  const added: Export[] = [{ name: FUEL_EXPORT, kind: "global", index: meter.fuelGlobal }];
  if (parsed.memories.length > 0) added.push({ name: MEMORY_EXPORT, kind: "memory", index: 0 });
  if (parsed.start !== null) {
    added.push({ name: START_EXPORT, kind: "func", index: remap(parsed.start) });
    sections.set(SECTION.start, null);
  }
  const exports = parsed.exports.map((e): Export => (e.kind === "func" ? { ...e, index: remap(e.index) } : e));
  sections.set(SECTION.export, encodeExports([...exports, ...added]));
  if (parsed.elements.length > 0) sections.set(SECTION.element, encodeElements(bytes, parsed.elements, remap));
  if (parsed.code.length > 0) sections.set(SECTION.code, encodeCode(bytes, parsed, meter));

  const custom = new Map<number, Uint8Array | null>();
  for (const c of parsed.customSections) {
    if (c.name === "name") custom.set(c.sectionIndex, null);
  }
  if (parsed.names !== null) {
    const names: [number, string][] = [
      [meter.refillFunc, `${METER_MODULE}.${REFILL_IMPORT}`],
      [meter.growFunc, `${METER_MODULE}.${GROW_IMPORT}`],
    ];
    custom.set(parsed.names.sectionIndex, rewriteNames(bytes, parsed.names, remap, names));
  }
  return assembleModule(bytes, parsed, { sections, custom });
}
