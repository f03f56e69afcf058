// The data `parseModule` returns: a plain, frozen description of a module's sections. Offsets
// are byte offsets into the bytes that were parsed; ranges are half-open ([start, end)).

export type ValType = "i32" | "i64" | "f32" | "f64" | "v128" | "funcref" | "externref";
export type RefType = "funcref" | "externref";
export type ExternalKind = "func" | "table" | "memory" | "global" | "tag";

export interface ByteRange {
  readonly start: number;
  readonly end: number;
}

export interface FuncType {
  readonly params: readonly ValType[];
  readonly results: readonly ValType[];
}

export interface TableType {
  readonly elemType: RefType;
  readonly min: number;
  readonly max: number | null;
}

export interface MemoryType {
  /** In 64 KiB pages. Values of a memory64 memory above 2^53 are approximate. */
  readonly min: number;
  readonly max: number | null;
  readonly shared: boolean;
  readonly memory64: boolean;
}

export interface GlobalType {
  readonly valType: ValType;
  readonly mutable: boolean;
}

interface ImportBase {
  readonly module: string;
  readonly name: string;
}

export type Import =
  | (ImportBase & { readonly kind: "func"; readonly typeIndex: number })
  | (ImportBase & { readonly kind: "table"; readonly table: TableType })
  | (ImportBase & { readonly kind: "memory"; readonly memory: MemoryType })
  | (ImportBase & { readonly kind: "global"; readonly global: GlobalType })
  | (ImportBase & { readonly kind: "tag"; readonly typeIndex: number });

export interface Global {
  readonly type: GlobalType;
  /** The constant initialiser expression, including its final `end`. */
  readonly init: ByteRange;
}

export interface Tag {
  readonly typeIndex: number;
}

export interface Export {
  readonly name: string;
  readonly kind: ExternalKind;
  readonly index: number;
}

/** One element segment; `flags` is the segment's encoding (0..7). */
export interface ElementSegment {
  readonly flags: number;
  readonly mode: "active" | "passive" | "declarative";
  /** Target table of an active segment (0 for the others). */
  readonly tableIndex: number;
  /** Offset expression of an active segment (including its `end`). */
  readonly offset: ByteRange | null;
  readonly elemType: RefType;
  /** Function indices, for encodings 0..3. */
  readonly funcIndices: readonly number[] | null;
  /** Initialiser expressions, for encodings 4..7 (each including its `end`). */
  readonly exprs: readonly ByteRange[] | null;
}

/** One data segment; `flags` is its encoding (0..2). */
export interface DataSegment {
  readonly flags: number;
  readonly mode: "active" | "passive";
  readonly memoryIndex: number;
  readonly offset: ByteRange | null;
  readonly data: ByteRange;
}

export interface LocalGroup {
  readonly count: number;
  readonly type: ValType;
}

/** One entry of the code section. */
export interface FunctionBody {
  /** Offset of the entry's size field. */
  readonly start: number;
  /** Offset of the first local declaration (just after the size field). */
  readonly bodyStart: number;
  /** Offset of the first instruction (just after the local declarations). */
  readonly codeStart: number;
  /** One past the body's final `end`. */
  readonly end: number;
  readonly locals: readonly LocalGroup[];
}

export interface Section {
  /** 0 for custom sections, 1..13 otherwise. */
  readonly id: number;
  /** Offset of the id byte. */
  readonly start: number;
  /** Offset just after the size field. */
  readonly contentStart: number;
  /** One past the section's last byte. */
  readonly end: number;
}

export interface CustomSection {
  readonly name: string;
  /** Offset of the section's id byte. */
  readonly offset: number;
  /** Total byte length of the section, header included. */
  readonly size: number;
  /** The bytes after the name. */
  readonly payload: ByteRange;
  /** Index of this section in `ParsedModule.sections`. */
  readonly sectionIndex: number;
}

/** A raw name subsection; `content` excludes its id and size header. */
export interface NameSubsection {
  readonly id: number;
  readonly start: number;
  readonly content: ByteRange;
}

export interface NameSection {
  readonly sectionIndex: number;
  readonly moduleName: string | null;
  /** Subsection 1, keyed by function index. */
  readonly functionNames: ReadonlyMap<number, string>;
  /** Subsection 2: function index -> local index -> name. */
  readonly localNames: ReadonlyMap<number, ReadonlyMap<number, string>>;
  /** Every subsection, in order, as raw ranges. */
  readonly subsections: readonly NameSubsection[];
}

/** Sizes of each index space. Totals include the imported entries, which come first. */
export interface ModuleCounts {
  readonly importedFunctions: number;
  readonly importedTables: number;
  readonly importedMemories: number;
  readonly importedGlobals: number;
  readonly importedTags: number;
  readonly functions: number;
  readonly tables: number;
  readonly memories: number;
  readonly globals: number;
  readonly tags: number;
  readonly types: number;
  readonly elements: number;
  readonly data: number;
}

export interface ParsedModule {
  readonly types: readonly FuncType[];
  readonly imports: readonly Import[];
  /** Type index of each defined function (function section). */
  readonly functions: readonly number[];
  /** Defined tables only (imported ones are in `imports`). */
  readonly tables: readonly TableType[];
  /** Defined memories only (imported ones are in `imports`). */
  readonly memories: readonly MemoryType[];
  readonly tags: readonly Tag[];
  readonly globals: readonly Global[];
  readonly exports: readonly Export[];
  readonly start: number | null;
  readonly elements: readonly ElementSegment[];
  readonly dataCount: number | null;
  readonly code: readonly FunctionBody[];
  readonly data: readonly DataSegment[];
  readonly customSections: readonly CustomSection[];
  /**
   * The first "name" section, or null when there is none or it does not decode (engines ignore
   * a malformed name section, and so do we).
   */
  readonly names: NameSection | null;
  /** `names.functionNames`, or an empty map. Keyed by function index (imports first). */
  readonly functionNames: ReadonlyMap<number, string>;
  readonly counts: ModuleCounts;
  readonly sections: readonly Section[];
}
