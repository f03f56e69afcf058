// Rewrites one function body: fuel checks at the entry and after every `loop`, function
// indices remapped, `memory.grow` routed through the host.
//
// The fuel check (stack-neutral, no new locals):
//   global.get $fuel  i64.const COST  i64.sub  global.set $fuel
//   global.get $fuel  i64.const 0  i64.lt_s  if (empty)  call $refill  end
//
// COST — a static, deterministic count. Injection points are the function entry (after the
// local declarations) and the point just after each `loop <blocktype>` opcode. Each point heads a
// REGION of the body: a loop's region is the instructions strictly between its `loop` opcode and
// its matching `end`; the entry's region is the whole body, final `end` included. Instructions
// inside a nested loop belong to that loop's region only; the nested loop's own `loop` and `end`
// opcodes belong to the enclosing region (they run at most once per entry into the loop).
// COST at a point = max(1, number of original instructions in its region). Injected
// instructions are never counted.
//
// Why regions rather than "up to the next branch": control only moves backwards through a loop
// label, which enters that loop's region again and pays again, so between two payments each
// instruction of a region runs at most once. Fuel consumed is therefore an upper bound on the
// original instructions executed (exact for straight-line code, over-charging skipped branches)
// — code after the first branch of a loop body is never free.
import { ModuleMalformed } from "../../errors.js";
import { ByteWriter } from "./byte-writer.js";
import { InstructionCursor } from "./decode-instructions.js";
import type { Remap } from "./encode-sections.js";
import type { FunctionBody } from "./types.js";

export interface MeterIndices {
  readonly fuelGlobal: number;
  readonly refillFunc: number;
  readonly growFunc: number;
  readonly remap: Remap;
}

const OP = Object.freeze({
  block: 0x02,
  loop: 0x03,
  if: 0x04,
  end: 0x0b,
  call: 0x10,
  memoryGrow: 0x40,
  refFunc: 0xd2,
});

function cursorOver(bytes: Uint8Array, body: FunctionBody): InstructionCursor {
  return new InstructionCursor(bytes, { start: body.codeStart, end: body.end });
}

/** The COST of each injection point, in order (entry first, then each loop). Checks nesting. */
export function fuelCosts(bytes: Uint8Array, body: FunctionBody): number[] {
  const costs: number[] = [0];
  const regions: number[] = [0]; // index into `costs` of each open region, innermost last
  const blocks: boolean[] = []; // each open block: does it open a region (is it a loop)?
  let closed = false;
  const ins = cursorOver(bytes, body);
  while (ins.next()) {
    if (closed) throw new ModuleMalformed("instructions after the function's final end", ins.start);
    // A loop's `end` is counted after leaving the loop's region, its `loop` before entering it.
    if (ins.opcode === OP.end) {
      if (blocks.length === 0) closed = true;
      else if (blocks.pop() === true) regions.pop();
    }
    const region = regions[regions.length - 1] as number;
    costs[region] = (costs[region] as number) + 1;
    if (ins.opcode === OP.loop) {
      regions.push(costs.push(0) - 1);
      blocks.push(true);
    } else if (ins.opcode === OP.block || ins.opcode === OP.if) {
      blocks.push(false);
    }
  }
  if (!closed) throw new ModuleMalformed("function body is not closed by end", body.end);
  return costs.map((c) => Math.max(1, c));
}

function writeCharge(w: ByteWriter, cost: number, m: MeterIndices): void {
  w.byte(0x23).u32(m.fuelGlobal); // global.get
  w.byte(0x42).sleb(cost); // i64.const COST
  w.byte(0x7d); // i64.sub
  w.byte(0x24).u32(m.fuelGlobal); // global.set
  w.byte(0x23).u32(m.fuelGlobal); // global.get
  w.byte(0x42).byte(0x00); // i64.const 0
  w.byte(0x53); // i64.lt_s
  w.byte(0x04).byte(0x40); // if (empty)
  w.byte(0x10).u32(m.refillFunc); // call $refill
  w.byte(0x0b); // end
}

/** Appends the rewritten code entry (size field included) to `out`. */
export function rewriteBody(out: ByteWriter, bytes: Uint8Array, body: FunctionBody, m: MeterIndices): void {
  const costs = fuelCosts(bytes, body);
  let next = 0;
  const w = new ByteWriter(body.end - body.bodyStart + 64);
  w.range(bytes, body.bodyStart, body.codeStart); // local declarations, unchanged
  writeCharge(w, costs[next++] as number, m);
  // Unchanged instructions are copied in runs; `copied` is where the current run starts.
  let copied = body.codeStart;
  const ins = cursorOver(bytes, body);
  while (ins.next()) {
    switch (ins.opcode) {
      case OP.call:
      case OP.refFunc:
        w.range(bytes, copied, ins.start).byte(ins.opcode).u32(m.remap(ins.funcIndex as number));
        copied = ins.end;
        break;
      case OP.memoryGrow:
        w.range(bytes, copied, ins.start).byte(OP.call).u32(m.growFunc);
        copied = ins.end;
        break;
      case OP.loop:
        w.range(bytes, copied, ins.end);
        writeCharge(w, costs[next++] as number, m);
        copied = ins.end;
        break;
      default:
        break;
    }
  }
  w.range(bytes, copied, body.end);
  out.sized(w);
}
