// Classic BPF as the kernel's seccomp loader takes it: an array of struct sock_filter
// { u16 code; u8 jt; u8 jf; u32 k; }, 8 bytes each, in host byte order (little-endian on both
// supported arches). Only the handful of opcodes the compiler emits are named here.

/** struct sock_filter */
export interface BpfInstruction {
  readonly code: number;
  readonly jt: number;
  readonly jf: number;
  readonly k: number;
}

export const BPF_INSTRUCTION_BYTES = 8;
/** BPF_MAXINSNS: the kernel refuses longer classic-BPF programs. */
export const BPF_MAX_INSTRUCTIONS = 4096;
/** A conditional jump's offsets are u8: at most this many instructions forward. */
export const BPF_MAX_JUMP = 255;

// opcode = class | size | mode   or   class | op | source
const BPF_LD = 0x00, BPF_W = 0x00, BPF_ABS = 0x20;
const BPF_JMP = 0x05, BPF_JEQ = 0x10, BPF_JGE = 0x30, BPF_JSET = 0x40, BPF_K = 0x00;
const BPF_RET = 0x06;

export const OP_LOAD_WORD = BPF_LD | BPF_W | BPF_ABS; // A = *(u32 *)(seccomp_data + k)
export const OP_JEQ = BPF_JMP | BPF_JEQ | BPF_K; // pc += (A == k) ? jt : jf
export const OP_JGE = BPF_JMP | BPF_JGE | BPF_K; // pc += (A >= k) ? jt : jf   (unsigned)
export const OP_JSET = BPF_JMP | BPF_JSET | BPF_K; // pc += (A & k) ? jt : jf
export const OP_RET = BPF_RET | BPF_K; // return k

// struct seccomp_data { int nr; u32 arch; u64 instruction_pointer; u64 args[6]; }
export const SECCOMP_DATA_NR = 0;
export const SECCOMP_DATA_ARCH = 4;
/** Offset of the low 32-bit word of args[i] (little-endian). */
export const argLowOffset = (i: number): number => 16 + 8 * i;
/** Offset of the high 32-bit word of args[i] (little-endian). */
export const argHighOffset = (i: number): number => 20 + 8 * i;

export const SECCOMP_RET_KILL_PROCESS = 0x80000000;
export const SECCOMP_RET_ERRNO = 0x00050000;
/** Stops the call until the supervisor holding the filter's listener answers it. */
export const SECCOMP_RET_USER_NOTIF = 0x7fc00000;
export const SECCOMP_RET_ALLOW = 0x7fff0000;

export const load = (offset: number): BpfInstruction => ({ code: OP_LOAD_WORD, jt: 0, jf: 0, k: offset });
export const jeq = (k: number, jt: number, jf: number): BpfInstruction => ({ code: OP_JEQ, jt, jf, k });
export const jge = (k: number, jt: number, jf: number): BpfInstruction => ({ code: OP_JGE, jt, jf, k });
export const jset = (k: number, jt: number, jf: number): BpfInstruction => ({ code: OP_JSET, jt, jf, k });
export const ret = (k: number): BpfInstruction => ({ code: OP_RET, jt: 0, jf: 0, k });

const fits = (n: number, max: number): boolean => Number.isInteger(n) && n >= 0 && n <= max;

/** The bytes of `program`, as struct sock_filter[] in little-endian order. */
export function encodeProgram(program: readonly BpfInstruction[]): Uint8Array {
  const bytes = new Uint8Array(program.length * BPF_INSTRUCTION_BYTES);
  const view = new DataView(bytes.buffer);
  program.forEach((insn, i) => {
    if (!fits(insn.code, 0xffff) || !fits(insn.jt, BPF_MAX_JUMP) || !fits(insn.jf, BPF_MAX_JUMP) || !fits(insn.k, 0xffffffff)) {
      throw new RangeError(`internal: BPF instruction ${i} does not fit struct sock_filter`);
    }
    const at = i * BPF_INSTRUCTION_BYTES;
    view.setUint16(at, insn.code, true);
    view.setUint8(at + 2, insn.jt);
    view.setUint8(at + 3, insn.jf);
    view.setUint32(at + 4, insn.k, true);
  });
  return bytes;
}
