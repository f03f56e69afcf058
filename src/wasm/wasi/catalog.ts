// Every wasi_snapshot_preview1 function: which grant it needs (for import vetting at load) and
// its core-Wasm signature (so the loader can refuse an import declared with the wrong types).

export type WasiNeed = "base" | "fs" | "env" | "clock" | "random" | "never";
export type WasiValType = "i32" | "i64";

export interface WasiSignature {
  readonly params: readonly WasiValType[];
  readonly results: readonly WasiValType[];
}

export const WASI_MODULE = "wasi_snapshot_preview1";

type Row = readonly [name: string, need: WasiNeed, params: string];

// params: one letter per parameter, i = i32, I = i64. Every function returns one i32 errno
// except proc_exit, which returns nothing.
const ROWS: readonly Row[] = [
  ["args_get", "base", "ii"],
  ["args_sizes_get", "base", "ii"],
  ["environ_get", "env", "ii"],
  ["environ_sizes_get", "env", "ii"],
  ["clock_res_get", "clock", "ii"],
  ["clock_time_get", "clock", "iIi"],
  ["fd_advise", "base", "iIIi"],
  ["fd_allocate", "base", "iII"],
  ["fd_close", "base", "i"],
  ["fd_datasync", "base", "i"],
  ["fd_fdstat_get", "base", "ii"],
  ["fd_fdstat_set_flags", "base", "ii"],
  ["fd_fdstat_set_rights", "base", "iII"],
  ["fd_filestat_get", "base", "ii"],
  ["fd_filestat_set_size", "base", "iI"],
  ["fd_filestat_set_times", "base", "iIIi"],
  ["fd_pread", "base", "iiiIi"],
  ["fd_prestat_get", "base", "ii"],
  ["fd_prestat_dir_name", "base", "iii"],
  ["fd_pwrite", "base", "iiiIi"],
  ["fd_read", "base", "iiii"],
  ["fd_readdir", "fs", "iiiIi"],
  ["fd_renumber", "base", "ii"],
  ["fd_seek", "base", "iIii"],
  ["fd_sync", "base", "i"],
  ["fd_tell", "base", "ii"],
  ["fd_write", "base", "iiii"],
  ["path_create_directory", "fs", "iii"],
  ["path_filestat_get", "fs", "iiiii"],
  ["path_filestat_set_times", "fs", "iiiiIIi"],
  ["path_link", "fs", "iiiiiii"],
  ["path_open", "fs", "iiiiiIIii"],
  ["path_readlink", "fs", "iiiiii"],
  ["path_remove_directory", "fs", "iii"],
  ["path_rename", "fs", "iiiiii"],
  ["path_symlink", "fs", "iiiii"],
  ["path_unlink_file", "fs", "iii"],
  ["poll_oneoff", "base", "iiii"],
  ["proc_exit", "base", "i"],
  ["proc_raise", "base", "i"],
  ["sched_yield", "base", ""],
  ["random_get", "random", "ii"],
  ["sock_accept", "never", "iii"],
  ["sock_recv", "never", "iiiiii"],
  ["sock_send", "never", "iiiii"],
  ["sock_shutdown", "never", "ii"],
];

/** The grant each preview1 function needs; `never` means cordon refuses the module at load. */
export const WASI_IMPORT_NEEDS: ReadonlyMap<string, WasiNeed> = new Map(ROWS.map(([name, need]) => [name, need]));

/** The core-Wasm type of each preview1 function. */
export const WASI_IMPORT_SIGNATURES: ReadonlyMap<string, WasiSignature> = new Map(
  ROWS.map(([name, , params]) => [
    name,
    Object.freeze({
      params: Object.freeze([...params].map((c): WasiValType => (c === "I" ? "i64" : "i32"))),
      results: Object.freeze(name === "proc_exit" ? [] : ["i32" as const]),
    }),
  ]),
);
