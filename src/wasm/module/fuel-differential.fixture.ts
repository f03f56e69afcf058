// Test support: the differential check for metering. A program runs uninstrumented and
// instrumented, with several fuel slices (3 makes refill fire at nearly every loop header), with
// and without the cached fuel local; results and fuel consumed must agree.
import assert from "node:assert/strict";
import { injectMetering } from "./inject-metering.js";
import { instrument } from "./instrument.js";
import type { InstrumentOptions } from "./instrument.js";
import { instantiateMetered } from "./meter-host.fixture.js";
import { parseModule } from "./parse-module.js";

export const OPTS: InstrumentOptions = { maxBytes: 1 << 20, maxFunctions: 1000, maxMemoryPages: 4, maxTableElements: 64 };
const SLICES = [1n << 40n, 3n, 11n, 1000n];

export type Call = readonly [name: string, ...args: number[]];

/**
 * Runs `calls` on the plain module and on the instrumented one with each slice, with and without
 * the cached fuel local: same results everywhere, and the same fuel for every slice and both
 * forms (the global-only form is the reference for what the COST rule charges). With
 * `expectRefills`, the small slices must have run out at least once.
 */
export function sameAsUninstrumented(bytes: Uint8Array<ArrayBuffer>, calls: readonly Call[], expectRefills = true): bigint[] {
  const plain = new WebAssembly.Instance(new WebAssembly.Module(bytes)).exports;
  const expected = calls.map(([name, ...args]) => (plain[name] as (...a: number[]) => unknown)(...args));
  const cached = instrument(bytes, OPTS).bytes;
  const reference = injectMetering(bytes, parseModule(bytes), { cacheFuel: false });
  const consumed = [cached, reference].flatMap((out) => {
    assert.ok(WebAssembly.validate(out), "instrumented output validates");
    return SLICES.map((slice) => {
      const guest = instantiateMetered(out, { slice });
      const got = calls.map(([name, ...args]) => (guest.exports[name] as (...a: number[]) => unknown)(...args));
      assert.deepEqual(got, expected, `same results with slice ${slice}`);
      if (expectRefills && slice <= 11n) assert.ok(guest.refills() > 0, `slice ${slice}: refill fired`);
      return guest.consumed();
    });
  });
  assert.deepEqual(consumed, consumed.map(() => consumed[0]), "fuel consumed: same for every slice, cached or not");
  return consumed;
}

