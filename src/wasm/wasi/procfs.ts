// Small helpers for procfs magic links, shared by the jail and directory listing.

import fs from "node:fs";

/** Linux O_PATH on x86-64, arm64, arm, riscv64, ppc64, s390x; Jail.open verifies it by probe. */
export const O_PATH = 0o10000000;
export const PROC_FD = "/proc/self/fd";

/** The magic-link path of fd `fd`, or of `name` inside the directory fd `fd`. */
export function fdPath(fd: number, name?: Buffer): Buffer {
  const base = Buffer.from(`${PROC_FD}/${fd}`);
  return name === undefined ? base : Buffer.concat([base, Buffer.from("/"), name]);
}

/** The `code` of a Node system error, if `e` is one. */
export function errCode(e: unknown): string | undefined {
  return typeof e === "object" && e !== null && "code" in e && typeof e.code === "string" ? e.code : undefined;
}

/** lstat of `name` inside directory fd `dirFd`, or null if it vanished meanwhile. */
export function lstatAt(dirFd: number, name: Buffer): fs.BigIntStats | null {
  try {
    return fs.lstatSync(fdPath(dirFd, name), { bigint: true });
  } catch {
    return null;
  }
}
