// Baseline: the same original (uninstrumented) module under Node's own WASI. Never used by
// cordon itself (node:wasi follows symlinks out of preopens); here only to compare against.
//
// node:wasi reads stdin from and writes stdout to real file descriptors, so each call writes
// its input to a temporary file, opens it and a fresh stdout file, runs, reads the output back
// and closes both. That file I/O is part of what a per-call host built on node:wasi must do,
// so it is inside the timed region.
import { closeSync, fstatSync, mkdtempSync, openSync, readSync, rmSync, writeFileSync } from "node:fs";
import { devNull, tmpdir } from "node:os";
import { join } from "node:path";
// eslint-disable-next-line no-restricted-imports -- baseline only
import { WASI } from "node:wasi";

export class NodeWasiRunner {
  readonly #dir = mkdtempSync(join(tmpdir(), "cordon-bench-node-wasi-"));
  readonly #stdinPath = join(this.#dir, "stdin");
  readonly #stdoutPath = join(this.#dir, "stdout");
  readonly #stderr = openSync(devNull, "w");

  constructor(
    private readonly module: WebAssembly.Module,
    private readonly name: string,
  ) {}

  /** One fresh instance: returns its stdout; throws on a non-zero exit status. */
  run(input: Uint8Array): Uint8Array {
    return this.#withStdio(input, (stdin, stdout) => {
      const wasi = new WASI({ version: "preview1", args: [this.name], env: {}, stdin, stdout, stderr: this.#stderr, returnOnExit: true });
      const instance = new WebAssembly.Instance(this.module, wasi.getImportObject() as WebAssembly.Imports);
      const code = wasi.start(instance);
      if (code !== 0) throw new Error(`${this.name} exited with status ${code} under node:wasi`);
    });
  }

  /** The stdio file work of `run` alone, with no WASI and no instance: its share of a call. */
  stdioOnly(input: Uint8Array): Uint8Array {
    return this.#withStdio(input, () => undefined);
  }

  #withStdio(input: Uint8Array, body: (stdin: number, stdout: number) => void): Uint8Array {
    writeFileSync(this.#stdinPath, input);
    const stdin = openSync(this.#stdinPath, "r");
    const stdout = openSync(this.#stdoutPath, "w+");
    try {
      body(stdin, stdout);
      const out = new Uint8Array(fstatSync(stdout).size);
      readSync(stdout, out, 0, out.length, 0);
      return out;
    } finally {
      closeSync(stdin);
      closeSync(stdout);
    }
  }

  close(): void {
    closeSync(this.#stderr);
    rmSync(this.#dir, { recursive: true, force: true });
  }
}
