import assert from "node:assert/strict";
import { test } from "node:test";
import { ModuleRefused, UsageError } from "../../errors.js";
import type { RefusalReason } from "../../errors.js";
import { parseModule } from "./parse-module.js";
import { capLimits } from "./rewrite-limits.js";
import { moduleOf, section, str, vec, watCompiler } from "./wat.fixture.js";

const wat = await watCompiler();
const PAGE = 65536;

function cap(bytes: Uint8Array, maxMemoryPages: number, maxTableElements = 100): Uint8Array<ArrayBuffer> {
  return capLimits(bytes, parseModule(bytes), { maxMemoryPages, maxTableElements });
}

function refusedWith(bytes: Uint8Array, reason: RefusalReason, maxMemoryPages = 16, maxTableElements = 100): void {
  assert.throws(() => cap(bytes, maxMemoryPages, maxTableElements), (err: unknown) => {
    assert.ok(err instanceof ModuleRefused, `expected ModuleRefused, got ${String(err)}`);
    assert.equal(err.reason, reason);
    return true;
  });
}

const GROWER = `(func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
  (func (export "size") (result i32) (memory.size))
  (data (i32.const 0) "kept")`;

void test("a memory without a maximum gets the cap as its maximum, and the VM enforces it", () => {
  const capped = cap(wat(`(module (memory 1) ${GROWER})`), 3);
  assert.ok(WebAssembly.validate(capped));
  assert.deepEqual(parseModule(capped).memories, [{ min: 1, max: 3, shared: false, memory64: false }]);
  const { exports } = new WebAssembly.Instance(new WebAssembly.Module(capped));
  const grow = exports.grow as (n: number) => number;
  assert.equal(grow(2), 1);
  assert.equal(grow(1), -1, "growth past the cap is refused inside the VM");
  assert.equal((exports.size as () => number)(), 3);
});

void test("a declared maximum above the cap is lowered; one below it is kept", () => {
  assert.equal(parseModule(cap(wat(`(module (memory 1 100))`), 8)).memories[0]?.max, 8);
  assert.equal(parseModule(cap(wat(`(module (memory 1 4))`), 8)).memories[0]?.max, 4);
  assert.equal(parseModule(cap(wat(`(module (memory 0))`), 0)).memories[0]?.max, 0);
});

void test("section sizes are re-encoded when the limits grow longer, and nothing else changes", () => {
  const original = wat(`(module (memory 200) (table 300 funcref) ${GROWER} (func $f) (elem (i32.const 0) $f))`);
  const capped = cap(original, 60000, 100000);
  assert.ok(capped.length > original.length);
  assert.ok(WebAssembly.validate(capped));
  const before = parseModule(original);
  const after = parseModule(capped);
  assert.deepEqual(after.memories[0], { min: 200, max: 60000, shared: false, memory64: false });
  assert.deepEqual(after.tables[0], { elemType: "funcref", min: 300, max: 100000 });
  assert.deepEqual(after.sections.map((s) => s.id), before.sections.map((s) => s.id));
  const bodyOf = (bytes: Uint8Array, i: number): string => {
    const b = parseModule(bytes).code[i];
    return Buffer.from(bytes.subarray(b?.bodyStart, b?.end)).toString("hex");
  };
  assert.equal(bodyOf(capped, 0), bodyOf(original, 0));
  const mem = new WebAssembly.Instance(new WebAssembly.Module(capped)).exports.grow as (n: number) => number;
  assert.equal(mem(1), 200);
});

void test("a minimum above the cap is refused: memory-too-large / table-too-large", () => {
  refusedWith(wat(`(module (memory 17))`), "memory-too-large", 16);
  refusedWith(wat(`(module (table 101 funcref))`), "table-too-large", 16, 100);
  assert.doesNotThrow(() => cap(wat(`(module (memory 16) (table 100 funcref))`), 16, 100));
});

void test("tables are capped; imported tables keep their limits", () => {
  const bytes = wat(`(module (import "env" "t" (table 1 funcref)) (table 2 funcref) (table 3 5000 externref))`);
  const after = parseModule(cap(bytes, 1, 10));
  assert.deepEqual(after.tables.map((t) => t.max), [10, 10]);
  const imported = after.imports[0];
  assert.ok(imported?.kind === "table" && imported.table.max === null);
});

void test("memory shapes the cap cannot bound are refused, each with its reason", () => {
  refusedWith(wat(`(module (memory 1 2 shared))`, { threads: true }), "shared-memory");
  refusedWith(wat(`(module (import "env" "m" (memory 1 2)))`), "imported-memory");
  refusedWith(moduleOf(section(5, vec([[0x04, 0x01]]))), "memory64");
  refusedWith(moduleOf(section(5, vec([[0x00, 0x01], [0x00, 0x01]]))), "multi-memory");
  refusedWith(moduleOf(section(2, vec([[...str("env"), ...str("m"), 0x02, 0x00, 0x01]])), section(5, vec([[0x00, 0x01]]))), "multi-memory");
});

void test("caps outside their ranges are a usage error", () => {
  const bytes = wat(`(module (memory 1))`);
  for (const [pages, elems] of [[-1, 1], [65537, 1], [1.5, 1], [1, -1], [Number.NaN, 1]] as const) {
    assert.throws(() => cap(bytes, pages, elems), UsageError);
  }
});

void test("a module with no memory or table passes through byte for byte", () => {
  const bytes = wat(`(module (func (export "f") (result i32) (i32.const 1)))`);
  assert.deepEqual(cap(bytes, 1), bytes);
});

void test("the capped memory refuses JS-side growth too", () => {
  const capped = cap(wat(`(module (memory (export "m") 1))`), 2);
  const memory = new WebAssembly.Instance(new WebAssembly.Module(capped)).exports.m as WebAssembly.Memory;
  memory.grow(1);
  assert.throws(() => memory.grow(1), RangeError);
  assert.equal(memory.buffer.byteLength, 2 * PAGE);
});
