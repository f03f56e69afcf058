// Start sections: a start function would run during instantiation, before the host has bound
// the fuel global and memory, so instrumentation removes the section and exports the function
// as __cordon_start, which the host calls once it has (see meter-abi.ts).
import assert from "node:assert/strict";
import { test } from "node:test";
import { instrument } from "./instrument.js";
import { START_EXPORT } from "./meter-abi.js";
import { instantiateMetered } from "./meter-host.fixture.js";
import { parseModule } from "./parse-module.js";
import { watCompiler } from "./wat.fixture.js";

const wat = await watCompiler();

function instrumented(src: string): Uint8Array<ArrayBuffer> {
  const out = instrument(wat(src), { maxBytes: 1 << 20, maxFunctions: 100, maxMemoryPages: 1, maxTableElements: 1 }).bytes;
  assert.ok(WebAssembly.validate(out), "instrumented output validates");
  return out;
}

void test("the start section is removed: instantiating runs nothing; __cordon_start runs it, metered", () => {
  const out = instrumented(
    `(module (global $g (export "g") (mut i32) (i32.const 0)) (func $init (global.set $g (i32.const 42))) (start $init))`,
  );
  const after = parseModule(out);
  assert.equal(after.start, null, "no start section");
  assert.deepEqual(after.exports.find((e) => e.name === START_EXPORT), { name: START_EXPORT, kind: "func", index: 2 });
  const guest = instantiateMetered(out, { runStart: false });
  const g = guest.exports.g as WebAssembly.Global;
  assert.equal(g.value, 0, "instantiating did not run the start function");
  assert.equal(guest.refillsDuringInstantiation, 0);
  (guest.exports[START_EXPORT] as () => void)();
  assert.equal(g.value, 42);
  assert.equal(guest.consumed(), 3n, "metered like any call: i32.const, global.set, end");
  assert.equal(guest.refills(), 0, "the host bound fuel first");
});

void test("an imported start function is exported as __cordon_start too; modules without start export none", () => {
  const out = instrumented(`(module (import "env" "init" (func $init)) (start $init))`);
  let ran = 0;
  const guest = instantiateMetered(out, { imports: { env: { init: () => void ran++ } } });
  assert.equal(ran, 1, "the fixture host calls __cordon_start once, after binding");
  assert.equal(parseModule(out).exports.find((e) => e.name === START_EXPORT)?.index, 0, "imported indices do not move");
  assert.ok(typeof guest.exports[START_EXPORT] === "function");
  assert.ok(!parseModule(instrumented(`(module (func (export "f")))`)).exports.some((e) => e.name === START_EXPORT));
});
