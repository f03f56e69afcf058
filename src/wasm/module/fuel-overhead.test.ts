// Fuel metering must not change what a guest computes, on the three shapes the benchmark times
// (a tight loop, a tiny function called in a loop, and cpu-burn.wasm's real C loops). The cost
// in time is measured by `npm run bench` (fuel rows, with the ≤ 1.35× target), not here: timed
// assertions on a shared machine only measure the neighbours.
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { instrument } from "./instrument.js";
import { instantiateMetered } from "./meter-host.fixture.js";
import { miniWasi, runCommand } from "./mini-wasi.fixture.js";
import { watCompiler } from "./wat.fixture.js";

const wat = await watCompiler();
const CAPS = { maxBytes: 1 << 26, maxFunctions: 100_000, maxMemoryPages: 65536, maxTableElements: 1 };
const SLICE = 1n << 62n;

const TIGHT_LOOP = `(module
  (func (export "work") (param $n i32) (result i32) (local $i i32) (local $acc i32)
    (loop $l
      (local.set $acc (i32.add (i32.mul (local.get $acc) (i32.const 31)) (i32.xor (local.get $i) (i32.const 0x5bd1e995))))
      (local.set $acc (i32.rotl (local.get $acc) (i32.const 7)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (local.get $n))))
    (local.get $acc)))`;

const TINY_CALLEE = `(module
  (func $f (param $a i32) (param $b i32) (result i32) (i32.xor (i32.mul (local.get $a) (i32.const 31)) (local.get $b)))
  (func (export "work") (param $n i32) (result i32) (local $i i32) (local $acc i32)
    (loop $l
      (local.set $acc (call $f (local.get $acc) (local.get $i)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (local.get $n))))
    (local.get $acc)))`;

type Work = (n: number) => number;

for (const [name, src] of [
  ["tight loop", TIGHT_LOOP],
  ["tiny callee called in a loop", TINY_CALLEE],
] as const) {
  void test(`fuel metering keeps the answer: ${name}`, () => {
    const bytes = wat(src);
    const plain = new WebAssembly.Instance(new WebAssembly.Module(bytes)).exports.work as Work;
    const guest = instantiateMetered(instrument(bytes, CAPS).bytes, { slice: SLICE });
    const metered = guest.exports.work as Work;
    for (const n of [0, 1, 7, 1_000, 1_000_000]) assert.equal(metered(n), plain(n), `n = ${n}`);
    assert.ok(guest.consumed() > 1_000_000n, "fuel was charged per iteration");
  });
}

const CPU_BURN = fileURLToPath(new URL("../../../examples/modules/cpu-burn.wasm", import.meta.url));

void test("fuel metering keeps the answer: cpu-burn.wasm (built by npm run build)", () => {
  assert.ok(existsSync(CPU_BURN), `${CPU_BURN} is missing: run npm run build`);
  const bytes = new Uint8Array(readFileSync(CPU_BURN));
  const plainModule = new WebAssembly.Module(bytes);
  const meteredModule = new WebAssembly.Module(instrument(bytes, CAPS).bytes);
  const burn = (metered: boolean, n: number): string => {
    const wasi = miniWasi(new TextEncoder().encode(`{"n":${n}}`));
    const exports = metered
      ? instantiateMetered(meteredModule, { imports: wasi.imports, slice: SLICE }).exports
      : new WebAssembly.Instance(plainModule, wasi.imports).exports;
    wasi.bind(exports.memory as WebAssembly.Memory);
    assert.equal(runCommand(exports._start as () => void), 0);
    return wasi.stdout();
  };
  for (const n of [1, 1_000, 50_000]) assert.equal(burn(true, n), burn(false, n), `n = ${n}`);
});
