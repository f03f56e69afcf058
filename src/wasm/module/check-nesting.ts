// Nesting depth of one function body: every `block`, `loop` and `if` opens a label, its `end`
// closes it. The walk uses the allocation-free cursor, so it costs no memory whatever the body;
// a body deeper than the cap is refused at the instruction that went past it (the rewriter's
// label stack, which grows with the depth, never sees it). `try` never counts: the decoder
// refuses exception handling outright, as it refuses any other unsupported opcode here.
import { ModuleCapExceeded } from "../../errors.js";
import { InstructionCursor } from "./decode-instructions.js";
import type { ModuleCaps } from "./module-caps.js";
import type { ByteRange } from "./types.js";

const BLOCK = 0x02;
const LOOP = 0x03;
const IF = 0x04;
const END = 0x0b;

export function checkNesting(bytes: Uint8Array, code: ByteRange, caps: ModuleCaps): void {
  const cursor = new InstructionCursor(bytes, code);
  let depth = 0;
  while (cursor.next()) {
    const op = cursor.opcode;
    if (op === BLOCK || op === LOOP || op === IF) {
      if (++depth > caps.nestingDepth) throw new ModuleCapExceeded("nestingDepth", caps.nestingDepth, depth, cursor.start);
    } else if (op === END && depth > 0) {
      depth--;
    }
  }
}
