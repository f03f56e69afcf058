import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { ModuleMalformed, ModuleRefused } from "../../errors.js";
import type { RefusalReason } from "../../errors.js";
import { instrument } from "./instrument.js";
import type { InstrumentOptions } from "./instrument.js";
import { mapWasmFunctionIndex } from "./meter-abi.js";
import { instantiateMetered, OutOfFuel } from "./meter-host.fixture.js";
import { parseModule } from "./parse-module.js";
import { moduleOf, section, str, uleb, vec, watCompiler } from "./wat.fixture.js";

const wat = await watCompiler();
const PAGE = 65536;
const OPTS: InstrumentOptions = { maxBytes: 1 << 20, maxFunctions: 1000, maxMemoryPages: 4, maxTableElements: 64 };

function instrumented(src: string, opts: Partial<InstrumentOptions> = {}): Uint8Array<ArrayBuffer> {
  const out = instrument(wat(src), { ...OPTS, ...opts }).bytes;
  assert.ok(WebAssembly.validate(out), "instrumented output validates");
  return out;
}

function refusedWith(bytes: Uint8Array, reason: RefusalReason, opts: Partial<InstrumentOptions> = {}): void {
  assert.throws(() => instrument(bytes, { ...OPTS, ...opts }), (err: unknown) => {
    assert.ok(err instanceof ModuleRefused, `expected ModuleRefused(${reason}), got ${String(err)}`);
    assert.equal(err.reason, reason);
    return true;
  });
}

// ---- fuel ----

const SPIN = `(module (func (export "spin") (loop (br 0))))`;

void test("a spinning loop with 1000 fuel calls refill after 998 iterations; a throwing refill stops it", () => {
  const guest = instantiateMetered(instrumented(SPIN), { slice: 1_000_000n, refillsAllowed: 0 });
  guest.fuel.value = 1000n;
  assert.throws(() => (guest.exports.spin as () => void)(), OutOfFuel);
  assert.equal(guest.refills(), 1);
  // entry region: loop, end (of loop), end (of function) = 3; each iteration: br = 1.
  // 1000 - 3 - 998 = -1: the 998th iteration drives it below zero.
  assert.equal(guest.fuel.value, -1n);
});

void test("refill may grant more slices before stopping the guest", () => {
  const guest = instantiateMetered(instrumented(SPIN), { slice: 500n, refillsAllowed: 3 });
  assert.throws(() => (guest.exports.spin as () => void)(), OutOfFuel);
  assert.equal(guest.refills(), 4);
  assert.equal(guest.consumed(), 4n * 501n, "each slice of 500 runs down to -1");
});

const SUM = `(module
  (func (export "sum") (param $n i32) (result i32) (local $s i32)
    (block $done (loop $l
      (br_if $done (i32.eqz (local.get $n)))
      (local.set $s (i32.add (local.get $s) (local.get $n)))
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br $l)))
    (local.get $s))
  (func (export "seven") (result i32) (i32.const 7)))`;

void test("fuel charges follow the documented COST rule exactly", () => {
  const guest = instantiateMetered(instrumented(SUM));
  assert.equal((guest.exports.seven as () => number)(), 7);
  assert.equal(guest.consumed(), 2n, "i32.const + end");
  assert.equal((guest.exports.sum as (n: number) => number)(10), 55);
  // entry region: block, loop, end (loop), end (block), local.get, end = 6; loop region: the 12
  // instructions between `loop` and its `end`, paid 11 times (n = 10..0)
  assert.equal(guest.consumed(), 2n + 6n + 11n * 12n);
});

void test("fuel consumed by a deterministic program is the same across runs and slice sizes", () => {
  const consumed = [1_000_000_000n, 1_000_000_000n, 97n, 5n].map((slice) => {
    const guest = instantiateMetered(instrumented(SUM), { slice });
    assert.equal((guest.exports.sum as (n: number) => number)(1000), 500500);
    return guest.consumed();
  });
  assert.deepEqual(consumed, [consumed[0], consumed[0], consumed[0], consumed[0]]);
  assert.equal(consumed[0], 6n + 1001n * 12n);
});

void test("code after a loop's first branch is charged, so long bodies cannot run for free", () => {
  const body = Array.from({ length: 200 }, () => "(local.set $x (i32.add (local.get $x) (i32.const 1)))").join(" ");
  const guest = instantiateMetered(
    instrumented(`(module (func (export "f") (local $x i32) (loop $l (br_if 1 (i32.const 0)) ${body} (br $l))))`),
    { slice: 10_000n, refillsAllowed: 0 },
  );
  assert.throws(() => (guest.exports.f as () => void)(), OutOfFuel);
  // each iteration pays 2 (i32.const, br_if) + 200 * 4 + 1 (br) = 803, so the slice lasts 12
  // iterations (the entry paid 3), not the 5000 a charge of 2 up to the first branch would allow
  assert.equal(guest.consumed(), 3n + 13n * 803n);
});

// ---- function index remapping ----

const CALLS = `(module
  (type $r (func (result i32)))
  (import "env" "base" (func $base (result i32)))
  (import "env" "twice" (func $twice (param i32) (result i32)))
  (table $t 8 funcref)
  (global $gf funcref (ref.func $f3))
  (global $started (export "started") (mut i32) (i32.const 0))
  (func $f1 (export "f1") (result i32) (i32.add (call $f2) (i32.const 1)))
  (func $f2 (export "f2") (result i32) (i32.add (call $base) (i32.const 2)))
  (func $f3 (result i32) (call $twice (i32.const 30)))
  (func $f4 (result i32) (i32.const 4))
  (func $f5 (result i32) (i32.const 5))
  (func $f6 (result i32) (i32.const 6))
  (func (export "indirect") (param i32) (result i32) (call_indirect $t (type $r) (local.get 0)))
  (func (export "viaRefFunc") (result i32) (table.set $t (i32.const 7) (ref.func $f4)) (call_indirect $t (type $r) (i32.const 7)))
  (func (export "viaGlobal") (result i32) (table.set $t (i32.const 6) (global.get $gf)) (call_indirect $t (type $r) (i32.const 6)))
  (func (export "viaPassive") (result i32) (table.init $t $passive (i32.const 5) (i32.const 0) (i32.const 1)) (call_indirect $t (type $r) (i32.const 5)))
  (func $start (global.set $started (call $f1)))
  (start $start)
  (elem (i32.const 0) $f1 $base $f5)
  (elem (i32.const 3) funcref (ref.func $f6) (ref.null func))
  (elem $passive funcref (ref.func $f5))
  (elem declare func $f4)
)`;

void test("calls, tables, element segments, ref.func, globals, exports and start still reach the right functions", () => {
  const guest = instantiateMetered(instrumented(CALLS), {
    imports: { env: { base: () => 100, twice: (x: number) => 2 * x } },
  });
  const e = guest.exports as Record<string, (...args: number[]) => number>;
  assert.equal((guest.exports.started as WebAssembly.Global).value, 103, "__cordon_start ran $f1 -> $f2 -> base");
  assert.equal(e.f1?.(), 103);
  assert.equal(e.f2?.(), 102);
  assert.deepEqual([0, 1, 2, 3].map((i) => e.indirect?.(i)), [103, 100, 5, 6]);
  assert.throws(() => e.indirect?.(4), WebAssembly.RuntimeError, "null entry stays null");
  assert.equal(e.viaRefFunc?.(), 4);
  assert.equal(e.viaGlobal?.(), 60);
  assert.equal(e.viaPassive?.(), 5);
});

void test("imported function indices are stable; defined ones shift by 2; mapWasmFunctionIndex undoes it", () => {
  const out = instrument(wat(CALLS), OPTS);
  const after = parseModule(out.bytes);
  assert.deepEqual(after.imports.map((i) => `${i.module}.${i.name}`), ["env.base", "env.twice", "cordon_meter.refill", "cordon_meter.grow"]);
  assert.equal(after.exports.find((x) => x.name === "f1")?.index, 4);
  assert.equal(out.parsed.exports.find((x) => x.name === "f1")?.index, 2);
  assert.equal(mapWasmFunctionIndex(4, 2), 2);
  assert.equal(mapWasmFunctionIndex(1, 2), 1);
  assert.equal(mapWasmFunctionIndex(2, 2), null);
  assert.equal(mapWasmFunctionIndex(3, 2), null);
  assert.equal(out.functionNames.get(2), "f1");
  assert.equal(after.functionNames.get(4), "f1");
  assert.equal(after.functionNames.get(2), "cordon_meter.refill");
});

void test("a trap inside a named function shows that name in V8's stack; its frame index maps back", () => {
  const out = instrument(
    wat(`(module (import "env" "x" (func $x)) (func $helper (call $boom)) (func $boom (unreachable)) (func (export "run") (call $helper)))`),
    OPTS,
  );
  const guest = instantiateMetered(out.bytes, { imports: { env: { x: () => undefined } } });
  let stack = "";
  try {
    (guest.exports.run as () => void)();
  } catch (err) {
    stack = (err as Error).stack ?? "";
  }
  assert.match(stack, /at boom \(wasm:\/\/wasm\/[0-9a-f]+:wasm-function\[4\]/);
  assert.match(stack, /at helper /);
  const frameIndex = Number(/wasm-function\[(\d+)\]/.exec(stack)?.[1]);
  const original = mapWasmFunctionIndex(frameIndex, out.parsed.counts.importedFunctions);
  assert.equal(original, 2);
  assert.equal(out.functionNames.get(original), "boom");
});

void test("local names follow their function; label names are dropped", () => {
  const src = `(module (import "env" "x" (func $x)) (func $f (param $alpha i32) (local $beta i64) (block $lbl)))`;
  const names = parseModule(instrument(wat(src), OPTS).bytes).names;
  assert.deepEqual([...(names?.localNames.get(3) ?? [])], [[0, "alpha"], [1, "beta"]]);
  assert.ok(!names?.subsections.some((s) => s.id === 3));
});

// ---- memory ----

const GROWER = `(module (memory (export "memory") 1)
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
  (func (export "size") (result i32) (memory.size)))`;

void test("memory.grow goes through the grow import, and the VM refuses growth past the cap", () => {
  const guest = instantiateMetered(instrumented(GROWER, { maxMemoryPages: 3 }));
  const grow = guest.exports.grow as (n: number) => number;
  assert.equal(grow(1), 1);
  assert.equal(grow(5), -1, "the host asked the VM, the VM refused");
  assert.equal(grow(1), 2);
  assert.equal(grow(1), -1);
  assert.deepEqual(guest.grows, [
    { delta: 1, result: 1 },
    { delta: 5, result: -1 },
    { delta: 1, result: 2 },
    { delta: 1, result: -1 },
  ]);
  assert.equal((guest.exports.size as () => number)(), 3);
  assert.equal(guest.memory?.buffer.byteLength, 3 * PAGE);
  assert.equal(guest.exports.memory, guest.memory, "__cordon_memory is the module's own memory");
  assert.equal(parseModule(instrumented(GROWER, { maxMemoryPages: 3 })).memories[0]?.max, 3, "no max -> cap");
});

void test("memory shapes the cap cannot bound are refused with their reasons (validated or not by this V8)", () => {
  refusedWith(wat(`(module (memory 5))`), "memory-too-large", { maxMemoryPages: 4 });
  refusedWith(wat(`(module (table 65 funcref))`), "table-too-large", { maxTableElements: 64 });
  refusedWith(wat(`(module (memory 1 2 shared))`, { threads: true }), "shared-memory");
  refusedWith(wat(`(module (import "env" "m" (memory 1)))`), "imported-memory");
  refusedWith(moduleOf(section(5, vec([[0x04, 0x01]]))), "memory64");
  refusedWith(moduleOf(section(5, vec([[0x00, 0x01], [0x00, 0x01]]))), "multi-memory");
});

// ---- shape checks ----

void test("a reference to global N is malformed even though instrumentation adds global N", () => {
  const body = [0x00, 0x23, 0x01, 0x1a, 0x0b]; // global.get 1; drop
  const bytes = moduleOf(
    section(1, vec([[0x60, 0, 0]])),
    section(3, vec([[0]])),
    section(6, vec([[0x7f, 0x00, 0x41, 0x00, 0x0b]])),
    section(10, vec([[...uleb(body.length), ...body]])),
  );
  assert.throws(() => instrument(bytes, OPTS), (err: unknown) => err instanceof ModuleMalformed && /validator/.test(err.reason));
  // the same module referencing global 0 is fine
  const ok = Uint8Array.from(bytes);
  ok[ok.length - 3] = 0x00;
  assert.ok(WebAssembly.validate(instrument(ok, OPTS).bytes));
});

void test("a reference to type N (the first type instrumentation appends) is malformed", () => {
  const body = [0x00, 0x41, 0x00, 0x11, 0x01, 0x00, 0x0b]; // call_indirect (type 1)
  const bytes = moduleOf(
    section(1, vec([[0x60, 0, 0]])),
    section(3, vec([[0]])),
    section(4, vec([[0x70, 0x00, 0x01]])),
    section(10, vec([[...uleb(body.length), ...body]])),
  );
  assert.throws(() => instrument(bytes, OPTS), ModuleMalformed);
});

void test("reserved names, size and function count are refused", () => {
  refusedWith(wat(`(module (global (export "__cordon_fuel") (mut i64) (i64.const 0)))`), "reserved-export");
  refusedWith(wat(`(module (func (export "__cordonX")))`), "reserved-export");
  refusedWith(wat(`(module (import "cordon_meter" "refill" (func)))`), "reserved-export");
  const big = wat(`(module (func (export "a")) (func) (func))`);
  refusedWith(big, "oversized", { maxBytes: big.length - 1 });
  assert.doesNotThrow(() => instrument(big, { ...OPTS, maxBytes: big.length }));
  refusedWith(big, "too-many-functions", { maxFunctions: 2 });
  refusedWith(wat(`(module (import "e" "f" (func)) (func) (func))`), "too-many-functions", { maxFunctions: 2 });
  assert.throws(() => instrument(Uint8Array.of(0, 1, 2), OPTS), ModuleMalformed);
});

void test("modules lacking type, import, global, export sections get them in legal positions", () => {
  for (const bytes of [moduleOf(), moduleOf(section(0, [...str("note"), 1, 2, 3])), wat(`(module (memory 1))`)]) {
    const out = instrument(bytes, OPTS);
    assert.ok(WebAssembly.validate(out.bytes));
    const after = parseModule(out.bytes);
    assert.deepEqual(after.globals.map((g) => g.type), [{ valType: "i64", mutable: true }]);
    assert.ok(after.exports.some((e) => e.name === "__cordon_fuel" && e.kind === "global"));
  }
  const withNote = parseModule(instrument(moduleOf(section(0, [...str("note"), 1, 2, 3])), OPTS).bytes);
  assert.deepEqual(withNote.customSections.map((c) => [c.name, c.payload.end - c.payload.start]), [["note", 3]]);
});

void test("multi-value loops, SIMD, bulk memory and reference types survive instrumentation", () => {
  const guest = instantiateMetered(
    instrumented(`(module (memory 1) (type $p (func (param i32) (result i32)))
      (func (export "count") (param $n i32) (result i32)
        (local.get $n)
        (loop $l (type $p) (i32.sub (i32.const 1)) (local.tee $n) (br_if $l (i32.ne (local.get $n) (i32.const 0)))) (drop)
        (memory.fill (i32.const 0) (i32.const 7) (i32.const 16))
        (i32x4.extract_lane 0 (i32x4.add (v128.load (i32.const 0)) (v128.const i32x4 1 0 0 0)))))`),
  );
  assert.equal((guest.exports.count as (n: number) => number)(5), 0x07070708);
});

void test("fuzz: every mutant the engine accepts is instrumented into a valid module or refused typed", () => {
  const original = wat(CALLS);
  let instrumentedCount = 0;
  fc.assert(
    fc.property(fc.nat({ max: original.length - 1 }), fc.integer({ min: 0, max: 255 }), (at, value) => {
      const mutant = Uint8Array.from(original);
      mutant[at] = value;
      if (!WebAssembly.validate(mutant)) return true;
      try {
        const out = instrument(mutant, OPTS);
        instrumentedCount++;
        return WebAssembly.validate(out.bytes);
      } catch (err) {
        if (err instanceof ModuleRefused) return true;
        throw err; // a module the engine accepts is never "malformed" to us
      }
    }),
    { numRuns: 3000 },
  );
  assert.ok(instrumentedCount > 100, `only ${instrumentedCount} mutants were instrumented`);
});
