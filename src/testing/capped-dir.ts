// Tests that grant a writable directory need one the kernel caps (disk-quota): a small,
// noexec tmpfs on a fresh temporary directory. Root only, as the tiers that use it are.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { mountTmpfs, unmountTmpfs } from "../sandbox/tmpfs.js";

export interface CappedDir {
  readonly dir: string;
  remove(): void;
}

export function cappedDir(prefix: string, sizeBytes = 16 * 1024 * 1024): CappedDir {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  mountTmpfs(dir, { sizeBytes, inodes: 4096, uid: 0, gid: 0, exec: false });
  return {
    dir,
    remove: () => {
      unmountTmpfs(dir);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
