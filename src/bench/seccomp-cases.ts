// What recording every seccomp denial costs: the same sandbox and program with the filter
// installed by cordon-seccomp-exec under the supervisor (every denial answered and reported)
// against bwrap --seccomp with the same rules as plain EPERM (no record), in the same run.
import { join } from "node:path";
import { compileFilter } from "../sandbox/seccomp/compile-filter.js";
import { runInProbeSandbox } from "../sandbox/seccomp/probe-sandbox.js";
import { DEFAULT_RULES } from "../sandbox/seccomp/rules.js";
import { REPO_ROOT } from "./guests.js";
import { timeSync, type Stats } from "./measure.js";
import { failedRow, type Row } from "./rows.js";

const NATIVE = join(REPO_ROOT, "build", "native");
const SUPERVISED = { launcher: join(NATIVE, "cordon-launch"), helper: join(NATIVE, "cordon-seccomp-exec") };
const DENIALS = 2_000;
const ALLOWED = 200_000;

const loop = (call: string, n: number) => `import ctypes\nlibc = ctypes.CDLL(None)\nf = ${call}\nfor _ in range(${n}): f()\n`;

function timeRun(mode: "notify" | "errno", argv: readonly [string, ...string[]], iterations: number): Stats {
  const program = compileFilter(DEFAULT_RULES, process.arch, mode);
  return timeSync({ warmup: 2, iterations }, () => {
    const r = runInProbeSandbox({ bwrap: "/usr/bin/bwrap", program, argv, timeoutMs: 60_000, ...(mode === "notify" ? { supervised: SUPERVISED } : {}) });
    if (r.status !== 0) throw new Error(`sandboxed run failed (${String(r.status)}): ${r.stderr.slice(0, 200)}`);
  });
}

export function benchSeccompSupervision(): Row[] {
  const rows: Row[] = [];
  const base = (id: string, label: string) => ({ id: `cells.seccomp.${id}`, section: "cells", label }) as const;
  try {
    const startErrno = timeRun("errno", ["/bin/true"], 30);
    const startNotify = timeRun("notify", ["/bin/true"], 30);
    rows.push({ ...base("start.errno", "sandbox start, bwrap --seccomp (denials unrecorded): /bin/true"), kind: "timing", stats: startErrno });
    rows.push({ ...base("start.notify", "sandbox start, supervised filter (cordon-launch + cordon-seccomp-exec): /bin/true"), kind: "timing", stats: startNotify, note: `+${Math.round(startNotify.p50Us - startErrno.p50Us)} µs p50 for the supervisor's fork and the helper's exec` });
    const py = (call: string, n: number): readonly [string, ...string[]] => ["/usr/bin/python3", "-I", "-S", "-c", loop(call, n)];
    const deniedErrno = timeRun("errno", py("lambda: libc.socket(2, 1, 0)", DENIALS), 8);
    const deniedNotify = timeRun("notify", py("lambda: libc.socket(2, 1, 0)", DENIALS), 8);
    const perDenial = Math.round(((deniedNotify.p50Us - deniedErrno.p50Us) / DENIALS) * 100) / 100;
    rows.push({ ...base("denials.errno", `${DENIALS} denied socket(AF_INET) calls, EPERM from the kernel (no record)`), kind: "timing", stats: deniedErrno });
    rows.push({ ...base("denials.notify", `${DENIALS} denied socket(AF_INET) calls, answered and reported by the supervisor`), kind: "timing", stats: deniedNotify, data: { perDenialUs: perDenial }, note: `${perDenial} µs more per denial (a round trip to the supervisor and one event line)` });
    const allowedErrno = timeRun("errno", py("libc.getppid", ALLOWED), 8);
    const allowedNotify = timeRun("notify", py("libc.getppid", ALLOWED), 8);
    rows.push({
      ...base("allowed", `${ALLOWED} allowed getppid() calls: supervised ÷ unsupervised filter`),
      kind: "ratio",
      ratio: Math.round((allowedNotify.p50Us / allowedErrno.p50Us) * 1000) / 1000,
      ratioOfMin: Math.round((allowedNotify.minUs / allowedErrno.minUs) * 1000) / 1000,
      metered: allowedNotify,
      unmetered: allowedErrno,
      input: "python3 ctypes loop",
    });
  } catch (err) {
    rows.push(failedRow(base("failed", "seccomp supervision"), err));
  }
  return rows;
}
