// Test support: just enough WASI preview1 to run a command module that reads stdin, writes
// stdout and exits (fd_read, fd_write, proc_exit), such as examples/modules/cpu-burn.wasm.

export class Exit extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}

export interface MiniWasi {
  readonly imports: WebAssembly.Imports;
  /** Binds the instance's memory (once instantiated, before it runs). */
  bind(memory: WebAssembly.Memory | undefined): void;
  /** Everything written to fd 1 so far, as UTF-8. */
  stdout(): string;
}

/** Just enough WASI for a command that reads stdin, writes stdout and exits. */
export function miniWasi(stdin: Uint8Array): MiniWasi {
  let bound: WebAssembly.Memory | undefined;
  const memory = (): WebAssembly.Memory => {
    if (bound === undefined) throw new Error("miniWasi: no memory bound");
    return bound;
  };
  let read = 0;
  const out: Uint8Array[] = [];
  const iovecs = (iovs: number, len: number): [number, number][] => {
    const v = new DataView(memory().buffer);
    return Array.from({ length: len }, (_, k) => [v.getUint32(iovs + 8 * k, true), v.getUint32(iovs + 8 * k + 4, true)]);
  };
  const wasi = {
    fd_read: (fd: number, iovs: number, len: number, nread: number): number => {
      let total = 0;
      for (const [p, l] of fd === 0 ? iovecs(iovs, len) : []) {
        const n = Math.min(l, stdin.length - read);
        new Uint8Array(memory().buffer, p, n).set(stdin.subarray(read, read + n));
        read += n;
        total += n;
      }
      new DataView(memory().buffer).setUint32(nread, total, true);
      return 0;
    },
    fd_write: (fd: number, iovs: number, len: number, written: number): number => {
      let total = 0;
      for (const [p, l] of iovecs(iovs, len)) {
        if (fd === 1) out.push(new Uint8Array(memory().buffer, p, l).slice());
        total += l;
      }
      new DataView(memory().buffer).setUint32(written, total, true);
      return 0;
    },
    proc_exit: (code: number): never => {
      throw new Exit(code);
    },
  };
  return {
    imports: { wasi_snapshot_preview1: wasi },
    bind: (m) => {
      bound = m;
    },
    stdout: () => Buffer.concat(out).toString("utf8"),
  };
}

export function runCommand(start: () => void): number {
  try {
    start();
    return 0;
  } catch (err) {
    if (err instanceof Exit) return err.code;
    throw err;
  }
}
