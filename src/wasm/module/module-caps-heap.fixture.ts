// Test fixture, run as its own process under the cell's heap cap (--max-old-space-size=64): a
// module holding as much of every count-based cap at once as the caps allow (types and their
// values, imports, functions and their local groups, globals, exports, element segments and
// entries, data segments, names, custom sections), instrumented the way a cell does it. It
// must finish: the caps bound what the parser (twice, in instrument) and the rewriter keep.
import { ByteWriter } from "./byte-writer.js";
import { instrument } from "./instrument.js";
import { DEFAULT_MODULE_CAPS as CAPS } from "./module-caps.js";

const w = new ByteWriter(4 << 20).bytes(Uint8Array.of(0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00));
const section = (id: number, content: ByteWriter): void => void w.byte(id).sized(content);
const vecOf = (n: number, item: (x: ByteWriter, i: number) => void): ByteWriter => {
  const x = new ByteWriter(n * 4 + 16).u32(n);
  for (let i = 0; i < n; i++) item(x, i);
  return x;
};

const withParams = Math.floor(CAPS.typeValues / CAPS.typeParams);
section(1, vecOf(CAPS.types, (x, i) => {
  const params = i < withParams ? CAPS.typeParams : 0;
  x.byte(0x60).u32(params);
  for (let j = 0; j < params; j++) x.byte(0x7f);
  x.u32(0);
}));
const imported = CAPS.imports;
const defined = CAPS.functions - imported;
const emptyType = CAPS.types - 1;
section(2, vecOf(imported, (x) => x.name("").name("").byte(0x00).u32(emptyType)));
section(3, vecOf(defined, (x) => x.u32(emptyType)));
section(6, vecOf(CAPS.globals, (x) => x.byte(0x7f).byte(0x00).byte(0x41).byte(0x00).byte(0x0b)));
section(7, vecOf(CAPS.exports, (x, i) => x.name(i.toString(36)).byte(0x03).u32(0)));
const perSegment = Math.floor(CAPS.elements / CAPS.elementSegments);
section(9, vecOf(CAPS.elementSegments, (x) => {
  x.u32(5).byte(0x70).u32(perSegment); // passive, funcref expressions
  for (let j = 0; j < perSegment; j++) x.byte(0xd0).byte(0x70).byte(0x0b);
}));
const groupsPer = Math.floor(CAPS.localGroups / defined);
let groupsLeft = CAPS.localGroups;
section(10, vecOf(defined, (x) => {
  const groups = Math.min(groupsLeft, groupsPer + 1);
  groupsLeft -= groups;
  const body = new ByteWriter(2 * groups + 4).u32(groups);
  for (let j = 0; j < groups; j++) body.u32(1).byte(0x7f);
  x.sized(body.byte(0x0b));
}));
section(11, vecOf(CAPS.dataSegments, (x) => x.u32(1).u32(0)));
const names = vecOf(CAPS.nameEntries - 1, (x, i) => x.u32(i).name("f"));
section(0, new ByteWriter(names.length + 16).name("name").byte(1).sized(names));
for (let i = 1; i < CAPS.customSections; i++) section(0, new ByteWriter(2).name(""));

const out = instrument(w.finish().slice(), { maxBytes: 8 << 20, maxFunctions: CAPS.functions, maxMemoryPages: 32, maxTableElements: 100_000 });
process.stdout.write(`instrumented ${out.parsed.counts.functions} functions\n`);
