// Hand a compiled program to bwrap: `--seccomp FD` reads FD to EOF, so the bytes must sit in
// something readable from the start. Node has no memfd or pipe(2), so the program goes into a
// file in a fresh private directory that is removed again before this returns; what is left is
// a read-only descriptor to an unlinked file, which nothing else can open or change.

import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * A read-only fd whose content is exactly `program`, positioned at 0. Give it to ONE bwrap
 * (stdio entry 3+), then close it: bwrap consumes the shared file offset, so a second bwrap
 * reading the same fd would see an empty program.
 */
export function openFilterFd(program: Uint8Array, dir: string = tmpdir()): number {
  const privateDir = mkdtempSync(join(dir, "cordon-seccomp-"));
  try {
    const path = join(privateDir, "filter.bpf");
    const writer = openSync(path, "wx", 0o400);
    try {
      let written = 0;
      while (written < program.length) written += writeSync(writer, program, written, program.length - written);
    } finally {
      closeSync(writer);
    }
    return openSync(path, "r");
  } finally {
    rmSync(privateDir, { recursive: true, force: true });
  }
}
