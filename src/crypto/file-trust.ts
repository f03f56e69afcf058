// Reading the files cordon trusts: private keys, the pinned trust root, the version state.
// Each file is opened once, checked with fstat on the open descriptor (a regular file, the
// right owner, no group/world access that matters) and read from that same descriptor, so a
// rename between the check and the read cannot substitute another file.
import { closeSync, constants, fstatSync, openSync, readSync, statSync } from "node:fs";

/**
 * `secret`: a private key; only its owner may read or write it (mode & 077 == 0).
 * `trusted`: a public key or state whose integrity matters; nobody but its owner (or root)
 * may write it (mode & 022 == 0).
 */
export type Exposure = "secret" | "trusted";

/** Files cordon trusts are small; a larger one is refused before it is read. */
export const MAX_TRUSTED_FILE_BYTES = 1024 * 1024;

/** The current user id; injected by tests that check the owner rule. */
export function currentUid(): number {
  return process.getuid?.() ?? -1;
}

function octal(mode: number): string {
  return `0${(mode & 0o777).toString(8).padStart(3, "0")}`;
}

/** Why a file or directory with this owner and mode must not be trusted, or null. Pure. */
export function exposureProblem(st: { readonly uid: number; readonly mode: number }, exposure: Exposure, uid: number): string | null {
  const rootOwned = exposure === "trusted" && st.uid === 0;
  if (st.uid !== uid && !rootOwned) return `owned by uid ${st.uid}, not by the current uid ${uid}`;
  const perm = st.mode & 0o777;
  if (exposure === "secret" && (perm & 0o077) !== 0) return `mode ${octal(perm)} gives group/others access; it must be 0600 (chmod 600)`;
  if (exposure === "trusted" && (perm & 0o022) !== 0) return `mode ${octal(perm)} lets group/others write it (chmod go-w)`;
  return null;
}

/** Why a directory holding trusted files must not be trusted, or null. */
export function directoryProblem(dir: string, uid: number): string | null {
  let st;
  try {
    st = statSync(dir);
  } catch (err) {
    return `directory ${dir} cannot be read: ${(err as NodeJS.ErrnoException).code ?? "error"}`;
  }
  if (!st.isDirectory()) return `${dir} is not a directory`;
  const problem = exposureProblem(st, "trusted", uid);
  return problem === null ? null : `directory ${dir} is ${problem}`;
}

export type ReadResult = { readonly ok: true; readonly bytes: Buffer } | { readonly ok: false; readonly reason: string; readonly missing: boolean };

/** Opens `path`, checks the open file, and reads it from the same descriptor. */
export function readCheckedFile(path: string, exposure: Exposure, uid: number): ReadResult {
  let fd: number;
  try {
    // O_NONBLOCK: a FIFO planted at the path is refused by the isFile check instead of blocking.
    fd = openSync(path, constants.O_RDONLY | constants.O_NOCTTY | constants.O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? "error";
    return { ok: false, reason: `cannot open: ${code}`, missing: code === "ENOENT" };
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) return { ok: false, reason: "not a regular file", missing: false };
    const problem = exposureProblem(st, exposure, uid);
    if (problem !== null) return { ok: false, reason: problem, missing: false };
    if (st.size > MAX_TRUSTED_FILE_BYTES) return { ok: false, reason: `${st.size} bytes, over the ${MAX_TRUSTED_FILE_BYTES}-byte cap`, missing: false };
    const bytes = Buffer.alloc(st.size);
    let at = 0;
    while (at < bytes.byteLength) {
      const n = readSync(fd, bytes, at, bytes.byteLength - at, at);
      if (n === 0) break;
      at += n;
    }
    if (at !== bytes.byteLength) return { ok: false, reason: "file shrank while it was read", missing: false };
    return { ok: true, bytes };
  } finally {
    closeSync(fd);
  }
}
