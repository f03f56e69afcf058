// Hostile module shapes, one per ModuleCaps entry, for the probes and tests: `capModule(cap, n)`
// declares `n` of what `cap` counts and as little else as it can, and is otherwise a valid
// module (every cap but `memories`, which this V8 only validates up to one). Pure and compact:
// the largest, `dataBytes` and `bodyBytes`, are about `n` bytes; the others a few bytes per entry.
import type { ModuleCapName } from "../../errors.js";
import { ByteWriter } from "./byte-writer.js";
import { SECTION } from "./parse-module.js";
import { DEFAULT_MODULE_CAPS, type ModuleCaps } from "./module-caps.js";

const HEADER = Uint8Array.of(0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00);
const I32 = 0x7f;
const FUNCREF_ELEMKIND = 0x00;
const END = 0x0b;

export interface CapModuleOptions {
  /** The caps whose per-item limits spread a module-wide total (default: DEFAULT_MODULE_CAPS). */
  readonly caps?: ModuleCaps;
  /**
   * `dataBytes` and `bodyBytes` only: write the over-long length but not the bytes it announces
   * (a truncated module, refused at the length when it is over its cap).
   */
  readonly compact?: boolean;
}

type Sections = Map<number, ByteWriter>;

function vecOf(n: number, item: (w: ByteWriter, i: number) => void): ByteWriter {
  const w = new ByteWriter(n + 16).u32(n);
  for (let i = 0; i < n; i++) item(w, i);
  return w;
}

/** Splits `n` into parts of at most `per` (none for 0). */
function spread(n: number, per: number): number[] {
  const parts: number[] = [];
  for (let left = n; left > 0; left -= per) parts.push(Math.min(left, Math.max(1, per)));
  return parts;
}

const emptyType = (): ByteWriter => vecOf(1, (w) => w.byte(0x60).u32(0).u32(0));

/** `n` functions of type 0; `body(i)` is the i-th code entry's content (locals and code). */
function withFunctions(s: Sections, n: number, body: (i: number) => Uint8Array): void {
  if (!s.has(SECTION.type)) s.set(SECTION.type, emptyType());
  s.set(SECTION.function, vecOf(n, (w) => w.u32(0)));
  s.set(SECTION.code, vecOf(n, (w, i) => w.sized(body(i))));
}

/** No locals, just `end`. */
const EMPTY_BODY = Uint8Array.of(0x00, END);
const emptyBody = (): Uint8Array => EMPTY_BODY;

function build(cap: ModuleCapName, n: number, caps: ModuleCaps, compact: boolean): { sections: Sections; custom: ByteWriter[] } {
  const s: Sections = new Map();
  const custom: ByteWriter[] = [];
  switch (cap) {
    case "types":
      s.set(SECTION.type, vecOf(n, (w) => w.byte(0x60).u32(0).u32(0)));
      break;
    case "typeParams":
      s.set(SECTION.type, vecOf(1, (w) => w.byte(0x60).bytes(vecOf(n, (x) => x.byte(I32)).finish()).u32(0)));
      break;
    case "typeResults":
      s.set(SECTION.type, vecOf(1, (w) => w.byte(0x60).u32(0).bytes(vecOf(n, (x) => x.byte(I32)).finish())));
      break;
    case "typeValues": {
      const parts = spread(n, caps.typeParams);
      s.set(SECTION.type, vecOf(parts.length, (w, i) => w.byte(0x60).bytes(vecOf(parts[i] as number, (x) => x.byte(I32)).finish()).u32(0)));
      break;
    }
    case "imports":
      s.set(SECTION.type, emptyType());
      s.set(SECTION.import, vecOf(n, (w) => w.name("").name("").byte(0x00).u32(0)));
      break;
    case "functions":
      withFunctions(s, n, emptyBody);
      break;
    case "tables":
      s.set(SECTION.table, vecOf(n, (w) => w.byte(0x70).byte(0x00).u32(0)));
      break;
    case "memories":
      s.set(SECTION.memory, vecOf(n, (w) => w.byte(0x00).u32(0)));
      break;
    case "globals":
      s.set(SECTION.global, vecOf(n, (w) => w.byte(I32).byte(0x00).byte(0x41).byte(0x00).byte(END)));
      break;
    case "tags":
      s.set(SECTION.type, emptyType());
      s.set(SECTION.tag, vecOf(n, (w) => w.byte(0x00).u32(0)));
      break;
    case "exports":
      withFunctions(s, 1, emptyBody);
      s.set(SECTION.export, vecOf(n, (w, i) => w.name(i.toString(36)).byte(0x00).u32(0)));
      break;
    case "elementSegments":
      s.set(SECTION.element, vecOf(n, (w) => w.u32(1).byte(FUNCREF_ELEMKIND).u32(0)));
      break;
    case "segmentElements":
    case "elements": {
      const parts = cap === "elements" ? spread(n, caps.segmentElements) : [n];
      withFunctions(s, 1, emptyBody);
      s.set(SECTION.element, vecOf(parts.length, (w, i) => w.u32(1).byte(FUNCREF_ELEMKIND).bytes(vecOf(parts[i] as number, (x) => x.u32(0)).finish())));
      break;
    }
    case "dataSegments":
      s.set(SECTION.data, vecOf(n, (w) => w.u32(1).u32(0)));
      break;
    case "dataBytes":
      s.set(SECTION.data, vecOf(1, (w) => {
        w.u32(1).u32(n);
        if (!compact) w.bytes(new Uint8Array(n));
      }));
      break;
    case "functionLocals":
      withFunctions(s, 1, () => (n === 0 ? EMPTY_BODY : new ByteWriter(8).u32(1).u32(n).byte(I32).byte(END).finish()));
      break;
    case "localGroups": {
      const parts = spread(n, caps.functionLocals);
      if (parts.length === 0) withFunctions(s, 1, emptyBody);
      else withFunctions(s, parts.length, (i) => vecOf(parts[i] as number, (w) => w.u32(1).byte(I32)).byte(END).finish());
      break;
    }
    case "bodyBytes": {
      // The entry is `n` bytes: no locals, n - 2 nops, end.
      const size = Math.max(2, n);
      const entry = new ByteWriter(compact ? 16 : size + 8).u32(size);
      if (!compact) entry.u32(0).bytes(new Uint8Array(size - 2).fill(0x01)).byte(END);
      s.set(SECTION.type, emptyType());
      s.set(SECTION.function, vecOf(1, (w) => w.u32(0)));
      s.set(SECTION.code, new ByteWriter(entry.length + 8).u32(1).bytes(entry.finish()));
      break;
    }
    case "nestingDepth": {
      const body = new ByteWriter(3 * n + 8).u32(0);
      for (let i = 0; i < n; i++) body.byte(0x02).byte(0x40);
      for (let i = 0; i < n; i++) body.byte(END);
      withFunctions(s, 1, () => body.byte(END).finish());
      break;
    }
    case "nameBytes":
      withFunctions(s, 1, emptyBody);
      s.set(SECTION.export, vecOf(1, (w) => w.name("a".repeat(n)).byte(0x00).u32(0)));
      break;
    case "totalNameBytes": {
      // Export names of `nameBytes` each (the last one shorter), unique by their prefix.
      const parts = spread(n, caps.nameBytes);
      withFunctions(s, 1, emptyBody);
      s.set(SECTION.export, vecOf(parts.length, (w, i) => {
        const prefix = `${i.toString(36)}.`;
        const len = parts[i] as number;
        w.name(len >= prefix.length ? prefix + "a".repeat(len - prefix.length) : "a".repeat(len)).byte(0x00).u32(0);
      }));
      break;
    }
    case "nameEntries": {
      withFunctions(s, 1, emptyBody);
      if (n === 0) break;
      // One subsection (function names) holding n - 1 entries: n entries in all.
      const map = vecOf(n - 1, (w, i) => w.u32(i).name("f"));
      custom.push(new ByteWriter(map.length + 16).name("name").byte(1).sized(map));
      break;
    }
    case "customSections":
      for (let i = 0; i < n; i++) custom.push(new ByteWriter(1).name(""));
      break;
  }
  return { sections: s, custom };
}

/** Non-custom sections in their required order. */
const ORDER = [SECTION.type, SECTION.import, SECTION.function, SECTION.table, SECTION.memory, SECTION.tag, SECTION.global, SECTION.export, SECTION.element, SECTION.code, SECTION.data];

/** A module declaring `n` of what `cap` counts (for `bodyBytes`, at least 2). */
export function capModule(cap: ModuleCapName, n: number, opts: CapModuleOptions = {}): Uint8Array<ArrayBuffer> {
  const { sections, custom } = build(cap, n, opts.caps ?? DEFAULT_MODULE_CAPS, opts.compact === true);
  const w = new ByteWriter(1024).bytes(HEADER);
  for (const id of ORDER) {
    const content = sections.get(id);
    if (content !== undefined) w.byte(id).sized(content);
  }
  for (const c of custom) w.byte(SECTION.custom).sized(c);
  return w.finish().slice();
}
