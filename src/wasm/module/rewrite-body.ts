// Rewrites one function body: fuel checks at the entry and at every loop header, branch depths
// fixed up around the labels loop trampolines add, fuel cached in a local inside call-free
// loops, function indices remapped, `memory.grow` routed through the host. The shapes are in
// fuel-checks.ts, COST in fuel-cost.ts, the depth rule in label-stack.ts.
//
// Per loop: no params -> trampoline, else if/call. A trampolined loop whose region holds no call
// and that is not already inside a cached region opens one (when the function can take one more
// local), and everything nested in it uses the cached fuel local. Inside a region, before any
// way out: `return` and `br_table` write back first; `br_if` to a label outside writes back only
// when taken (`if $fuel := $f  br  end`) when it carries no values, and always otherwise; a `br`
// writes back first. Branch immediates are re-encoded only when they change.
import { ModuleMalformed } from "../../errors.js";
import { ByteReader } from "./byte-reader.js";
import { ByteWriter } from "./byte-writer.js";
import { InstructionCursor } from "./decode-instructions.js";
import {
  blockArity,
  writeBack,
  writeBrIfLeaving,
  writeIfCheck,
  writeLoad,
  writeTrampolineHead,
  writeTrampolineTail,
} from "./fuel-checks.js";
import type { FuelSlot, MeterIndices } from "./fuel-checks.js";
import { fuelPlan } from "./fuel-cost.js";
import { LabelStack } from "./label-stack.js";
import type { FuncType, FunctionBody } from "./types.js";

export type { MeterIndices } from "./fuel-checks.js";

/** V8 refuses a function with more locals (params included) than this. */
const MAX_LOCALS = 50_000;

const OP = Object.freeze({
  block: 0x02,
  loop: 0x03,
  if: 0x04,
  end: 0x0b,
  br: 0x0c,
  brIf: 0x0d,
  brTable: 0x0e,
  return: 0x0f,
  call: 0x10,
  callIndirect: 0x11,
  memoryGrow: 0x40,
  refFunc: 0xd2,
});

interface Branch {
  /** The original depth of the first target. */
  readonly first: number;
  /** Fixed-up depths (`br_table`: each entry, then the default). */
  readonly depths: number[];
  readonly changed: boolean;
  /** Does any target leave the cached region? */
  readonly leaves: boolean;
}

function readBranch(bytes: Uint8Array, ins: InstructionCursor, labels: LabelStack): Branch {
  const r = new ByteReader(bytes, ins.start + 1, ins.end);
  const count = ins.opcode === OP.brTable ? r.count() + 1 : 1;
  const depths: number[] = [];
  let first = 0;
  let changed = false;
  let leaves = false;
  for (let i = 0; i < count; i++) {
    const depth = r.u32();
    if (i === 0) first = depth;
    const fixed = labels.fixed(depth, ins.start);
    changed ||= fixed !== depth;
    leaves ||= labels.leaves(depth, ins.start);
    depths.push(fixed);
  }
  return { first, depths, changed, leaves };
}

/** Writes a branch that needs rewriting, writing back first when it leaves the region. */
function writeBranch(w: ByteWriter, op: number, b: Branch, m: MeterIndices, f: FuelSlot): void {
  if (b.leaves) writeBack(w, m, f);
  w.byte(op);
  if (op === OP.brTable) w.u32(b.depths.length - 1);
  for (const d of b.depths) w.u32(d);
}

/**
 * Appends the rewritten code entry (size field included) to `out`. `type` is the function's
 * own type.
 */
export function rewriteBody(out: ByteWriter, bytes: Uint8Array, body: FunctionBody, type: FuncType, m: MeterIndices): void {
  const plan = fuelPlan(bytes, body);
  const w = new ByteWriter(body.end - body.bodyStart + 64);
  // The cached fuel local comes after every param and local; declared only if a region opens.
  const locals = type.params.length + body.locals.reduce((n, g) => n + g.count, 0);
  const local: FuelSlot = m.cacheFuel && locals < MAX_LOCALS ? locals : null;
  let regions = 0;
  writeIfCheck(w, plan.costs[0] as number, m, null);
  const labels = new LabelStack(type.results.length);
  let next = 1;
  // Unchanged instructions are copied in runs; `copied` is where the current run starts.
  let copied = body.codeStart;
  const ins = new InstructionCursor(bytes, { start: body.codeStart, end: body.end });
  while (ins.next()) {
    const f = labels.inRegion ? local : null;
    switch (ins.opcode) {
      case OP.block:
      case OP.if:
        labels.push(blockArity(ins.blockType, m.types).results, -1, false);
        break;
      case OP.loop: {
        const index = next++;
        const cost = plan.costs[index] as number;
        const params = blockArity(ins.blockType, m.types).params;
        const trampolined = params === 0;
        const opens = trampolined && local !== null && !labels.inRegion && plan.callFree[index] === true;
        w.range(bytes, copied, ins.start);
        if (opens) {
          writeLoad(w, m, local);
          regions++;
        }
        const slot = opens ? local : f;
        if (trampolined) writeTrampolineHead(w, bytes.subarray(ins.start, ins.end), cost, m, slot);
        else writeIfCheck(w.range(bytes, ins.start, ins.end), cost, m, slot);
        labels.push(params, trampolined ? cost : -1, opens);
        copied = ins.end;
        break;
      }
      case OP.end: {
        if (labels.empty) throw new ModuleMalformed("instructions after the function's final end", ins.start);
        const closes = labels.topOpensRegion;
        const credit = labels.pop();
        if (credit >= 0) {
          writeTrampolineTail(w.range(bytes, copied, ins.end), credit, m, f, closes);
          copied = ins.end;
        }
        break;
      }
      case OP.br:
      case OP.brIf:
      case OP.brTable: {
        if (labels.flat) break;
        const b = readBranch(bytes, ins, labels);
        if (!b.changed && !(b.leaves && f !== null)) break;
        w.range(bytes, copied, ins.start);
        if (b.leaves && f !== null && ins.opcode === OP.brIf && labels.arityOf(b.first, ins.start) === 0) {
          writeBrIfLeaving(w, b.depths[0] as number, m, f);
        } else {
          writeBranch(w, ins.opcode, b, m, f);
        }
        copied = ins.end;
        break;
      }
      case OP.return:
        if (f === null) break;
        writeBack(w.range(bytes, copied, ins.start), m, f);
        copied = ins.start;
        break;
      case OP.call:
      case OP.callIndirect:
      case OP.refFunc:
      case OP.memoryGrow:
        // fuelPlan keeps regions call-free: a callee would charge the global behind $f's back
        if (f !== null && ins.opcode !== OP.refFunc) throw new Error("internal: a call inside a cached fuel region");
        if (ins.opcode === OP.callIndirect) break;
        w.range(bytes, copied, ins.start);
        if (ins.opcode === OP.memoryGrow) w.byte(OP.call).u32(m.growFunc);
        else w.byte(ins.opcode).u32(m.remap(ins.funcIndex as number));
        copied = ins.end;
        break;
      default:
        break;
    }
  }
  w.range(bytes, copied, body.end);
  const decls = new ByteReader(bytes, body.bodyStart, body.codeStart);
  const groups = decls.u32();
  const entry = new ByteWriter(w.length + body.codeStart - body.bodyStart + 8);
  if (regions > 0) entry.u32(groups + 1).range(bytes, decls.pos, body.codeStart).u32(1).byte(0x7e); // + (local $f i64)
  else entry.range(bytes, body.bodyStart, body.codeStart);
  out.sized(entry.bytes(w.finish()));
}
