// Rebuilds a module from its original sections and a set of edits: replaced, added or dropped
// non-custom sections (added ones go to their one legal position), replaced or dropped custom
// sections. Everything not edited is copied byte for byte, in its original place.
import { ByteWriter } from "./byte-writer.js";
import { sectionRank } from "./parse-module.js";
import type { ParsedModule } from "./types.js";

export interface SectionEdits {
  /** New content (after the size field) for a non-custom section id, added when absent; null drops it. */
  readonly sections?: ReadonlyMap<number, Uint8Array | null>;
  /** For a custom section (by index in `parsed.sections`): new content, name included, or null to drop it. */
  readonly custom?: ReadonlyMap<number, Uint8Array | null>;
}

export function assembleModule(bytes: Uint8Array, parsed: ParsedModule, edits: SectionEdits): Uint8Array<ArrayBuffer> {
  const replaced = edits.sections ?? new Map<number, Uint8Array | null>();
  const custom = edits.custom ?? new Map<number, Uint8Array | null>();
  const present = new Set(parsed.sections.map((s) => s.id));
  const pending = [...replaced.keys()]
    .filter((id) => !present.has(id) && replaced.get(id) !== null)
    .sort((a, b) => sectionRank(a) - sectionRank(b));
  const w = new ByteWriter(bytes.length + 1024);
  w.range(bytes, 0, 8);
  const flushBefore = (rank: number): void => {
    while (pending.length > 0 && sectionRank(pending[0] as number) < rank) {
      const id = pending.shift() as number;
      w.byte(id).sized(replaced.get(id) as Uint8Array);
    }
  };
  parsed.sections.forEach((s, index) => {
    if (s.id === 0) {
      const edit = custom.get(index);
      if (edit === undefined) w.range(bytes, s.start, s.end);
      else if (edit !== null) w.byte(0).sized(edit);
      return;
    }
    flushBefore(sectionRank(s.id));
    const content = replaced.get(s.id);
    if (content === undefined) w.range(bytes, s.start, s.end);
    else if (content !== null) w.byte(s.id).sized(content);
  });
  flushBefore(Number.POSITIVE_INFINITY);
  return w.finish().slice();
}
