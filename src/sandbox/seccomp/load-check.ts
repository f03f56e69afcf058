// Is seccomp, as cordon uses it, enforced on THIS host? Compile the real rule table, hand it
// to bwrap, and have a small program inside try three calls whose answers only an enforced
// filter gives: socket(AF_INET) -> EPERM (an argument rule), socket(AF_UNIX) -> success (the
// same syscall, allowed), clone3 -> ENOSYS (a second errno). Anything else -- no bwrap, bwrap
// refusing the program, a different answer -- and the tier that needs seccomp must not start.

import { CordonError } from "../../errors.js";
import { compileFilter } from "./compile-filter.js";
import { runInProbeSandbox } from "./probe-sandbox.js";
import { DEFAULT_RULES } from "./rules.js";
import { archSpec, syscallNumber } from "./syscall-table.js";
import { parseSeccompEvent } from "./supervisor-events.js";

export type SeccompCheck = { readonly ok: true } | { readonly ok: false; readonly missing: string };

export interface SeccompCheckOptions {
  /** The bwrap executable; default /usr/bin/bwrap. */
  readonly bwrap?: string;
  /** The probe interpreter, as a path inside the sandbox (only /usr is bound); default /usr/bin/python3. */
  readonly python?: string;
  /** Default `process.arch`. */
  readonly arch?: string;
  readonly timeoutMs?: number;
  /**
   * Check the path cells and tools use: cordon-launch supervising, cordon-seccomp-exec
   * installing the "notify" program. The socket(AF_INET) denial must then also come back as
   * the supervisor's event. Without it, bwrap --seccomp with the "errno" program.
   */
  readonly supervised?: { readonly launcher: string; readonly helper: string };
}

const EXPECTED = "EPERM OK ENOSYS";

// argv[1]: clone3's number. Each result is "OK" or the errno's name.
const PROBE = [
  "import ctypes, errno, sys",
  "libc = ctypes.CDLL(None, use_errno=True)",
  "libc.syscall.restype = ctypes.c_long",
  "def res(v): return 'OK' if v >= 0 else errno.errorcode.get(ctypes.get_errno(), str(ctypes.get_errno()))",
  "inet = res(libc.socket(2, 1, 0))",
  "unix = res(libc.socket(1, 1, 0))",
  "clone3 = res(libc.syscall(ctypes.c_long(int(sys.argv[1])), None, ctypes.c_long(0)))",
  "print(inet, unix, clone3)",
].join("\n");

/** `{ ok: true }` only when the compiled filter demonstrably holds inside bwrap here. */
export function checkSeccompWorks(options: SeccompCheckOptions = {}): SeccompCheck {
  const bwrap = options.bwrap ?? "/usr/bin/bwrap";
  const python = options.python ?? "/usr/bin/python3";
  const arch = options.arch ?? process.arch;
  let program: Uint8Array;
  let clone3: number;
  try {
    program = compileFilter(DEFAULT_RULES, arch, options.supervised === undefined ? "errno" : "notify");
    const nr = syscallNumber(archSpec(arch), "clone3");
    if (typeof nr !== "number") return { ok: false, missing: `no clone3 number for ${arch}` };
    clone3 = nr;
  } catch (err) {
    if (err instanceof CordonError) return { ok: false, missing: `seccomp filter (${err.code}): ${err.message}` };
    throw err;
  }

  const timeoutMs = options.timeoutMs ?? 5000;
  const run = runInProbeSandbox({ bwrap, program, argv: [python, "-I", "-S", "-c", PROBE, String(clone3)], timeoutMs, ...(options.supervised === undefined ? {} : { supervised: options.supervised }) });
  if (run.error !== undefined) {
    const code = (run.error as NodeJS.ErrnoException).code ?? run.error.name;
    if (code === "ETIMEDOUT") return { ok: false, missing: `the bwrap --seccomp probe did not finish within ${timeoutMs} ms` };
    return { ok: false, missing: `cannot run ${bwrap} (${code})` };
  }
  if (run.status !== 0) {
    const said = run.stderr.trim().split("\n")[0] ?? "";
    const how = run.signal === null ? `status ${String(run.status)}` : `signal ${run.signal}`;
    return { ok: false, missing: `bwrap --seccomp probe ended with ${how}: ${said}` };
  }
  const got = run.stdout.trim();
  if (got !== EXPECTED) {
    return {
      ok: false,
      missing: `the filter is not enforced: socket(AF_INET), socket(AF_UNIX), clone3 gave "${got}", expected "${EXPECTED}"`,
    };
  }
  if (options.supervised !== undefined) {
    const events = run.events.split("\n").filter((l) => l !== "").map((l) => parseSeccompEvent(l, archSpec(arch)));
    const denied = events.filter((e) => e.kind === "denied").map((e) => (e.kind === "denied" ? e.syscall : ""));
    if (denied.join(",") !== "socket") {
      return { ok: false, missing: `the seccomp supervisor did not report exactly the one denial (socket): ${JSON.stringify(events).slice(0, 200)}` };
    }
  }
  return { ok: true };
}
