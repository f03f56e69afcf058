// cordon's own WASI preview1 subset, with jailed preopens. See host.ts and jail.ts.

export { WasiHost } from "./host.js";
export type { WasiFunction } from "./host.js";
export { WasiExit } from "./exit.js";
export { WASI_IMPORT_NEEDS, WASI_IMPORT_SIGNATURES, WASI_MODULE } from "./catalog.js";
export type { WasiNeed, WasiSignature, WasiValType } from "./catalog.js";
export { Errno as WasiErrno } from "./constants.js";
export type { Preopen, WasiDenial, WasiOptions } from "./types.js";
