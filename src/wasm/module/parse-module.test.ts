import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { ModuleMalformed, ModuleRefused } from "../../errors.js";
import { parseModule } from "./parse-module.js";
import { HEADER, moduleOf, section, str, uleb, vec, watCompiler } from "./wat.fixture.js";

const wat = await watCompiler();

const RICH = wat(`(module $rich
  (type $ii (func (param i32) (result i32)))
  (import "env" "f" (func $imp (param i32)))
  (import "env" "t" (table 1 5 funcref))
  (import "env" "g" (global $ig i64))
  (import "env" "m" (memory 1 2))
  (table $t0 3 externref)
  (table $t1 2 10 funcref)
  (global $g0 (mut i32) (i32.const 42))
  (global $g1 funcref (ref.func $two))
  (func $one (type $ii) (local i64 i64 f32) (local.get 0))
  (func $two (result i32) (i32.const 2))
  (func $init (data.drop 1))
  (start $init)
  (export "one" (func $one))
  (export "g0" (global $g0))
  (export "t0" (table $t0))
  (elem (i32.const 0) $one)
  (elem func $two)
  (elem (table $t1) (i32.const 0) func $one)
  (elem declare func $one)
  (elem (i32.const 1) funcref (ref.func $two) (ref.null func))
  (elem funcref (ref.func $one) (ref.null func))
  (elem (table $t1) (i32.const 1) funcref (ref.func $two) (ref.null func))
  (elem declare funcref (ref.func $one) (ref.null func))
  (data (i32.const 8) "hi")
  (data "passive")
)`);

void test("parseModule decodes every section of a rich module", () => {
  const p = parseModule(RICH);
  assert.equal(p.types[0]?.params[0], "i32");
  assert.deepEqual(p.types[0]?.results, ["i32"]);
  assert.deepEqual(
    p.imports.map((i) => [i.module, i.name, i.kind]),
    [["env", "f", "func"], ["env", "t", "table"], ["env", "g", "global"], ["env", "m", "memory"]],
  );
  const [, table, global, memory] = p.imports;
  assert.ok(table?.kind === "table" && table.table.elemType === "funcref" && table.table.max === 5);
  assert.ok(global?.kind === "global" && global.global.valType === "i64" && !global.global.mutable);
  assert.ok(memory?.kind === "memory" && memory.memory.min === 1 && memory.memory.max === 2);
  assert.deepEqual(p.tables, [
    { elemType: "externref", min: 3, max: null },
    { elemType: "funcref", min: 2, max: 10 },
  ]);
  assert.equal(p.functions.length, 3);
  assert.deepEqual(p.globals.map((g) => g.type), [
    { valType: "i32", mutable: true },
    { valType: "funcref", mutable: false },
  ]);
  assert.deepEqual(p.exports, [
    { name: "one", kind: "func", index: 1 },
    { name: "g0", kind: "global", index: 1 },
    { name: "t0", kind: "table", index: 1 },
  ]);
  assert.equal(p.start, 3);
  assert.deepEqual(p.elements.map((e) => [e.flags, e.mode, e.tableIndex]), [
    [0, "active", 0], [1, "passive", 0], [2, "active", 2], [3, "declarative", 0],
    [4, "active", 0], [5, "passive", 0], [6, "active", 2], [7, "declarative", 0],
  ]);
  assert.deepEqual(p.elements[0]?.funcIndices, [1]);
  assert.equal(p.elements[4]?.exprs?.length, 2);
  assert.deepEqual(p.code[0]?.locals, [{ count: 2, type: "i64" }, { count: 1, type: "f32" }]);
  assert.equal(RICH[(p.code[0]?.end ?? 0) - 1], 0x0b);
  assert.deepEqual(p.data.map((d) => [d.mode, d.data.end - d.data.start]), [["active", 2], ["passive", 7]]);
  assert.equal(p.dataCount, 2);
  assert.deepEqual([...p.functionNames], [[0, "imp"], [1, "one"], [2, "two"], [3, "init"]]);
  assert.equal(p.names?.moduleName, "rich");
  assert.deepEqual(p.counts, {
    importedFunctions: 1, importedTables: 1, importedMemories: 1, importedGlobals: 1, importedTags: 0,
    functions: 4, tables: 3, memories: 1, globals: 3, tags: 0, types: 4, elements: 8, data: 2,
  });
  assert.equal(p.customSections[0]?.name, "name");
  assert.equal(p.sections.at(-1)?.end, RICH.length);
  assert.ok(Object.isFrozen(p) && Object.isFrozen(p.imports) && Object.isFrozen(p.imports[0]));
});

function malformed(bytes: Uint8Array | readonly number[], reason: RegExp): void {
  assert.throws(() => parseModule(Uint8Array.from(bytes)), (err: unknown) => {
    assert.ok(err instanceof ModuleMalformed, `expected ModuleMalformed, got ${String(err)}`);
    assert.match(err.reason, reason);
    return true;
  });
}

void test("parseModule rejects a bad header", () => {
  malformed([], /magic/);
  malformed([0x00, 0x61, 0x73, 0x6e, 1, 0, 0, 0], /magic/);
  malformed([0x00, 0x61, 0x73, 0x6d, 1, 0], /unexpected end/);
  malformed([0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00], /version/);
});

void test("parseModule checks section ids, order, repetition and sizes", () => {
  const type = section(1, vec([[0x60, 0, 0]]));
  assert.equal(parseModule(moduleOf(type)).types.length, 1);
  malformed(moduleOf(section(14, [])), /unknown section/);
  malformed(moduleOf(type, type), /out of order or repeated/);
  malformed(moduleOf(section(3, vec([])), type), /out of order/);
  malformed([...HEADER, 1, 5, 1, 0x60, 0, 0], /size out of bounds/);
  malformed([...HEADER, 1, 5, 1, 0x60, 0, 0, 0], /size mismatch/);
  malformed(moduleOf(section(3, vec([[0]]))), /inconsistent lengths/);
  malformed(moduleOf(section(12, [1])), /data count/);
  // custom sections may appear anywhere, repeatedly
  const p = parseModule(moduleOf(section(0, str("a")), type, section(0, [...str("b"), 1, 2, 3])));
  assert.deepEqual(p.customSections.map((c) => [c.name, c.payload.end - c.payload.start]), [["a", 0], ["b", 3]]);
});

void test("parseModule enforces LEB128 limits but accepts padded encodings", () => {
  const typeSection = (countBytes: number[]): number[] => [1, countBytes.length + 3, ...countBytes, 0x60, 0, 0];
  assert.equal(parseModule(Uint8Array.from([...HEADER, ...typeSection([0x81, 0x80, 0x80, 0x80, 0x00])])).types.length, 1);
  malformed([...HEADER, ...typeSection([0x81, 0x80, 0x80, 0x80, 0x80, 0x00])], /too long/);
  malformed([...HEADER, ...typeSection([0x81, 0x80, 0x80, 0x80, 0x10])], /too large/);
  // i32.const with an s32 whose unused high bits disagree with its sign
  const body = [0x00, 0x41, 0xff, 0xff, 0xff, 0xff, 0x4f, 0x1a, 0x0b];
  malformed(moduleOf(
    section(1, vec([[0x60, 0, 0]])),
    section(6, vec([[0x7f, 0x00, 0x41, 0x80, 0x80, 0x80, 0x80, 0x70, 0x0b]])),
  ), /too large/);
  assert.doesNotThrow(() => parseModule(moduleOf(
    section(1, vec([[0x60, 0, 0]])), section(3, vec([[0]])), section(10, vec([[...uleb(body.length), ...body]])),
  )));
});

void test("parseModule rejects bad names, kinds and flags", () => {
  malformed(moduleOf(section(2, vec([[...str("m"), 1, 0xff, 0x00, 0x00]]))), /UTF-8/);
  malformed(moduleOf(section(2, vec([[...str("m"), ...str("n"), 0x05, 0x00]]))), /import kind/);
  malformed(moduleOf(section(5, vec([[0x10, 1]]))), /memory limits/);
  malformed(moduleOf(section(9, vec([[8]]))), /element segment flags/);
  malformed(moduleOf(section(11, vec([[3]]))), /data segment flags/);
  malformed(moduleOf(section(6, vec([[0x7f, 0x00, 0x20, 0x00, 0x0b]]))), /constant expression/);
  malformed(moduleOf(section(1, vec([[0x61, 0, 0]]))), /function type form/);
});

void test("parseModule refuses encodings of proposals cordon does not load", () => {
  const refused = (bytes: Uint8Array, what: RegExp): void => {
    assert.throws(() => parseModule(bytes), (err: unknown) =>
      err instanceof ModuleRefused && err.reason === "unsupported-feature" && what.test(err.detail));
  };
  refused(moduleOf(section(1, vec([[0x5f, 0x00]]))), /GC type/);
  refused(moduleOf(section(4, vec([[0x70, 0x04, 0x01]]))), /table64/);
  refused(moduleOf(section(1, vec([[0x60, 1, 0x64, 0x70, 0]]))), /type 0x64/);
});

void test("parseModule decodes memory flags and ignores a name section that does not decode", () => {
  const p = parseModule(moduleOf(section(5, vec([[0x03, 1, 2], [0x05, 1, 3]]))));
  assert.deepEqual(p.memories, [
    { min: 1, max: 2, shared: true, memory64: false },
    { min: 1, max: 3, shared: false, memory64: true },
  ]);
  const badNames = parseModule(moduleOf(section(0, [...str("name"), 1, 9, 1, 0])));
  assert.equal(badNames.names, null);
  assert.equal(badNames.functionNames.size, 0);
});

// ---- fuzzing: whatever the bytes, the only failures are ModuleMalformed / ModuleRefused ----

function parsesOrFailsTyped(bytes: Uint8Array): boolean {
  try {
    parseModule(bytes);
    return true;
  } catch (err) {
    if (err instanceof ModuleMalformed || err instanceof ModuleRefused) return true;
    throw err;
  }
}

void test("fuzz: random bytes (with and without a valid header) parse or fail typed", () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (b) => parsesOrFailsTyped(b)), { numRuns: 3000 });
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), (b) => parsesOrFailsTyped(Uint8Array.from([...HEADER, ...b]))),
    { numRuns: 5000 },
  );
});

void test("fuzz: mutations and truncations of a real module parse or fail typed, and never hang", () => {
  const mutation = fc.record({
    at: fc.nat({ max: RICH.length - 1 }),
    value: fc.integer({ min: 0, max: 255 }),
    cut: fc.nat({ max: RICH.length }),
    how: fc.constantFrom("flip", "set", "truncate", "insert", "delete"),
  });
  fc.assert(
    fc.property(fc.array(mutation, { minLength: 1, maxLength: 3 }), (ms) => {
      let b = Uint8Array.from(RICH);
      for (const m of ms) {
        const at = Math.min(m.at, Math.max(0, b.length - 1));
        if (m.how === "flip") b[at] = (b[at] ?? 0) ^ (1 << (m.value % 8));
        else if (m.how === "set") b[at] = m.value;
        else if (m.how === "truncate") b = b.subarray(0, m.cut);
        else if (m.how === "insert") b = Uint8Array.from([...b.subarray(0, at), m.value, ...b.subarray(at)]);
        else b = Uint8Array.from([...b.subarray(0, at), ...b.subarray(at + 1)]);
      }
      const started = performance.now();
      const ok = parsesOrFailsTyped(b);
      assert.ok(performance.now() - started < 250, "parse took too long");
      return ok;
    }),
    { numRuns: 5000 },
  );
});

void test("fuzz: every single-byte mutation and every truncation of a real module parses or fails typed", () => {
  for (let cut = 0; cut < RICH.length; cut++) assert.ok(parsesOrFailsTyped(RICH.subarray(0, cut)));
  for (let at = 0; at < RICH.length; at++) {
    for (const value of [0x00, 0x01, 0x40, 0x7f, 0x80, 0xff, (RICH[at] ?? 0) + 1]) {
      const b = Uint8Array.from(RICH);
      b[at] = value & 0xff;
      assert.ok(parsesOrFailsTyped(b));
    }
  }
});
