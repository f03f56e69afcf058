// parseModule: the section-level view of a WebAssembly binary (1.0 plus the post-MVP encodings
// cordon supports). It checks the structure — header, section ids, order, sizes, LEB128s, every
// entry of every known section — but not types: `WebAssembly.validate` does that. Function
// bodies are left as byte ranges; `decodeInstructions` walks them.
//
// Malformed input throws ModuleMalformed(reason, offset); encodings of proposals cordon will not
// load (GC types, table64, custom page sizes) throw ModuleRefused("unsupported-feature").
import { ModuleMalformed } from "../../errors.js";
import { ByteReader } from "./byte-reader.js";
import { parseNameSection } from "./parse-names.js";
import {
  readData,
  readElement,
  readExport,
  readFuncType,
  readFunctionBody,
  readGlobal,
  readImport,
  readMemoryType,
  readTableType,
  readTag,
  vec,
} from "./parse-sections.js";
import type {
  CustomSection,
  DataSegment,
  ElementSegment,
  Export,
  FuncType,
  FunctionBody,
  Global,
  Import,
  MemoryType,
  NameSection,
  ParsedModule,
  Section,
  TableType,
  Tag,
} from "./types.js";

export const SECTION = Object.freeze({
  custom: 0,
  type: 1,
  import: 2,
  function: 3,
  table: 4,
  memory: 5,
  global: 6,
  export: 7,
  start: 8,
  element: 9,
  code: 10,
  data: 11,
  dataCount: 12,
  tag: 13,
});

/** Position of a non-custom section id in the required order, or -1 for an unknown id. */
export function sectionRank(id: number): number {
  // type import function table memory tag global export start element datacount code data
  return [1, 2, 3, 4, 5, 13, 6, 7, 8, 9, 12, 10, 11].indexOf(id);
}

interface Builder {
  types: FuncType[];
  imports: Import[];
  functions: number[];
  tables: TableType[];
  memories: MemoryType[];
  tags: Tag[];
  globals: Global[];
  exports: Export[];
  start: number | null;
  elements: ElementSegment[];
  dataCount: number | null;
  code: FunctionBody[];
  data: DataSegment[];
}

function readSection(r: ByteReader, id: number, m: Builder): void {
  switch (id) {
    case SECTION.type:
      m.types = vec(r, readFuncType);
      break;
    case SECTION.import:
      m.imports = vec(r, readImport);
      break;
    case SECTION.function:
      m.functions = vec(r, (x) => x.u32());
      break;
    case SECTION.table:
      m.tables = vec(r, readTableType);
      break;
    case SECTION.memory:
      m.memories = vec(r, readMemoryType);
      break;
    case SECTION.tag:
      m.tags = vec(r, readTag);
      break;
    case SECTION.global:
      m.globals = vec(r, readGlobal);
      break;
    case SECTION.export:
      m.exports = vec(r, readExport);
      break;
    case SECTION.start:
      m.start = r.u32();
      break;
    case SECTION.element:
      m.elements = vec(r, readElement);
      break;
    case SECTION.dataCount:
      m.dataCount = r.u32();
      break;
    case SECTION.code:
      m.code = vec(r, readFunctionBody);
      break;
    case SECTION.data:
      m.data = vec(r, readData);
      break;
    default:
      r.fail(`unknown section id ${id}`, r.pos);
  }
}

function deepFreeze<T>(value: T): T {
  if (typeof value !== "object" || value === null || value instanceof Map || Object.isFrozen(value)) return value;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const v: unknown = value[i];
      if (typeof v === "object") deepFreeze(v);
    }
  } else {
    for (const key in value) deepFreeze(value[key]);
  }
  return Object.freeze(value);
}

function checkHeader(bytes: Uint8Array): void {
  if (bytes.length < 4 || bytes[0] !== 0x00 || bytes[1] !== 0x61 || bytes[2] !== 0x73 || bytes[3] !== 0x6d) {
    throw new ModuleMalformed("magic header not detected", 0);
  }
  if (bytes.length < 8) throw new ModuleMalformed("unexpected end", bytes.length);
  if (bytes[4] !== 0x01 || bytes[5] !== 0x00 || bytes[6] !== 0x00 || bytes[7] !== 0x00) {
    throw new ModuleMalformed("unknown binary version (only core modules, version 1, are supported)", 4);
  }
}

export function parseModule(bytes: Uint8Array): ParsedModule {
  checkHeader(bytes);
  const m: Builder = {
    types: [],
    imports: [],
    functions: [],
    tables: [],
    memories: [],
    tags: [],
    globals: [],
    exports: [],
    start: null,
    elements: [],
    dataCount: null,
    code: [],
    data: [],
  };
  const sections: Section[] = [];
  const customSections: CustomSection[] = [];
  let names: NameSection | null = null;
  let lastRank = -1;
  let nameSeen = false;
  const top = new ByteReader(bytes, 8, bytes.length);
  while (!top.atEnd) {
    const start = top.pos;
    const id = top.u8();
    const sizeAt = top.pos;
    const size = top.u32();
    const contentStart = top.pos;
    if (size > bytes.length - contentStart) top.fail("section size out of bounds", sizeAt);
    const end = contentStart + size;
    top.pos = end;
    const r = new ByteReader(bytes, contentStart, end);
    if (id === SECTION.custom) {
      const name = r.name();
      const payload = { start: r.pos, end };
      const sectionIndex = sections.length;
      customSections.push({ name, offset: start, size: end - start, payload, sectionIndex });
      if (name === "name" && !nameSeen) {
        nameSeen = true;
        names = parseNameSection(bytes, payload, sectionIndex);
      }
    } else {
      const rank = sectionRank(id);
      if (rank < 0) top.fail(`unknown section id ${id}`, start);
      if (rank <= lastRank) top.fail(`section ${id} is out of order or repeated`, start);
      lastRank = rank;
      readSection(r, id, m);
      if (r.pos !== end) r.fail("section size mismatch", r.pos);
    }
    sections.push({ id, start, contentStart, end });
  }
  if (m.functions.length !== m.code.length) {
    throw new ModuleMalformed("function and code section have inconsistent lengths", bytes.length);
  }
  if (m.dataCount !== null && m.dataCount !== m.data.length) {
    throw new ModuleMalformed("data count and data section have inconsistent lengths", bytes.length);
  }
  const importedOf = (kind: Import["kind"]): number => m.imports.filter((i) => i.kind === kind).length;
  const imported = {
    importedFunctions: importedOf("func"),
    importedTables: importedOf("table"),
    importedMemories: importedOf("memory"),
    importedGlobals: importedOf("global"),
    importedTags: importedOf("tag"),
  };
  const counts = {
    ...imported,
    functions: imported.importedFunctions + m.functions.length,
    tables: imported.importedTables + m.tables.length,
    memories: imported.importedMemories + m.memories.length,
    globals: imported.importedGlobals + m.globals.length,
    tags: imported.importedTags + m.tags.length,
    types: m.types.length,
    elements: m.elements.length,
    data: m.data.length,
  };
  const parsed: ParsedModule = {
    ...m,
    customSections,
    names,
    functionNames: names?.functionNames ?? new Map<number, string>(),
    counts,
    sections,
  };
  return deepFreeze(parsed);
}
