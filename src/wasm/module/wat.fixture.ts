// Test support (not imported by library code): WAT text -> module bytes via wabt, and a tiny
// hand assembler for binaries wabt will not produce (malformed ones, exotic encodings).
import wabt from "wabt";

type Wabt = Awaited<ReturnType<typeof wabt>>;
type Features = Parameters<Wabt["parseWat"]>[2];

export interface WatCompiler {
  (src: string, features?: Features): Uint8Array<ArrayBuffer>;
}

export const ALL_FEATURES: NonNullable<Features> = {
  sat_float_to_int: true,
  sign_extension: true,
  simd: true,
  multi_value: true,
  bulk_memory: true,
  reference_types: true,
  mutable_globals: true,
};

/** A compiler that writes the name section (so stack traces and name tests have names). */
export async function watCompiler(): Promise<WatCompiler> {
  const w = await wabt();
  return (src, features = ALL_FEATURES) => {
    const mod = w.parseWat("fixture.wat", src, features);
    try {
      mod.resolveNames();
      // wabt.js's validate takes the feature set too (its typings omit the parameter).
      (mod.validate.bind(mod) as (f: Features) => void)(features);
      return new Uint8Array(mod.toBinary({ write_debug_names: true }).buffer);
    } finally {
      mod.destroy();
    }
  };
}

/** Disassembles (for failure messages and cross-checks). Throws on bytes wabt cannot read. */
export async function wasmReader(): Promise<(bytes: Uint8Array, features?: Features) => void> {
  const w = await wabt();
  return (bytes, features = ALL_FEATURES) => {
    w.readWasm(bytes, { readDebugNames: false, check: false, ...features }).destroy();
  };
}

export function uleb(n: number): number[] {
  const out: number[] = [];
  let v = n;
  do {
    let b = v % 128;
    v = Math.floor(v / 128);
    if (v !== 0) b |= 0x80;
    out.push(b);
  } while (v !== 0);
  return out;
}

export function str(s: string): number[] {
  const b = [...new TextEncoder().encode(s)];
  return [...uleb(b.length), ...b];
}

export function section(id: number, content: readonly number[]): number[] {
  return [id, ...uleb(content.length), ...content];
}

export function vec(items: readonly (readonly number[])[]): number[] {
  return [...uleb(items.length), ...items.flat()];
}

export const HEADER: readonly number[] = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];

export function moduleOf(...sections: readonly (readonly number[])[]): Uint8Array<ArrayBuffer> {
  return Uint8Array.from([...HEADER, ...sections.flat()]);
}

/** A module with one `[] -> []` function whose body is `code` (locals none, `end` appended). */
export function moduleWithBody(code: readonly number[]): Uint8Array<ArrayBuffer> {
  const body = [0x00, ...code, 0x0b];
  return moduleOf(
    section(1, vec([[0x60, 0x00, 0x00]])),
    section(3, vec([[0x00]])),
    section(5, vec([[0x00, 0x01]])),
    section(10, vec([[...uleb(body.length), ...body]])),
  );
}
