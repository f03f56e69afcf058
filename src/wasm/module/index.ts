// A pure, binary-level WebAssembly toolkit: bytes in, bytes or data out, no I/O.
export { parseModule } from "./parse-module.js";
export { decodeInstructions, InstructionCursor } from "./decode-instructions.js";
export type { BlockType, Instruction } from "./decode-instructions.js";
export { capLimits } from "./rewrite-limits.js";
export type { LimitCaps } from "./rewrite-limits.js";
export { instrument } from "./instrument.js";
export type { InstrumentOptions, InstrumentResult } from "./instrument.js";
export { DEFAULT_MODULE_CAPS, MODULE_CAP_NAMES, moduleCaps, toolModuleCaps } from "./module-caps.js";
export type { ModuleCaps } from "./module-caps.js";
export { vetCaps, vetModule, vetShape } from "./vet-module.js";
export type { VetOptions } from "./vet-module.js";
export {
  FUEL_EXPORT,
  GROW_IMPORT,
  MEMORY_EXPORT,
  METER_MODULE,
  REFILL_IMPORT,
  RESERVED_EXPORT_PREFIX,
  START_EXPORT,
  mapWasmFunctionIndex,
  toOutputFunctionIndex,
} from "./meter-abi.js";
export type {
  ByteRange,
  CustomSection,
  DataSegment,
  ElementSegment,
  Export,
  ExternalKind,
  FuncType,
  FunctionBody,
  Global,
  GlobalType,
  Import,
  LocalGroup,
  MemoryType,
  ModuleCounts,
  NameSection,
  NameSubsection,
  ParsedModule,
  RefType,
  Section,
  TableType,
  Tag,
  ValType,
} from "./types.js";
