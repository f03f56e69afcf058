// The instruction sequences metering injects (COST is in fuel-cost.ts, placement and branch
// fix-ups in rewrite-body.ts). Every sequence is stack-neutral.
//
// CHARGE subtracts COST from the fuel and leaves "fuel < 0" (i32) on the stack. Fuel lives in
// the global $fuel, except inside a CACHED region (an outermost call-free loop, with everything
// nested in it), where it lives in one added i64 local $f:
//   global: global.get $fuel  i64.const COST  i64.sub  global.set $fuel  global.get $fuel
//           i64.const 0  i64.lt_s
//   cached: local.get $f  i64.const COST  i64.sub  local.tee $f  i64.const 0  i64.lt_s
// A cached region loads $f from $fuel on entry and WRITES BACK ($fuel := $f) on every way out:
// falling out of its loop, `return`, a branch to a label outside it, and before any refill. So
// the host sees exact fuel whenever it can look (a refill, or the guest returning or calling
// out); only a trap inside a region loses the fuel charged since the region was entered (at
// most one slice). Why: a global's decrement is a store->load chain through memory on every
// iteration; in a tiny loop that chain, not the check, is the cost (cpu-burn: 1.4x -> ~1.05x).
// Loops that call keep the global: syncing around each call costs more than it saves.
//
// If/call — at every function entry (always global), and at a `loop` whose block type has
// params:
//   CHARGE  if (empty)  [write back]  call $refill  [$f := $fuel]  end
//
// Trampoline — every `loop BT` whose block type has no params (0x40, a value type, or a type
// index whose function type takes nothing) becomes:
//   [$f := $fuel, when it opens a cached region]
//   block $done BT       ;; the loop's own block type: its results leave through here
//     loop $r            ;; 0x40
//       block $x         ;; 0x40
//         loop $l BT     ;; the original loop: branches to it still land on its header
//           CHARGE  br_if 1                        ;; -> $x
//           ...original body (branch depths fixed up)...
//         end
//         [write back, when it closes a cached region]
//         br 2           ;; -> $done, carrying the loop's results
//       end
//       [write back]  call $refill  CREDIT         ;; CREDIT: fuel := $fuel + COST
//       br 0           ;; -> $r: re-enter the loop at its header
//     end
//     unreachable      ;; $r never falls through
//   end
// The cold `call $refill` sits outside the original loop, so the hot loop holds no call and
// V8's TurboFan neither spills around it nor refuses to unroll it (if/call in a tight loop costs
// 2.3x; this shape ~1.0x). Re-entering is exact: the loop's stack is empty at its header (no
// params), its state lives in locals, and nothing of the iteration had run when the check
// fired. CREDIT makes the re-entry's charge cancel, so fuel consumed is the same as with
// if/call whatever the slice size; and as re-entry only proceeds when the refilled fuel is
// >= 0, a refill that grants nothing (and does not throw) is simply asked again.
import type { ByteWriter } from "./byte-writer.js";
import type { BlockType } from "./decode-instructions.js";
import type { FuncType } from "./types.js";

/** What a body rewrite needs to emit checks and remap indices. */
export interface MeterIndices {
  readonly fuelGlobal: number;
  readonly refillFunc: number;
  readonly growFunc: number;
  readonly remap: (funcIndex: number) => number;
  /** The module's types (block types that name a type index are looked up here). */
  readonly types: readonly FuncType[];
  /** Keep fuel in a local inside call-free loops (false: always the global; for tests). */
  readonly cacheFuel: boolean;
}

/** Where the fuel is at an injection point: the cached local's index, or null for the global. */
export type FuelSlot = number | null;

/** Labels a trampoline puts between the original loop and its enclosing label. */
export const TRAMPOLINE_LABELS = 3;

const OP = Object.freeze({
  unreachable: 0x00,
  block: 0x02,
  loop: 0x03,
  if: 0x04,
  end: 0x0b,
  br: 0x0c,
  brIf: 0x0d,
  call: 0x10,
  localGet: 0x20,
  localSet: 0x21,
  localTee: 0x22,
  globalGet: 0x23,
  globalSet: 0x24,
  i64Const: 0x42,
  i64LtS: 0x53,
  i64Add: 0x7c,
  i64Sub: 0x7d,
  empty: 0x40,
});

/** Params (for a loop: its branch arity) and results of a block type. */
export function blockArity(blockType: BlockType | null, types: readonly FuncType[]): { params: number; results: number } {
  if (blockType === null || blockType.kind === "empty") return { params: 0, results: 0 };
  if (blockType.kind === "value") return { params: 0, results: 1 };
  const t = types[blockType.typeIndex];
  return { params: t?.params.length ?? 0, results: t?.results.length ?? 0 };
}

function writeCharge(w: ByteWriter, cost: number, m: MeterIndices, f: FuelSlot): void {
  if (f === null) {
    w.byte(OP.globalGet).u32(m.fuelGlobal).byte(OP.i64Const).sleb(cost).byte(OP.i64Sub);
    w.byte(OP.globalSet).u32(m.fuelGlobal).byte(OP.globalGet).u32(m.fuelGlobal);
  } else {
    w.byte(OP.localGet).u32(f).byte(OP.i64Const).sleb(cost).byte(OP.i64Sub).byte(OP.localTee).u32(f);
  }
  w.byte(OP.i64Const).byte(0x00).byte(OP.i64LtS);
}

/** $fuel := $f (nothing when the fuel is in the global). */
export function writeBack(w: ByteWriter, m: MeterIndices, f: FuelSlot): void {
  if (f !== null) w.byte(OP.localGet).u32(f).byte(OP.globalSet).u32(m.fuelGlobal);
}

/** $f := $fuel: opens a cached region. */
export function writeLoad(w: ByteWriter, m: MeterIndices, f: number): void {
  w.byte(OP.globalGet).u32(m.fuelGlobal).byte(OP.localSet).u32(f);
}

/** The if/call check. */
export function writeIfCheck(w: ByteWriter, cost: number, m: MeterIndices, f: FuelSlot): void {
  writeCharge(w, cost, m, f);
  w.byte(OP.if).byte(OP.empty);
  writeBack(w, m, f);
  w.byte(OP.call).u32(m.refillFunc);
  if (f !== null) writeLoad(w, m, f);
  w.byte(OP.end);
}

/**
 * A trampoline's head, up to and including the original loop's check. `loop` is the original
 * `loop` instruction's bytes (opcode and block type), copied as they are.
 */
export function writeTrampolineHead(w: ByteWriter, loop: Uint8Array, cost: number, m: MeterIndices, f: FuelSlot): void {
  w.byte(OP.block).bytes(loop.subarray(1)); // $done: the loop's block type
  w.byte(OP.loop).byte(OP.empty).byte(OP.block).byte(OP.empty); // $r, $x
  w.bytes(loop); // $l
  writeCharge(w, cost, m, f);
  w.byte(OP.brIf).byte(1);
}

/**
 * A trampoline's tail, after the original loop's `end`. `leaving`: this loop closes a cached
 * region (write back before falling out).
 */
export function writeTrampolineTail(w: ByteWriter, cost: number, m: MeterIndices, f: FuelSlot, leaving: boolean): void {
  if (leaving) writeBack(w, m, f);
  w.byte(OP.br).byte(2).byte(OP.end); // -> $done; end $x
  writeBack(w, m, f);
  w.byte(OP.call).u32(m.refillFunc);
  w.byte(OP.globalGet).u32(m.fuelGlobal).byte(OP.i64Const).sleb(cost).byte(OP.i64Add);
  if (f === null) w.byte(OP.globalSet).u32(m.fuelGlobal);
  else w.byte(OP.localSet).u32(f);
  w.byte(OP.br).byte(0).byte(OP.end); // -> $r; end $r
  w.byte(OP.unreachable).byte(OP.end); // end $done
}

/** `br_if depth` that writes back first when taken: `if (empty) $fuel := $f  br depth+1  end`. */
export function writeBrIfLeaving(w: ByteWriter, depth: number, m: MeterIndices, f: number): void {
  w.byte(OP.if).byte(OP.empty);
  writeBack(w, m, f);
  w.byte(OP.br).u32(depth + 1).byte(OP.end);
}
