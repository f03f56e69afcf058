// Probes for the OS sandbox around cells. Each opens a real cell (the policy's first wasm
// tool, with its real grants), makes the cell attack one of its own walls through the native
// hostile fixture, and reads the result plus the kernel's counters.
import { existsSync } from "node:fs";
import type { LoadedTool } from "../policy/load-policy.js";
import { cellOf, isAlive } from "../runtime/runtime.js";
import { openProbeSession, selftest, spoilingSigner, type SelftestResult } from "./probe-session.js";
import type { Session } from "../runtime/session.js";
import { CellExited, LaunchRefused } from "../cell/cell-process.js";
import type { CellHost } from "../cell/cell-hosts.js";
import type { Probe, ProbeEnv, ProbeOutcome } from "./types.js";

const EPERM = 1;

function firstWasmTool(env: ProbeEnv): LoadedTool {
  const tool = [...env.runtime.policy.tools.values()].find((t) => t.tier === "wasm");
  if (tool === undefined) throw new Error("no wasm tool in the policy");
  return tool;
}

/** A session in the probe cell: the real sandbox, with the self-attacks and forged frames on request. */
async function inCell(env: ProbeEnv, body: (session: Session) => Promise<ProbeOutcome>): Promise<ProbeOutcome> {
  const session = await openProbeSession(env.runtime, "probe:tier", [firstWasmTool(env)], { hostileCell: true });
  try {
    return await body(session);
  } finally {
    await env.runtime.closeSession(session);
  }
}

/**
 * A syscall the cell's filter denies: EPERM for the fixture, and the supervisor's live record of
 * it (the seccomp wall records itself; the selftest's own record names no enforcer).
 */
function seccompProbe(spec: string, syscall: string, what: string): Probe {
  return (env) =>
    inCell(env, async (session) => {
      const before = env.runtime.audit.head?.seq ?? 0;
      const r = await selftest(env.runtime, session, spec);
      const liveNow = () => env.runtime.audit.recordsAfter(before).filter((x) => x.type === "sandbox.denied" && x.enforcer === "seccomp");
      // The supervisor's line and the cell's answer travel on different pipes: wait for the line, bounded.
      for (let waited = 0; liveNow().length === 0 && waited < 2_000; waited += 10) await new Promise((res) => setTimeout(res, 10));
      const live = liveNow();
      const named = live.length === 1 && live[0]?.["syscall"] === syscall && live[0]["session"] === session.id;
      const stopped = !r.succeeded && r.errno === EPERM && named;
      return { stopped, detail: stopped ? `${what}: EPERM, recorded live (sandbox.denied seq ${live[0]?.seq ?? "?"})` : `NOT stopped: ${JSON.stringify(r.report)}; live records ${live.map((x) => JSON.stringify(x["syscall"])).join(",") || "none"}` };
    });
}

function errnoProbe(spec: string, expect: (r: SelftestResult) => boolean, what: string): Probe {
  return (env) =>
    inCell(env, async (session) => {
      const r = await selftest(env.runtime, session, spec);
      const stopped = !r.succeeded && expect(r);
      return { stopped, detail: stopped ? `${what}: errno ${r.errno}` : `NOT stopped: ${JSON.stringify(r.report)}` };
    });
}

export const cellSocketInet = seccompProbe("socket-inet", "socket", "socket(AF_INET) refused by seccomp");
export const cellConnect = seccompProbe("connect-unix", "connect", "connect() refused by seccomp");
export const cellPtrace = seccompProbe("ptrace", "ptrace", "ptrace(ATTACH) refused by seccomp");
export const cellMount = seccompProbe("mount", "mount", "mount() refused by seccomp");
export const cellUnshare = seccompProbe("unshare", "unshare", "unshare(NEWUSER) refused by seccomp");
const ENOENT = 2;
const EROFS = 30;
export const cellReadShadow = errnoProbe("read /etc/shadow", (r) => r.errno === ENOENT, "/etc/shadow is not in the cell");
export const cellReadHome = errnoProbe("read /root/.bashrc", (r) => r.errno === ENOENT, "no home directory in the cell");
export const cellWriteSystem = errnoProbe("write /usr/bin/pwned", (r) => r.errno === EROFS, "/usr is read-only in the cell");

export const cellEnviron: Probe = (env) =>
  inCell(env, async (session) => {
    const r = await selftest(env.runtime, session, "environ");
    const report = r.report as { names?: string[]; procEnvironBytes?: number } | null;
    const stopped = (report?.names?.length ?? -1) === 0 && report?.procEnvironBytes === 0;
    return { stopped, detail: stopped ? "empty environment; /proc/self/environ is empty" : `environment leaked: ${JSON.stringify(report?.names)}` };
  });

export const cellFds: Probe = (env) =>
  inCell(env, async (session) => {
    const r = await selftest(env.runtime, session, "fds");
    const fds = ((r.report as { fds?: Array<{ fd: number }> } | null)?.fds ?? []).map((f) => f.fd);
    const stopped = fds.join(",") === "0,1,2";
    return { stopped, detail: stopped ? "a child of the cell holds only fds 0, 1, 2" : `extra fds: ${fds.join(",")}` };
  });

export const cellForkBomb: Probe = (env) =>
  inCell(env, async (session) => {
    const r = await selftest(env.runtime, session, "fork-bomb");
    const forked = (r.report as { forked?: number } | null)?.forked ?? -1;
    const stopped = forked >= 0 && r.pidsMaxHits > 0;
    return { stopped, detail: stopped ? `fork refused after ${forked} children; pids.events max=${r.pidsMaxHits}` : `NOT capped: ${JSON.stringify(r.report)}` };
  });

export const cellMemHog: Probe = (env) =>
  inCell(env, async (session) => {
    const r = await selftest(env.runtime, session, "mem-hog 4096");
    const stopped = r.signal === "SIGKILL" && r.oomKills > 0;
    return { stopped, detail: stopped ? `hog OOM-killed; memory.oom_control oom_kill=${r.oomKills}` : `NOT capped: ${JSON.stringify(r)}` };
  });

function frameProbe(spec: string): Probe {
  return (env) =>
    inCell(env, async (session) => {
      const host = cellOf(session.toolHost) as CellHost;
      const before = env.runtime.audit.head?.seq ?? 0;
      const refused = await host.process.selftest(spec).then(() => false, (err: unknown) => err instanceof CellExited);
      // Not any crash: the guard itself must have named the violation (its record is appended
      // asynchronously; wait for it, bounded, rather than for a fixed time).
      const guardedNow = () => env.runtime.audit.recordsAfter(before).some((r) => r.type === "cell.killed" && r.enforcer === "frame-guard");
      for (let waited = 0; !guardedNow() && waited < 2_000; waited += 10) await new Promise((r) => setTimeout(r, 10));
      const guarded = guardedNow();
      const stopped = refused && guarded && !host.process.alive;
      return { stopped, detail: stopped ? `${spec}: the cell was killed` : "the forged frame was accepted" };
    });
}

export const cellForgeSession = frameProbe("forge-session");
export const cellOversizedFrame = frameProbe("oversized-frame");

/** A launch statement the cell must refuse: a flipped payload bit, or a digest for other bytes. */
function launchProbe(tamper: "signature" | "digest", what: string): Probe {
  return async (env) => {
    try {
      const session = await openProbeSession(env.runtime, "probe:tier", [firstWasmTool(env)], { signer: spoilingSigner(env.runtime.launchSigner, tamper) });
      await env.runtime.closeSession(session);
      return { stopped: false, detail: `the cell served a session under a ${what}` };
    } catch (err) {
      const stopped = err instanceof LaunchRefused;
      return { stopped, detail: stopped ? `refused by the cell: ${err.reason}` : `not refused by the cell (${(err as Error).message})` };
    }
  };
}

export const launchTampered = launchProbe("signature", "statement with a flipped bit");
export const launchMismatch = launchProbe("digest", "validly signed statement naming other module bytes");

export const cellLeftovers: Probe = async (env) => {
  const session = await openProbeSession(env.runtime, "probe:tier", [firstWasmTool(env)], { hostileCell: true });
  const host = cellOf(session.toolHost) as CellHost;
  await host.process.selftest("fork-bomb").catch(() => undefined);
  const dirs = Object.values(host.process.cgroup?.paths ?? {});
  const pids = host.process.cgroup?.pids() ?? [];
  await env.runtime.closeSession(session);
  const survivors = pids.filter(isAlive);
  const stopped = pids.length > 0 && survivors.length === 0 && dirs.every((d) => !existsSync(d));
  return { stopped, detail: stopped ? `${pids.length} processes and the cell's cgroups gone at session end` : `survivors: ${survivors.join(",")}` };
};

/** A cell that stops answering mid-call: killed at the backstop deadline, the call failed typed. */
export const cellHang: Probe = async (env) => {
  const real = firstWasmTool(env);
  // A short deadline keeps the probe quick; the backstop is that plus the fixed grace.
  const tool = Object.freeze({ ...real, limits: { ...real.limits, wallClockMs: 100 }, validateInput: () => [] });
  const session = await openProbeSession(env.runtime, "probe:tier", [tool], { hostileCell: true });
  try {
    const host = cellOf(session.toolHost) as CellHost;
    await host.process.selftest("hang-next-call");
    const started = performance.now();
    const r = await session.call(tool.name, {});
    const waited = Math.round(performance.now() - started);
    const fields = r.ok ? {} : r.error.fields();
    const stopped = !r.ok && r.error.code === "ERR_CELL_EXITED" && fields["signal"] === "backstop-deadline" && !host.process.alive;
    return { stopped, detail: stopped ? `the hung cell was killed at the backstop (${waited} ms for a 100 ms tool deadline)` : `NOT stopped: ${r.ok ? "answered" : r.error.code}` };
  } finally {
    await env.runtime.closeSession(session);
  }
};
