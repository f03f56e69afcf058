import assert from "node:assert/strict";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { instrument } from "./instrument.js";
import { instantiateMetered } from "./meter-host.fixture.js";
import { watCompiler } from "./wat.fixture.js";

const wat = await watCompiler();

const CPU_BOUND = `(module
  (func (export "work") (param $n i32) (result i32) (local $i i32) (local $acc i32)
    (loop $l
      (local.set $acc (i32.add (i32.mul (local.get $acc) (i32.const 31)) (i32.xor (local.get $i) (i32.const 0x5bd1e995))))
      (local.set $acc (i32.rotl (local.get $acc) (i32.const 7)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (local.get $n))))
    (local.get $acc)))`;

type Work = (n: number) => number;

/** Best of `rounds` timings of `calls` calls of work(n), after warming up into the optimising tier. */
async function time(work: Work, n: number, calls: number, rounds: number): Promise<{ ms: number; result: number }> {
  for (let i = 0; i < 40; i++) work(100_000);
  await sleep(100); // let background tier-up finish
  let best = Number.POSITIVE_INFINITY;
  let result = 0;
  for (let r = 0; r < rounds; r++) {
    const start = performance.now();
    for (let c = 0; c < calls; c++) result = work(n);
    best = Math.min(best, performance.now() - start);
  }
  return { ms: best, result };
}

void test("fuel metering overhead on a CPU-bound loop (50M iterations) stays under 3x", async (t) => {
  const bytes = wat(CPU_BOUND);
  const plain = new WebAssembly.Instance(new WebAssembly.Module(bytes)).exports.work as Work;
  const guest = instantiateMetered(
    instrument(bytes, { maxBytes: 1 << 20, maxFunctions: 10, maxMemoryPages: 1, maxTableElements: 1 }).bytes,
    { slice: 1n << 62n },
  );
  const metered = guest.exports.work as Work;
  const base = await time(plain, 5_000_000, 10, 3);
  const withFuel = await time(metered, 5_000_000, 10, 3);
  assert.equal(withFuel.result, base.result, "same answer");
  assert.ok(guest.consumed() > 0n, "fuel was charged");
  const ratio = withFuel.ms / base.ms;
  const line = `fuel overhead: ${ratio.toFixed(2)}x (plain ${base.ms.toFixed(1)} ms, metered ${withFuel.ms.toFixed(1)} ms per 50M iterations)`;
  t.diagnostic(line);
  console.log(line);
  assert.ok(ratio < 3, line);
});
