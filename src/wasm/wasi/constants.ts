// WASI preview1 numbers (from the witx definitions of wasi_snapshot_preview1) and the mapping
// from Node's error codes to WASI errno values. Plain data: nothing here does I/O.

/** WASI preview1 errno values (the subset cordon returns, plus what host errors map to). */
export const Errno = {
  SUCCESS: 0,
  TOOBIG: 1,
  ACCES: 2,
  AGAIN: 6,
  BADF: 8,
  BUSY: 10,
  DQUOT: 19,
  EXIST: 20,
  FAULT: 21,
  FBIG: 22,
  ILSEQ: 25,
  INTR: 27,
  INVAL: 28,
  IO: 29,
  ISDIR: 31,
  LOOP: 32,
  MFILE: 33,
  MLINK: 34,
  NAMETOOLONG: 37,
  NFILE: 41,
  NODEV: 43,
  NOENT: 44,
  NOMEM: 48,
  NOSPC: 51,
  NOSYS: 52,
  NOTDIR: 54,
  NOTEMPTY: 55,
  NOTSUP: 58,
  NXIO: 60,
  OVERFLOW: 61,
  PERM: 63,
  PIPE: 64,
  ROFS: 69,
  SPIPE: 70,
  STALE: 72,
  TXTBSY: 74,
  XDEV: 75,
  NOTCAPABLE: 76,
} as const;

const NODE_CODE_TO_ERRNO: Readonly<Record<string, number>> = {
  E2BIG: Errno.TOOBIG,
  EACCES: Errno.ACCES,
  EAGAIN: Errno.AGAIN,
  EWOULDBLOCK: Errno.AGAIN,
  EBADF: Errno.BADF,
  EBUSY: Errno.BUSY,
  EDQUOT: Errno.DQUOT,
  EEXIST: Errno.EXIST,
  EFAULT: Errno.FAULT,
  EFBIG: Errno.FBIG,
  EILSEQ: Errno.ILSEQ,
  EINTR: Errno.INTR,
  EINVAL: Errno.INVAL,
  EIO: Errno.IO,
  EISDIR: Errno.ISDIR,
  ELOOP: Errno.LOOP,
  EMFILE: Errno.MFILE,
  EMLINK: Errno.MLINK,
  ENAMETOOLONG: Errno.NAMETOOLONG,
  ENFILE: Errno.NFILE,
  ENODEV: Errno.NODEV,
  ENOENT: Errno.NOENT,
  ENOMEM: Errno.NOMEM,
  ENOSPC: Errno.NOSPC,
  ENOSYS: Errno.NOSYS,
  ENOTDIR: Errno.NOTDIR,
  ENOTEMPTY: Errno.NOTEMPTY,
  ENOTSUP: Errno.NOTSUP,
  EOPNOTSUPP: Errno.NOTSUP,
  ENXIO: Errno.NXIO,
  EOVERFLOW: Errno.OVERFLOW,
  EPERM: Errno.PERM,
  EPIPE: Errno.PIPE,
  EROFS: Errno.ROFS,
  ESPIPE: Errno.SPIPE,
  ESTALE: Errno.STALE,
  ETXTBSY: Errno.TXTBSY,
  EXDEV: Errno.XDEV,
};

/** The WASI errno for a Node system error code, or null if `code` is not a system error. */
export function errnoForNodeCode(code: string): number | null {
  if (Object.hasOwn(NODE_CODE_TO_ERRNO, code)) return NODE_CODE_TO_ERRNO[code] ?? Errno.IO;
  // Any other E* code is a host failure the guest cannot act on; ERR_* codes are Node's own
  // argument validation, i.e. a bug here, and must not be disguised as an errno.
  return /^E[A-Z0-9]+$/.test(code) ? Errno.IO : null;
}

export const FileType = {
  UNKNOWN: 0,
  BLOCK_DEVICE: 1,
  CHARACTER_DEVICE: 2,
  DIRECTORY: 3,
  REGULAR_FILE: 4,
  SOCKET_DGRAM: 5,
  SOCKET_STREAM: 6,
  SYMBOLIC_LINK: 7,
} as const;

/** Rights bits (u64), in witx order. */
export const Rights = {
  FD_DATASYNC: 1n << 0n,
  FD_READ: 1n << 1n,
  FD_SEEK: 1n << 2n,
  FD_FDSTAT_SET_FLAGS: 1n << 3n,
  FD_SYNC: 1n << 4n,
  FD_TELL: 1n << 5n,
  FD_WRITE: 1n << 6n,
  FD_ADVISE: 1n << 7n,
  FD_ALLOCATE: 1n << 8n,
  PATH_CREATE_DIRECTORY: 1n << 9n,
  PATH_CREATE_FILE: 1n << 10n,
  PATH_LINK_SOURCE: 1n << 11n,
  PATH_LINK_TARGET: 1n << 12n,
  PATH_OPEN: 1n << 13n,
  FD_READDIR: 1n << 14n,
  PATH_READLINK: 1n << 15n,
  PATH_RENAME_SOURCE: 1n << 16n,
  PATH_RENAME_TARGET: 1n << 17n,
  PATH_FILESTAT_GET: 1n << 18n,
  PATH_FILESTAT_SET_SIZE: 1n << 19n,
  PATH_FILESTAT_SET_TIMES: 1n << 20n,
  FD_FILESTAT_GET: 1n << 21n,
  FD_FILESTAT_SET_SIZE: 1n << 22n,
  FD_FILESTAT_SET_TIMES: 1n << 23n,
  PATH_SYMLINK: 1n << 24n,
  PATH_REMOVE_DIRECTORY: 1n << 25n,
  PATH_UNLINK_FILE: 1n << 26n,
  POLL_FD_READWRITE: 1n << 27n,
  SOCK_SHUTDOWN: 1n << 28n,
  SOCK_ACCEPT: 1n << 29n,
} as const;

const R = Rights;

/** Rights a regular file can actually exercise here (no advise/allocate/set-times: ENOSYS). */
export const FILE_RIGHTS =
  R.FD_DATASYNC | R.FD_READ | R.FD_SEEK | R.FD_FDSTAT_SET_FLAGS | R.FD_SYNC | R.FD_TELL |
  R.FD_WRITE | R.FD_FILESTAT_GET | R.FD_FILESTAT_SET_SIZE | R.POLL_FD_READWRITE;

/** The file rights that imply writing; requesting any of them on a read-only preopen is refused. */
export const FILE_WRITE_RIGHTS = R.FD_WRITE | R.FD_ALLOCATE | R.FD_FILESTAT_SET_SIZE;

/** Rights of a directory in a read-only preopen. */
export const DIR_READ_RIGHTS =
  R.FD_DATASYNC | R.FD_SYNC | R.PATH_OPEN | R.FD_READDIR | R.PATH_FILESTAT_GET | R.FD_FILESTAT_GET;

/** Rights of a directory in a writable preopen (links, symlinks and set-times are never granted). */
export const DIR_WRITE_RIGHTS =
  DIR_READ_RIGHTS | R.PATH_CREATE_DIRECTORY | R.PATH_CREATE_FILE | R.PATH_RENAME_SOURCE |
  R.PATH_RENAME_TARGET | R.PATH_FILESTAT_SET_SIZE | R.PATH_REMOVE_DIRECTORY | R.PATH_UNLINK_FILE;

/**
 * What a directory passes on to what is opened through it. For read-only preopens this still
 * includes the write rights, on purpose: wasi-libc derives its request from it, so an
 * `open(O_WRONLY)` reaches path_open and is refused there, loudly, instead of silently yielding
 * a descriptor whose writes fail later.
 */
export const INHERITABLE_RIGHTS = FILE_RIGHTS | FILE_WRITE_RIGHTS | DIR_WRITE_RIGHTS;

export const STDIN_RIGHTS = R.FD_READ | R.POLL_FD_READWRITE;
export const STDOUT_RIGHTS = R.FD_WRITE | R.POLL_FD_READWRITE;

export const OFlags = { CREAT: 1, DIRECTORY: 2, EXCL: 4, TRUNC: 8 } as const;
export const FdFlags = { APPEND: 1, DSYNC: 2, NONBLOCK: 4, RSYNC: 8, SYNC: 16 } as const;
export const LookupFlags = { SYMLINK_FOLLOW: 1 } as const;
export const Whence = { SET: 0, CUR: 1, END: 2 } as const;
export const ClockId = { REALTIME: 0, MONOTONIC: 1, PROCESS_CPUTIME: 2, THREAD_CPUTIME: 3 } as const;
export const PREOPEN_TYPE_DIR = 0;

/** Sizes of the structs written into guest memory. */
export const Size = { IOVEC: 8, FDSTAT: 24, FILESTAT: 64, PRESTAT: 8, DIRENT: 24 } as const;

/** Host-side bounds that keep one host call cheap (host calls are not fuel-metered). */
export const Bound = {
  /** Linux IOV_MAX. */
  MAX_IOVS: 1024,
  /** Longest guest path accepted (Linux PATH_MAX). */
  MAX_PATH: 4096,
  /** Path text kept in a denial event. */
  DENIAL_PATH_CHARS: 256,
  /** Most bytes moved by one host read/write (Linux's own per-call maximum); longer is a short read. */
  MAX_IO_CHUNK: 0x7fff_f000,
  /** crypto.getRandomValues fills at most this much per call. */
  RANDOM_CHUNK: 65536,
} as const;
