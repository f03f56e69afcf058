// parseModule: the section-level view of a WebAssembly binary (1.0 plus the post-MVP encodings
// cordon supports). It checks the structure — header, section ids, order, sizes, LEB128s, every
// entry of every known section — but not types: `WebAssembly.validate` does that. Function
// bodies are left as byte ranges; `decodeInstructions` walks them (and vetModule checks their
// nesting depth).
//
// Every count is held to `caps` where it is read, before anything is allocated for it: a count
// past its cap throws ModuleCapExceeded (a ModuleRefused naming the cap, its limit, the declared
// count and its offset). So the parse's memory is bounded by the caps and the input's size.
//
// Malformed input throws ModuleMalformed(reason, offset); encodings of proposals cordon will not
// load (GC types, table64, custom page sizes) throw ModuleRefused("unsupported-feature").
import { ModuleMalformed } from "../../errors.js";
import { ByteReader } from "./byte-reader.js";
import { CapCheck } from "./cap-check.js";
import { DEFAULT_MODULE_CAPS, type ModuleCaps } from "./module-caps.js";
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

type Imported = Readonly<Record<Import["kind"], number>>;

const IMPORT_CAPS = Object.freeze({ func: "functions", table: "tables", memory: "memories", global: "globals", tag: "tags" } as const);

function importedCounts(imports: readonly Import[]): Imported {
  const n = { func: 0, table: 0, memory: 0, global: 0, tag: 0 };
  for (const i of imports) n[i.kind]++;
  return n;
}

function readImports(r: ByteReader, c: CapCheck, m: Builder): void {
  const at = r.pos;
  m.imports = vec(r, c, "imports", (x) => readImport(x, c));
  // Imports open the index spaces: each kind's count is held to that space's cap.
  const n = importedCounts(m.imports);
  for (const kind of Object.keys(IMPORT_CAPS) as Import["kind"][]) c.limit(IMPORT_CAPS[kind], n[kind], at);
}

function readSection(r: ByteReader, id: number, m: Builder, c: CapCheck): void {
  const imported = importedCounts(m.imports);
  switch (id) {
    case SECTION.type:
      m.types = vec(r, c, "types", (x) => readFuncType(x, c));
      break;
    case SECTION.import:
      readImports(r, c, m);
      break;
    case SECTION.function:
      m.functions = vec(r, c, "functions", (x) => x.u32(), imported.func);
      break;
    case SECTION.table:
      m.tables = vec(r, c, "tables", readTableType, imported.table);
      break;
    case SECTION.memory:
      m.memories = vec(r, c, "memories", readMemoryType, imported.memory);
      break;
    case SECTION.tag:
      m.tags = vec(r, c, "tags", readTag, imported.tag);
      break;
    case SECTION.global:
      m.globals = vec(r, c, "globals", readGlobal, imported.global);
      break;
    case SECTION.export:
      m.exports = vec(r, c, "exports", (x) => readExport(x, c));
      break;
    case SECTION.start:
      m.start = r.u32();
      break;
    case SECTION.element:
      m.elements = vec(r, c, "elementSegments", (x) => readElement(x, c));
      break;
    case SECTION.dataCount: {
      const at = r.pos;
      m.dataCount = r.u32();
      c.limit("dataSegments", m.dataCount, at);
      break;
    }
    case SECTION.code:
      // Held to the function cap on its own too: a code section needs no function section to announce a million bodies.
      m.code = vec(r, c, "functions", (x) => readFunctionBody(x, c), imported.func);
      break;
    case SECTION.data:
      m.data = vec(r, c, "dataSegments", (x) => readData(x, c));
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

/** Parses `bytes`, holding every count to `caps` (the defaults when omitted). */
export function parseModule(bytes: Uint8Array, caps: ModuleCaps = DEFAULT_MODULE_CAPS): ParsedModule {
  checkHeader(bytes);
  const c = new CapCheck(caps);
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
      c.add("customSections", 1, start);
      const name = c.name(r);
      const payload = { start: r.pos, end };
      const sectionIndex = sections.length;
      customSections.push({ name, offset: start, size: end - start, payload, sectionIndex });
      if (name === "name" && !nameSeen) {
        nameSeen = true;
        names = parseNameSection(bytes, payload, sectionIndex, c);
      }
    } else {
      const rank = sectionRank(id);
      if (rank < 0) top.fail(`unknown section id ${id}`, start);
      if (rank <= lastRank) top.fail(`section ${id} is out of order or repeated`, start);
      lastRank = rank;
      readSection(r, id, m, c);
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
  const n = importedCounts(m.imports);
  const imported = {
    importedFunctions: n.func,
    importedTables: n.table,
    importedMemories: n.memory,
    importedGlobals: n.global,
    importedTags: n.tag,
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
