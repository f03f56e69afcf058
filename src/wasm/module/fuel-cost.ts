// The static half of metering: where the checks go, what each charges (COST), and which loops
// may keep fuel in a local (call-free loops, see rewrite-body.ts).
//
// COST — a static, deterministic count. Checks sit at the function entry (after the local
// declarations) and at the header of every `loop` (just after its `loop <blocktype>` opcode;
// fuel-checks.ts has the shapes). Each check heads a REGION of the body: a loop's region is the
// instructions strictly between its `loop` opcode and its matching `end`; the entry's region is
// the whole body, final `end` included. Instructions inside a nested loop belong to that loop's
// region only; the nested loop's own `loop` and `end` opcodes belong to the enclosing region
// (they run at most once per entry into the loop). COST at a check = max(1, number of original
// instructions in its region). Injected instructions are never counted.
//
// Why regions rather than "up to the next branch": control only moves backwards through a loop
// label, which enters that loop's region again and pays again, so between two payments each
// instruction of a region runs at most once. Fuel consumed is therefore an upper bound on the
// original instructions executed (exact for straight-line code, over-charging skipped branches)
// — code after the first branch of a loop body is never free.
import { ModuleMalformed } from "../../errors.js";
import { InstructionCursor } from "./decode-instructions.js";
import type { FunctionBody } from "./types.js";

const OP = Object.freeze({
  block: 0x02,
  loop: 0x03,
  if: 0x04,
  end: 0x0b,
  call: 0x10,
  callIndirect: 0x11,
  memoryGrow: 0x40,
});

export interface FuelPlan {
  /** The COST of each check, in order: the entry first, then each loop in opcode order. */
  readonly costs: readonly number[];
  /**
   * Parallel to `costs`: does the region, nested loops included, contain no call (`call`,
   * `call_indirect`, or `memory.grow`, which becomes a call)?
   */
  readonly callFree: readonly boolean[];
}

/** Scans a body once for its FuelPlan. Checks nesting. */
export function fuelPlan(bytes: Uint8Array, body: FunctionBody): FuelPlan {
  const costs: number[] = [0];
  const calls: boolean[] = [false];
  const regions: number[] = [0]; // index into `costs` of each open region, innermost last
  const blocks: boolean[] = []; // each open block: does it open a region (is it a loop)?
  let closed = false;
  const ins = new InstructionCursor(bytes, { start: body.codeStart, end: body.end });
  while (ins.next()) {
    if (closed) throw new ModuleMalformed("instructions after the function's final end", ins.start);
    const op = ins.opcode;
    // A loop's `end` is counted after leaving the loop's region, its `loop` before entering it.
    if (op === OP.end) {
      if (blocks.length === 0) closed = true;
      else if (blocks.pop() === true) {
        const inner = regions.pop() as number;
        const outer = regions[regions.length - 1] as number;
        calls[outer] = (calls[outer] as boolean) || (calls[inner] as boolean);
      }
    }
    const region = regions[regions.length - 1] as number;
    costs[region] = (costs[region] as number) + 1;
    if (op === OP.loop) {
      regions.push(costs.push(0) - 1);
      calls.push(false);
      blocks.push(true);
    } else if (op === OP.block || op === OP.if) {
      blocks.push(false);
    } else if (op === OP.call || op === OP.callIndirect || op === OP.memoryGrow) {
      calls[region] = true;
    }
  }
  if (!closed) throw new ModuleMalformed("function body is not closed by end", body.end);
  return { costs: costs.map((c) => Math.max(1, c)), callFree: calls.map((c) => !c) };
}
