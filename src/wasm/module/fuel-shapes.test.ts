// The injected control flow (loop trampolines, cached fuel regions, branch-depth fix-ups) must
// not change what a program computes, and fuel consumed must not depend on the slice size.
// Every program here runs uninstrumented and instrumented with several slices (3 makes refill
// fire mid-loop all the time) and must give the same results.
import assert from "node:assert/strict";
import { test } from "node:test";
import { decodeInstructions } from "./decode-instructions.js";
import { OPTS, sameAsUninstrumented } from "./fuel-differential.fixture.js";
import type { Call } from "./fuel-differential.fixture.js";
import { instrument } from "./instrument.js";
import { instantiateMetered } from "./meter-host.fixture.js";
import { parseModule } from "./parse-module.js";
import { moduleOf, section, str, uleb, vec, watCompiler } from "./wat.fixture.js";

const wat = await watCompiler();

void test("(a) nested loops with breaks to outer blocks, in call-free and calling loops", () => {
  const inner = (call: string) => `(local $i i32) (local $j i32) (local $acc i32)
    (block $out
      (loop $outer
        (local.set $j (i32.const 0))
        ${call}
        (block $next
          (loop $inner
            (local.set $acc (i32.add (i32.mul (local.get $acc) (i32.const 7)) (i32.add (local.get $i) (local.get $j))))
            (br_if $out (i32.eq (local.get $acc) (i32.const 0x1234567)))
            (br_if $next (i32.ge_u (local.get $j) (local.get $i)))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $inner)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $out (i32.gt_u (local.get $acc) (local.get $n)))
        (br_if $outer (i32.lt_u (local.get $i) (i32.const 40)))))
    (local.get $acc)`;
  sameAsUninstrumented(
    wat(`(module
      (func $mix (param i32) (result i32) (i32.rotl (local.get 0) (i32.const 5)))
      (func (export "free") (param $n i32) (result i32) ${inner("")})
      (func (export "calls") (param $n i32) (result i32) ${inner("(local.set $acc (call $mix (local.get $acc)))")}))`),
    [["free", 0x7fffffff], ["free", 1000], ["calls", 0x7fffffff], ["calls", 1000]],
  );
});

void test("(b) br_table with targets inside and outside loops, with and without values", () => {
  sameAsUninstrumented(
    wat(`(module
      (func (export "table") (param $n i32) (result i32) (local $i i32) (local $acc i32)
        (block $exit
          (loop $l
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (block $b2 (block $b1 (block $b0
              (br_table $b0 $b1 $b2 $l $exit (i32.rem_u (i32.mul (local.get $i) (i32.const 7)) (i32.const 6))))
              (local.set $acc (i32.add (local.get $acc) (i32.const 1)))
              (br $l))
              (local.set $acc (i32.mul (local.get $acc) (i32.const 3)))
              (br_if $exit (i32.ge_u (local.get $i) (local.get $n)))
              (br $l))
            (local.set $acc (i32.xor (local.get $acc) (local.get $i)))
            (br_if $l (i32.lt_u (local.get $i) (local.get $n)))))
        (i32.add (local.get $acc) (local.get $i)))
      (func (export "values") (param $n i32) (result i32) (local $i i32)
        (i32.add
          (block $o2 (result i32)
            (i32.mul (i32.const 1000)
              (block $o1 (result i32)
                (loop $l
                  (local.set $i (i32.add (local.get $i) (i32.const 1)))
                  (br_if $l (i32.lt_u (local.get $i) (local.get $n)))
                  (br_table $o1 $o2 $o1 (i32.mul (local.get $i) (i32.const 3)) (i32.rem_u (local.get $i) (i32.const 3))))
                (i32.const -1))))
          (i32.const 7))))`),
    [["table", 50], ["table", 3], ["values", 10], ["values", 11], ["values", 12]],
  );
});

void test("(c) loops with result types: values flow out by fallthrough and by branches", () => {
  sameAsUninstrumented(
    wat(`(module (type $two (func (result i32 i64)))
      (func (export "one") (param $n i32) (result i32) (local $i i32)
        (i32.add (i32.const 1000)
          (loop $l (result i32)
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br_if $l (i32.lt_u (local.get $i) (local.get $n)))
            (i32.mul (local.get $i) (i32.const 3)))))
      (func (export "two") (param $n i32) (result i64) (local $i i32) (local $t i64)
        (loop $l (type $two)
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $l (i32.lt_u (local.get $i) (local.get $n)))
          (local.get $i) (i64.extend_i32_u (i32.mul (local.get $i) (local.get $i))))
        (local.set $t)
        (i64.add (i64.extend_i32_u) (local.get $t)))
      (func (export "early") (param $n i32) (result i32) (local $i i32)
        (block $out (result i32)
          (loop $l
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            ;; br_if carrying a value out of the loop: when not taken, the value stays
            (drop (br_if $out (i32.mul (local.get $i) (i32.const 5)) (i32.eq (local.get $i) (local.get $n))))
            (br $l))
          (i32.const -1))))`),
    [["one", 7], ["one", 0], ["two", 9], ["early", 12]],
  );
});

/** The opcodes of defined function `index` (0-based among defined functions) in `bytes`. */
function opcodes(bytes: Uint8Array, index: number): number[] {
  const body = parseModule(bytes).code[index];
  assert.ok(body !== undefined);
  return [...decodeInstructions(bytes, { start: body.codeStart, end: body.end })].map((i) => i.opcode);
}

void test("(d) a loop with params keeps the if/call check; it still computes the same", () => {
  const src = `(module (type $p (func (param i32) (result i32)))
    (func (export "count") (param $n i32) (result i32)
      (local.get $n)
      (loop $l (type $p) (i32.sub (i32.const 1)) (local.tee $n) (br_if $l (i32.ne (local.get $n) (i32.const 0))))
      (i32.add (i32.const 100))))`;
  sameAsUninstrumented(wat(src), [["count", 5], ["count", 40]]);
  const ops = opcodes(instrument(wat(src), OPTS).bytes, 0);
  assert.equal(ops.filter((op) => op === 0x03).length, 1, "no trampoline loop added");
  const loopAt = ops.indexOf(0x03);
  // after the loop: charge (global.get, i64.const, i64.sub, global.set, global.get, i64.const, i64.lt_s), if, call, end
  assert.deepEqual(ops.slice(loopAt + 1, loopAt + 12), [0x23, 0x42, 0x7d, 0x24, 0x23, 0x42, 0x53, 0x04, 0x10, 0x0b, 0x41]);
  assert.equal(parseModule(instrument(wat(src), OPTS).bytes).code[0]?.locals.length, 0, "no fuel local: no cached region");
});

void test("a param-less loop is trampolined: its hot body holds no call", () => {
  const ops = opcodes(instrument(wat(`(module (func (param $n i32) (loop $l (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))))`), OPTS).bytes, 0);
  const loops = ops.flatMap((op, i) => (op === 0x03 ? [i] : []));
  assert.equal(loops.length, 2, "$r and the original loop");
  const inner = loops[1] as number;
  const innerEnd = ops.indexOf(0x0b, inner);
  assert.ok(!ops.slice(inner, innerEnd).includes(0x10), "no call inside the original loop");
});

void test("(e) multi-value function results, returned from inside loops and by branches to the function label", () => {
  // n's bytes pick the exit: i == byte 0 -> return; i == byte 1 -> br_if 1; i == byte 2 -> br 2
  const exit = (ret: number, brIf: number, br: number): Call => ["mv", ret | (brIf << 8) | (br << 16)];
  sameAsUninstrumented(
    wat(`(module
      (func (export "mv") (param $n i32) (result i32 i64) (local $i i32) (local $s i64)
        loop $l
          local.get $s  local.get $i  i64.extend_i32_u  i64.add  local.set $s
          local.get $i  i32.const 1  i32.add  local.set $i
          local.get $i  local.get $n  i32.const 0xff  i32.and  i32.eq
          if  local.get $i  local.get $s  return  end
          local.get $i  local.get $s
          local.get $i  local.get $n  i32.const 8  i32.shr_u  i32.const 0xff  i32.and  i32.eq  br_if 1
          drop  drop
          local.get $i  local.get $n  i32.const 16  i32.shr_u  i32.eq
          if  local.get $s  i32.wrap_i64  local.get $s  br 2  end
          br $l
        end
        unreachable))`),
    [exit(10, 200, 250), exit(250, 20, 200), exit(250, 200, 30)],
  );
});

void test("(f) tiny slices: refill mid-loop, at every loop header, gives the same result and the same fuel", () => {
  const src = `(module (func (export "sum") (param $n i32) (result i32) (local $s i32)
    (block $done (loop $l
      (br_if $done (i32.eqz (local.get $n)))
      (local.set $s (i32.add (local.get $s) (local.get $n)))
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br $l)))
    (local.get $s)))`;
  const [consumed] = sameAsUninstrumented(wat(src), [["sum", 1000]]);
  assert.equal(consumed, 6n + 1001n * 12n, "the COST rule, exactly (see instrument.test.ts)");
  const guest = instantiateMetered(instrument(wat(src), OPTS).bytes, { slice: 3n });
  assert.equal((guest.exports.sum as (n: number) => number)(1000), 500500);
  assert.ok(guest.refills() > 1000, `each header charge of 12 needs a refill: ${guest.refills()}`);
});

void test("(g) recursive functions, with loops before and around the recursion", () => {
  sameAsUninstrumented(
    wat(`(module
      (func $fib (export "fib") (param $n i32) (result i32)
        (if (result i32) (i32.lt_u (local.get $n) (i32.const 2))
          (then (local.get $n))
          (else (i32.add (call $fib (i32.sub (local.get $n) (i32.const 1))) (call $fib (i32.sub (local.get $n) (i32.const 2)))))))
      (func $walk (export "walk") (param $n i32) (result i32) (local $i i32) (local $acc i32)
        (loop $l
          (local.set $acc (i32.add (local.get $acc) (local.get $i)))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $l (i32.lt_u (local.get $i) (local.get $n))))
        (if (result i32) (i32.eqz (local.get $n))
          (then (local.get $acc))
          (else (i32.add (local.get $acc) (call $walk (i32.sub (local.get $n) (i32.const 1))))))))`),
    [["fib", 15], ["walk", 30]],
  );
});

void test("a function at V8's 50000-local limit gets no fuel local: its loops keep the global", () => {
  // (local i32 x 50000) (loop (br_if 0 (i32.const 0)))
  const body = [0x01, ...uleb(50_000), 0x7f, 0x03, 0x40, 0x41, 0x00, 0x0d, 0x00, 0x0b, 0x0b];
  const bytes = moduleOf(
    section(1, vec([[0x60, 0x00, 0x00]])),
    section(3, vec([[0x00]])),
    section(7, vec([[...str("f"), 0x00, 0x00]])),
    section(10, vec([[...uleb(body.length), ...body]])),
  );
  assert.ok(WebAssembly.validate(bytes));
  const out = instrument(bytes, OPTS).bytes;
  assert.ok(WebAssembly.validate(out), "still within the limit");
  assert.deepEqual(parseModule(out).code[0]?.locals, [{ count: 50_000, type: "i32" }]);
  const guest = instantiateMetered(out, { slice: 3n });
  (guest.exports.f as () => void)();
  assert.equal(guest.consumed(), 3n + 2n, "entry: loop, end, end; one iteration: i32.const, br_if");
});
