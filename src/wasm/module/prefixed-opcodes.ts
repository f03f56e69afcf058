// Immediate shapes of the 0xFC (saturating truncation, bulk memory, reference-typed tables) and
// 0xFD (fixed-width SIMD) opcode spaces. Relaxed SIMD (0xFD 0x100+) is not included: its
// results differ between hosts, and nothing cordon runs needs it.

export type SimdImmediate = "none" | "memarg" | "v128" | "shuffle" | "lane" | "memarg-lane";

/** Sub-opcodes between 0x5e and 0xff that the SIMD proposal leaves unassigned. */
function isUnassignedSimd(op: number): boolean {
  switch (op) {
    case 0x9a:
    case 0xa2:
    case 0xa5:
    case 0xa6:
    case 0xaf:
    case 0xb0:
    case 0xb2:
    case 0xb3:
    case 0xb4:
    case 0xbb:
    case 0xc2:
    case 0xc5:
    case 0xc6:
    case 0xcf:
    case 0xd0:
    case 0xd2:
    case 0xd3:
    case 0xd4:
    case 0xe2:
    case 0xee:
      return true;
    default:
      return false;
  }
}

/** The immediate of a 0xFD sub-opcode, or null when it is not a (fixed-width) SIMD opcode. */
export function simdImmediate(op: number): SimdImmediate | null {
  if (op <= 0x0b) return "memarg"; // v128.load*, v128.store
  if (op === 0x0c) return "v128"; // v128.const
  if (op === 0x0d) return "shuffle"; // i8x16.shuffle
  if (op <= 0x14) return "none"; // swizzle, splats
  if (op <= 0x22) return "lane"; // extract_lane / replace_lane
  if (op <= 0x53) return "none"; // comparisons, bitwise, any_true
  if (op <= 0x5b) return "memarg-lane"; // load*_lane / store*_lane
  if (op <= 0x5d) return "memarg"; // load32_zero, load64_zero
  if (op <= 0xff) return isUnassignedSimd(op) ? null : "none";
  return null;
}

export type MiscImmediate =
  | "none"
  | "data-mem" // memory.init
  | "data" // data.drop
  | "mem-mem" // memory.copy
  | "mem" // memory.fill
  | "elem-table" // table.init
  | "elem" // elem.drop
  | "table-table" // table.copy
  | "table"; // table.grow / size / fill

/** The immediate of a 0xFC sub-opcode, or null when it is not one cordon supports. */
export function miscImmediate(op: number): MiscImmediate | null {
  switch (op) {
    case 0:
    case 1:
    case 2:
    case 3:
    case 4:
    case 5:
    case 6:
    case 7:
      return "none"; // iNN.trunc_sat_fMM_s/u
    case 8:
      return "data-mem";
    case 9:
      return "data";
    case 10:
      return "mem-mem";
    case 11:
      return "mem";
    case 12:
      return "elem-table";
    case 13:
      return "elem";
    case 14:
      return "table-table";
    case 15:
    case 16:
    case 17:
      return "table";
    default:
      return null;
  }
}
