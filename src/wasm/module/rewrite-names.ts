// Rebuilds the "name" section for the instrumented module: function names (1) and local names
// (2) re-keyed to output indices, the two added imports named, label names (3, keyed by
// function and by block position, which fuel checks shift) and unknown subsections dropped,
// the others (module, types, tables, memories, globals, elements, data, fields, tags — none
// keyed by function index) copied as they were.
import { ByteWriter } from "./byte-writer.js";
import type { Remap } from "./encode-sections.js";
import type { NameSection } from "./types.js";

function keptRaw(id: number): boolean {
  return id === 0 || (id >= 4 && id <= 11);
}

function writeNameMap(w: ByteWriter, entries: readonly (readonly [number, string])[]): void {
  w.u32(entries.length);
  for (const [index, name] of entries) w.u32(index).name(name);
}

/** Content (name included) of the rewritten custom section. */
export function rewriteNames(
  bytes: Uint8Array,
  names: NameSection,
  remap: Remap,
  added: readonly (readonly [number, string])[],
): Uint8Array {
  const w = new ByteWriter(1024).name("name");
  for (const sub of names.subsections) {
    if (sub.id === 1) {
      const entries: [number, string][] = [...names.functionNames].map(([i, n]) => [remap(i), n]);
      entries.push(...added.map(([i, n]): [number, string] => [i, n]));
      entries.sort((a, b) => a[0] - b[0]);
      const content = new ByteWriter();
      writeNameMap(content, entries);
      w.byte(1).sized(content);
    } else if (sub.id === 2) {
      const content = new ByteWriter().u32(names.localNames.size);
      const funcs = [...names.localNames].sort((a, b) => a[0] - b[0]);
      for (const [func, locals] of funcs) {
        content.u32(remap(func));
        writeNameMap(content, [...locals].sort((a, b) => a[0] - b[0]));
      }
      w.byte(2).sized(content);
    } else if (keptRaw(sub.id)) {
      w.range(bytes, sub.start, sub.content.end);
    }
  }
  return w.finish();
}
