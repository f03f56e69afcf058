/**
 * Thrown out of proc_exit to unwind the guest. Deliberately not a CordonError: exiting is the
 * guest's normal way to finish, and the engine catches this to read `code`.
 */
export class WasiExit extends Error {
  constructor(readonly code: number) {
    super(`guest called proc_exit(${code})`);
    this.name = "WasiExit";
  }
}
