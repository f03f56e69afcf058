// The custom "name" section: module name (0), function names (1) and local names (2) are
// decoded; every subsection is also kept as a raw range. A name section that does not decode
// is ignored (null), as engines ignore it: names are debugging aids, never load-bearing. Its
// size is not: every subsection, map entry and name counts against the caps (`nameEntries`,
// `nameBytes`) before it is kept, and a name section over them refuses the module.
import { ModuleMalformed } from "../../errors.js";
import { ByteReader } from "./byte-reader.js";
import type { CapCheck } from "./cap-check.js";
import type { ByteRange, NameSection, NameSubsection } from "./types.js";

function readNameMap(r: ByteReader, c: CapCheck): Map<number, string> {
  const map = new Map<number, string>();
  const n = c.countTotal(r, "nameEntries");
  for (let i = 0; i < n; i++) {
    const index = r.u32();
    map.set(index, c.name(r));
  }
  return map;
}

function decode(bytes: Uint8Array, payload: ByteRange, sectionIndex: number, c: CapCheck): NameSection {
  const r = new ByteReader(bytes, payload.start, payload.end);
  let moduleName: string | null = null;
  let functionNames = new Map<number, string>();
  const localNames = new Map<number, ReadonlyMap<number, string>>();
  const subsections: NameSubsection[] = [];
  while (!r.atEnd) {
    const start = r.pos;
    c.add("nameEntries", 1, start);
    const id = r.u8();
    const size = r.u32();
    const content = r.skip(size);
    subsections.push({ id, start, content });
    const sub = new ByteReader(bytes, content.start, content.end);
    if (id === 0) {
      moduleName = c.name(sub);
    } else if (id === 1) {
      functionNames = readNameMap(sub, c);
    } else if (id === 2) {
      const n = c.countTotal(sub, "nameEntries");
      for (let i = 0; i < n; i++) {
        const func = sub.u32();
        localNames.set(func, readNameMap(sub, c));
      }
    } else {
      continue;
    }
    if (!sub.atEnd) sub.fail("name subsection size mismatch");
  }
  return { sectionIndex, moduleName, functionNames, localNames, subsections };
}

/** Null when the section does not decode; throws ModuleCapExceeded when it is over a cap. */
export function parseNameSection(bytes: Uint8Array, payload: ByteRange, sectionIndex: number, c: CapCheck): NameSection | null {
  try {
    return decode(bytes, payload, sectionIndex, c);
  } catch (err) {
    if (err instanceof ModuleMalformed) return null;
    throw err;
  }
}
