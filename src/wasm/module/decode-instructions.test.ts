import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { ModuleMalformed, ModuleRefused } from "../../errors.js";
import { decodeInstructions } from "./decode-instructions.js";
import type { Instruction } from "./decode-instructions.js";
import { parseModule } from "./parse-module.js";
import { miscImmediate, simdImmediate } from "./prefixed-opcodes.js";
import { moduleWithBody, uleb, watCompiler } from "./wat.fixture.js";

const wat = await watCompiler();

const KITCHEN_SINK = wat(`(module
  (type $pair (func (param i32) (result i32 i32)))
  (memory 1) (table $t 2 funcref) (table $u 2 externref)
  (data $d "abc") (elem $e func $f)
  (global $g (mut i64) (i64.const -9223372036854775808))
  (func $f (param i32) (result i32) (local f64 v128)
    (block $b (result i32)
      (i32.const 1)
      (loop $l (type $pair) (i32.const 2) (br_if $b (i32.const 0)))
      (if (type $pair) (then (drop) (i32.const 3) (i32.const 4)) (else (drop) (i32.const 5) (i32.const 6)))
      (drop) (drop)
      (br_table $b $b $b (i32.const 9) (i32.const 0))
    )
    (drop)
    (call $f (i32.const 0)) (drop)
    (call_indirect $t (param i32) (result i32) (i32.const 7) (i32.const 0)) (drop)
    (drop (ref.func $f)) (drop (ref.is_null (ref.null extern)))
    (drop (table.get $u (i32.const 0))) (table.set $u (i32.const 0) (ref.null extern))
    (drop (select (result i32) (i32.const 1) (i32.const 2) (i32.const 0)))
    (drop (i32.load offset=4 align=2 (i32.const 0))) (i64.store8 (i32.const 0) (i64.const 1))
    (drop (memory.size)) (drop (memory.grow (i32.const 0)))
    (drop (f32.const 1.5)) (drop (f64.const -2.25)) (global.set $g (i64.const 0x7fffffffffffffff))
    (drop (i32.extend8_s (i32.const 255))) (drop (i32.trunc_sat_f64_u (f64.const 1)))
    (memory.init $d (i32.const 0) (i32.const 0) (i32.const 1)) (data.drop $d)
    (memory.copy (i32.const 0) (i32.const 1) (i32.const 1)) (memory.fill (i32.const 0) (i32.const 0) (i32.const 1))
    (table.init $t $e (i32.const 0) (i32.const 0) (i32.const 1)) (elem.drop $e)
    (table.copy $t $t (i32.const 0) (i32.const 1) (i32.const 1))
    (drop (table.grow $u (ref.null extern) (i32.const 1))) (drop (table.size $u))
    (table.fill $u (i32.const 0) (ref.null extern) (i32.const 1))
    (local.set 2 (v128.const i32x4 1 2 3 4))
    (local.set 2 (i8x16.shuffle 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 31 (local.get 2) (local.get 2)))
    (drop (i32x4.extract_lane 3 (local.get 2)))
    (local.set 2 (v128.load32_lane offset=8 1 (i32.const 0) (local.get 2)))
    (v128.store64_lane 1 (i32.const 0) (local.get 2))
    (local.set 2 (v128.load8x8_s (i32.const 0)))
    (drop (i32x4.dot_i16x8_s (local.get 2) (local.get 2)))
    (local.get 0)
  )
)`);

function bodyInstructions(bytes: Uint8Array, index = 0): Instruction[] {
  const body = parseModule(bytes).code[index];
  assert.ok(body !== undefined);
  return [...decodeInstructions(bytes, { start: body.codeStart, end: body.end })];
}

void test("decodeInstructions tiles a body covering every supported family exactly", () => {
  const body = parseModule(KITCHEN_SINK).code[0];
  assert.ok(body !== undefined);
  const ins = bodyInstructions(KITCHEN_SINK);
  let at = body.codeStart;
  for (const i of ins) {
    assert.equal(i.start, at, "instructions are contiguous");
    at = i.end;
  }
  assert.equal(at, body.end);
  assert.equal(ins.at(-1)?.opcode, 0x0b);
  const prefixed = new Set(ins.filter((i) => i.subOpcode !== null).map((i) => `${i.opcode}:${i.subOpcode}`));
  for (const sub of [3, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17]) assert.ok(prefixed.has(`252:${sub}`), `0xfc ${sub}`);
  for (const sub of [0x0c, 0x0d, 0x1b, 0x56, 0x5b, 0x01, 0xba]) assert.ok(prefixed.has(`253:${sub}`), `0xfd ${sub}`);
});

void test("decodeInstructions reports function indices and block types", () => {
  const ins = bodyInstructions(KITCHEN_SINK);
  assert.deepEqual(ins.filter((i) => i.opcode === 0x10 || i.opcode === 0xd2).map((i) => [i.opcode, i.funcIndex]), [
    [0x10, 0],
    [0xd2, 0],
  ]);
  const blocks = ins.filter((i) => i.blockType !== null).map((i) => [i.opcode, i.blockType]);
  assert.deepEqual(blocks, [
    [0x02, { kind: "value", valType: "i32" }],
    [0x03, { kind: "type", typeIndex: 0 }],
    [0x04, { kind: "type", typeIndex: 0 }],
  ]);
  const empty = [...decodeInstructions(Uint8Array.of(0x02, 0x40, 0x0b), { start: 0, end: 3 })];
  assert.deepEqual(empty[0]?.blockType, { kind: "empty" });
});

function refused(code: readonly number[], what: RegExp): void {
  const bytes = Uint8Array.from(code);
  assert.throws(() => [...decodeInstructions(bytes, { start: 0, end: bytes.length })], (err: unknown) => {
    assert.ok(err instanceof ModuleRefused, `expected ModuleRefused, got ${String(err)}`);
    assert.equal(err.reason, "unsupported-feature");
    assert.match(err.detail, what);
    return true;
  });
}

void test("decodeInstructions refuses every unsupported proposal, naming it and the byte", () => {
  refused([0x01, 0x06, 0x40], /exception handling \(opcode 0x06\) at byte 1/);
  refused([0x08, 0x00], /exception handling/);
  refused([0x1f, 0x40, 0x00], /exception handling/);
  refused([0x12, 0x00], /tail call/);
  refused([0x13, 0x00, 0x00], /tail call/);
  refused([0x14, 0x00], /typed function references/);
  refused([0xfb, 0x00], /GC/);
  refused([0xfe, 0x00, 0x02, 0x00], /threads/);
  refused([0x3f, 0x01], /multi-memory/);
  refused([0x40, 0x02], /multi-memory/);
  refused([0x28, 0x42, 0x01, 0x00], /multi-memory/);
  refused([0xfc, 0x0a, 0x00, 0x01], /multi-memory/);
  refused([0xfd, 0x80, 0x02], /0xfd 256/); // relaxed SIMD
  refused([0xfc, 0x12], /0xfc 18/);
  refused([0x27], /unknown opcode 0x27/);
  refused([0xd0, 0x6e], /heap type/);
  refused([0x02, 0x64, 0x00], /type 0x64/);
});

void test("decodeInstructions accepts a multi-memory encoding of memory 0", () => {
  const code = Uint8Array.of(0x28, 0x42, 0x00, 0x04, 0x3f, 0x80, 0x00);
  assert.deepEqual([...decodeInstructions(code, { start: 0, end: code.length })].map((i) => i.end), [4, 7]);
});

void test("decodeInstructions rejects truncated or mis-encoded immediates as malformed", () => {
  for (const code of [[0x41], [0x41, 0x80], [0x44, 0, 0, 0], [0xfd, 0x0c, 1, 2], [0x0e, 0x02, 0x00], [0x02, 0xff, 0x7f], [0xfd]]) {
    const bytes = Uint8Array.from(code);
    assert.throws(() => [...decodeInstructions(bytes, { start: 0, end: bytes.length })], ModuleMalformed, `${code.join(",")}`);
  }
});

// The opcode tables are checked against the engine: after `unreachable` every instruction
// type-checks, so V8 accepts the body exactly when it knows the opcode and its immediates.
function v8Accepts(code: readonly number[]): boolean {
  try {
    new WebAssembly.Module(moduleWithBody(code));
    return true;
  } catch (err) {
    return !/opcode/i.test((err as Error).message);
  }
}

void test("the SIMD opcode table (0xfd 0..255) agrees with V8, immediates included", () => {
  const imm = { memarg: [0, 0], v128: Array<number>(16).fill(0), shuffle: Array<number>(16).fill(0), lane: [0], "memarg-lane": [0, 0, 0], none: [] };
  for (let op = 0; op <= 0xff; op++) {
    const shape = simdImmediate(op);
    const code = [0x00, 0xfd, ...uleb(op), ...imm[shape ?? "none"], 0x00];
    assert.equal(WebAssembly.validate(moduleWithBody(code)), shape !== null, `0xfd ${op}`);
    if (shape !== null) {
      const bytes = Uint8Array.from([...code, 0x0b]);
      assert.deepEqual([...decodeInstructions(bytes, { start: 0, end: bytes.length })].map((i) => i.opcode), [0x00, 0xfd, 0x00, 0x0b]);
    }
  }
});

void test("the 0xfc opcode table agrees with V8", () => {
  const imm = { none: [], "data-mem": [0, 0], data: [0], "mem-mem": [0, 0], mem: [0], "elem-table": [0, 0], elem: [0], "table-table": [0, 0], table: [0] };
  for (let op = 0; op < 0x20; op++) {
    const shape = miscImmediate(op);
    assert.equal(v8Accepts([0x00, 0xfc, ...uleb(op), ...imm[shape ?? "none"], 0x00]), shape !== null, `0xfc ${op}`);
  }
});

void test("fuzz: decoding random bytes yields instructions or fails typed", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 64 }), (b) => {
      try {
        let at = 0;
        for (const i of decodeInstructions(b, { start: 0, end: b.length })) {
          assert.ok(i.start === at && i.end > i.start && i.end <= b.length);
          at = i.end;
        }
        return true;
      } catch (err) {
        if (err instanceof ModuleMalformed || err instanceof ModuleRefused) return true;
        throw err;
      }
    }),
    { numRuns: 20000 },
  );
});
