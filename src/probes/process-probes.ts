// Probes for the process tier. Each runs the native hostile fixture as a variant of a real
// process tool (its limits, its grants, the same sandbox, a fresh cgroup per call) and checks
// what the wall did. Limits (pids, memory, deadline, output) are recorded by the runtime as it
// enforces them; walls whose refusal is silent in the kernel (seccomp's EPERM, a missing file)
// are recorded here from the fixture's report, as the cell probes do.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Json } from "../errors.js";
import type { Grant } from "../types/tool.js"
import type { ProcessTool } from "../policy/load-policy.js";
import { NO_OUTPUT_CHECK } from "../policy/output-check.js";
import { SessionHost } from "../runtime/session-host.js";
import { PROCESS_ENV } from "../process/process-plan.js";
import { isAlive } from "../runtime/runtime.js";
import type { Session, ToolResult } from "../runtime/session.js";
import type { Probe, ProbeEnv } from "./types.js";
import { describe, refusalOf } from "./variant.js";
import { openProbeSession } from "./probe-session.js";
import type { EnforcerName } from "../enforcers.js";

const EPERM = 1;
const ENOENT = 2;
const EROFS = 30;
const HOSTILE = "/cordon/native/hostile";

interface Report {
  readonly succeeded?: boolean;
  readonly errno?: number;
  readonly names?: string[];
  readonly procEnvironBytes?: number;
  readonly fds?: Array<{ fd: number }>;
}

function processTool(env: ProbeEnv): ProcessTool {
  if (env.tool?.tier === "process") return env.tool;
  const tool = [...env.runtime.policy.tools.values()].find((t): t is ProcessTool => t.tier === "process");
  if (tool === undefined) throw new Error("no process tool in the policy");
  return tool;
}

/** The tool with the hostile fixture as its program: same limits, grants and sandbox. */
function hostileVariant(tool: ProcessTool, args: readonly string[], grants: readonly Grant[] = tool.grants): ProcessTool {
  // Approval and the shape of results are lines of their own (mcp-probes.ts): not asked here.
  return Object.freeze({ ...tool, command: { argv: [HOSTILE, ...args], script: null }, grants, validateInput: () => [], approval: null, output: NO_OUTPUT_CHECK });
}

interface HostileRun {
  readonly result: ToolResult;
  readonly report: Report | null;
  readonly session: Session;
}

async function runHostile(env: ProbeEnv, tool: ProcessTool, after?: (run: HostileRun) => Promise<void>): Promise<HostileRun> {
  const extraRo = [{ host: join(env.runtime.packageRoot, "build", "native"), guest: "/cordon/native", writable: false }];
  const session = await openProbeSession(env.runtime, `probe:${tool.name}`, [tool], { extraRo });
  try {
    const result = await session.call(tool.name, {});
    const report = result.ok && typeof result.output === "object" && result.output !== null ? (result.output as Report) : null;
    const run = { result, report, session };
    await after?.(run);
    return run;
  } finally {
    await env.runtime.closeSession(session);
  }
}

async function recordProbe(env: ProbeEnv, run: HostileRun, enforcer: EnforcerName, probe: string, extra: Record<string, Json> = {}): Promise<void> {
  // seccomp records its own denials as they happen (sandbox.denied): the probe's record then
  // names no enforcer, so the evidence is the live record alone.
  await env.runtime.record({
    type: "sandbox.probed",
    ...(enforcer === "seccomp" ? { probeOf: enforcer } : { enforcer }),
    tier: "process",
    session: run.session.id,
    probe,
    succeeded: run.report?.succeeded ?? false,
    errno: run.report?.errno ?? 0,
    ...extra,
  });
}

function errnoProbe(args: readonly string[], enforcer: EnforcerName, errno: number, what: string): Probe {
  return async (env) => {
    const run = await runHostile(env, hostileVariant(processTool(env), args));
    await recordProbe(env, run, enforcer, args[0] ?? "");
    const stopped = run.report !== null && run.report.succeeded === false && run.report.errno === errno;
    return { stopped, detail: stopped ? `${what}: errno ${errno}` : `NOT stopped: ${run.report === null ? describe(run.result) : JSON.stringify(run.report)}` };
  };
}

/** A denied syscall: EPERM for the tool, and the live record of it (naming the syscall and the tool). */
function seccompProbe(args: readonly string[], syscall: string, what: string): Probe {
  return async (env) => {
    const before = env.runtime.audit.head?.seq ?? 0;
    const tool = hostileVariant(processTool(env), args);
    const run = await runHostile(env, tool);
    await recordProbe(env, run, "seccomp", args[0] ?? "");
    const live = env.runtime.audit.recordsAfter(before).filter((r) => r.type === "sandbox.denied" && r.enforcer === "seccomp");
    const named = live.length === 1 && live[0]?.["syscall"] === syscall && live[0]["tool"] === tool.name && live[0]["session"] === run.session.id;
    const refused = run.report !== null && run.report.succeeded === false && run.report.errno === EPERM;
    const stopped = refused && named;
    const seen = live.map((r) => `${JSON.stringify(r["syscall"])}@${JSON.stringify(r["tool"])}`).join(",") || "none";
    return { stopped, detail: stopped ? `${what}: EPERM, recorded live (sandbox.denied seq ${live[0]?.seq ?? "?"})` : `NOT stopped: ${run.report === null ? describe(run.result) : JSON.stringify(run.report)}; live records: ${seen}` };
  };
}

export const procSocketInet = seccompProbe(["socket-inet"], "socket", "socket(AF_INET) refused by seccomp");
export const procConnect = seccompProbe(["connect-unix"], "connect", "connect() refused by seccomp");
export const procPtrace = seccompProbe(["ptrace"], "ptrace", "ptrace(ATTACH) refused by seccomp");
export const procMount = seccompProbe(["mount"], "mount", "mount() refused by seccomp");
export const procUnshare = seccompProbe(["unshare"], "unshare", "unshare(NEWUSER) refused by seccomp");
/** Kernel attack surface an outside attack run tried from a tool process: each denied, each recorded. */
export const KERNEL_SURFACE = ["bpf", "io_uring_setup", "keyctl", "perf_event_open", "userfaultfd", "kexec_load", "setns"] as const;
export const procKernelProbes: ReadonlyMap<string, Probe> = new Map(
  KERNEL_SURFACE.map((name) => [`proc-${name.replace(/_/g, "-")}`, seccompProbe(["kernel", name], name, `${name}() refused by seccomp`)]),
);
export const procReadShadow = errnoProbe(["read", "/etc/shadow"], "bwrap-mounts", ENOENT, "/etc/shadow is not in the sandbox");
export const procReadHome = errnoProbe(["read", "/root/.bashrc"], "bwrap-mounts", ENOENT, "no home directory in the sandbox");
export const procWriteSystem = errnoProbe(["write", "/usr/bin/pwned"], "bwrap-mounts", EROFS, "/usr is read-only in the sandbox");

function grantOf(env: ProbeEnv): Extract<Grant, { kind: "fs.read" | "fs.write" }> {
  const tool = processTool(env);
  const grant = env.line.grantIndex === undefined ? undefined : tool.grants[env.line.grantIndex];
  if (grant === undefined || (grant.kind !== "fs.read" && grant.kind !== "fs.write")) throw new Error(`'${env.line.text}' is not an fs grant line`);
  return grant;
}

/** A read-only grant (bound to a throwaway directory) cannot be written through. */
export const procWriteReadonly: Probe = async (env) => {
  const grant = grantOf(env);
  const tool = hostileVariant(processTool(env), ["write", `${grant.mount}/cordon-probe`], [{ kind: "fs.read", hostPath: env.tmp, mount: grant.mount }]);
  const run = await runHostile(env, tool);
  await recordProbe(env, run, "bwrap-mounts", "write-readonly");
  const unchanged = readdirSync(env.tmp).length === 0;
  const stopped = run.report?.succeeded === false && run.report.errno === EROFS && unchanged;
  return { stopped, detail: stopped ? `write to ${grant.mount} refused (EROFS); host directory unchanged` : `NOT stopped: ${JSON.stringify(run.report)}, host entries ${readdirSync(env.tmp).length}` };
};

/** A writable grant lands writes in the granted directory and nowhere else. */
export const procWriteGranted: Probe = async (env) => {
  const grant = grantOf(env);
  const inside = await runHostile(env, hostileVariant(processTool(env), ["write", `${grant.mount}/cordon-probe`], [{ kind: "fs.write", hostPath: env.tmp, mount: grant.mount }]));
  const outside = await runHostile(env, hostileVariant(processTool(env), ["write", "/cordon-probe"], [{ kind: "fs.write", hostPath: env.tmp, mount: grant.mount }]));
  await recordProbe(env, outside, "bwrap-mounts", "write-outside-grant");
  const landed = existsSync(join(env.tmp, "cordon-probe"));
  const stopped = inside.report?.succeeded === true && landed && outside.report?.succeeded === false && outside.report.errno === EROFS;
  return { stopped, detail: stopped ? `write inside ${grant.mount} landed on the host; write outside refused (EROFS)` : `inside ${JSON.stringify(inside.report)} outside ${JSON.stringify(outside.report)}` };
};

export const procEnviron: Probe = async (env) => {
  const canary = "CORDON_PROBE_SECRET";
  process.env[canary] = "probe-canary-value";
  try {
    const run = await runHostile(env, hostileVariant(processTool(env), ["environ"]));
    await recordProbe(env, run, "cell-launch", "environ");
    const names = [...(run.report?.names ?? ["?"])].sort();
    const allowed = Object.keys(PROCESS_ENV).sort();
    const stopped = run.report !== null && names.join(",") === allowed.join(",");
    return { stopped, detail: stopped ? `environment is exactly the allowlist (${allowed.join(", ")}); the parent's ${canary} did not pass` : `environment: ${names.join(",")}` };
  } finally {
    delete process.env[canary];
  }
};

export const procFds: Probe = async (env) => {
  const run = await runHostile(env, hostileVariant(processTool(env), ["fds"]));
  await recordProbe(env, run, "cell-launch", "fds");
  const fds = (run.report?.fds ?? []).map((f) => f.fd);
  const stopped = fds.join(",") === "0,1,2";
  return { stopped, detail: stopped ? "the tool process holds only fds 0, 1, 2" : `fds: ${fds.join(",") || describe(run.result)}` };
};

/** The runtime records the kernel's pids.events counter as a cgroup-pids denial. */
export const procForkBomb: Probe = async (env) => {
  const before = env.runtime.audit.head?.seq ?? 0;
  const tool = processTool(env);
  await runHostile(env, hostileVariant(tool, ["fork-bomb"]));
  const denied = env.runtime.audit.recordsAfter(before).find((r) => r.enforcer === "cgroup-pids");
  const stopped = denied !== undefined && Number(denied["count"]) > 0;
  return { stopped, detail: stopped ? `fork refused ${Number(denied["count"])} times at pids.max=${tool.limits.pids}` : "the fork bomb was not capped" };
};

export const procMemHog: Probe = async (env) => {
  const tool = processTool(env);
  const mib = Math.ceil(tool.limits.memoryBytes / 2 ** 20) * 4;
  const run = await runHostile(env, hostileVariant(tool, ["mem-hog", String(mib)]));
  const r = run.result;
  const stopped = !r.ok && r.error.code === "ERR_LIMIT_EXCEEDED" && "limit" in r.error && r.error.limit === "memory";
  return { stopped, detail: stopped ? `${mib} MiB hog OOM-killed at the cgroup's ${tool.limits.memoryBytes / 2 ** 20} MiB` : describe(r) };
};

export const procTimeout: Probe = async (env) => {
  const tool = processTool(env);
  const run = await runHostile(env, hostileVariant(tool, ["sleep"]));
  const r = run.result;
  const stopped = !r.ok && r.error.code === "ERR_LIMIT_EXCEEDED" && "limit" in r.error && r.error.limit === "wall-clock";
  return { stopped, detail: stopped ? `killed at the ${tool.limits.wallClockMs} ms deadline` : describe(r) };
};

export const procOutputFlood: Probe = async (env) => {
  const tool = processTool(env);
  const run = await runHostile(env, hostileVariant(tool, ["flood"]));
  const r = run.result;
  const stopped = !r.ok && r.error.code === "ERR_LIMIT_EXCEEDED" && "limit" in r.error && r.error.limit === "output";
  return { stopped, detail: stopped ? `stopped at ${tool.limits.outputBytes} bytes of output` : describe(r) };
};

/** Processes on the host running as `uid`. */
function processesOf(uid: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const status = readFileSync(`/proc/${name}/status`, "utf8");
      const line = /^Uid:\s+(\d+)/m.exec(status);
      if (line !== null && Number(line[1]) === uid && isAlive(Number(name))) out.push(Number(name));
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

/** A tool that leaves a detached child behind: after the call nothing of it survives. */
export const procLeftovers: Probe = async (env) => {
  let uid = -1;
  let dirs: readonly string[] = [];
  const run = await runHostile(env, hostileVariant(processTool(env), ["daemon"]), (r) => {
    const host = r.session.toolHost;
    const ph = host instanceof SessionHost ? host.processHost : null;
    uid = ph?.hostUid ?? -1;
    dirs = ph?.lastRun?.cgroupDirs ?? [];
    return Promise.resolve();
  });
  const survivors = uid > 0 ? processesOf(uid) : [-1];
  await recordProbe(env, run, "reaper", "leftovers", { survivors: survivors.length });
  const stopped = run.report?.succeeded === true && survivors.length === 0 && dirs.length > 0 && dirs.every((d) => !existsSync(d));
  return { stopped, detail: stopped ? "the detached child and the call's cgroups are gone when the call returns" : `survivors ${survivors.join(",")}; report ${JSON.stringify(run.report)}` };
};

/** One flipped bit in the script, digest kept: the session is refused before anything runs. */
export const scriptTampered: Probe = async (env) => {
  // The line's own tool (a process or container tool), else the policy's first process tool.
  const tool = env.tool?.tier === "container" ? env.tool : processTool(env);
  const script = tool.command.script;
  if (script === null) return { stopped: false, detail: "the tool has no script to tamper with" };
  const bytes = new Uint8Array(script.bytes);
  const at = bytes.length >> 1;
  bytes[at] = (bytes[at] ?? 0) ^ 0x01;
  const err = await refusalOf(env, Object.freeze({ ...tool, command: { ...tool.command, script: { ...script, bytes } } }));
  const stopped = err?.code === "ERR_ARTIFACT_DIGEST_MISMATCH";
  return { stopped, detail: stopped ? `one flipped bit at byte ${at} refused` : `not refused (${err?.code ?? "loaded"})` };
};


const ENOSPC = 28;
const EACCES = 13;

/** Fills /workspace past limits.disk: the kernel stops it at the tmpfs's size, and the call's record says so. */
export const procDiskFill: Probe = async (env) => {
  const tool = processTool(env);
  const mib = Math.ceil(tool.limits.diskBytes / 2 ** 20) + 1;
  const before = env.runtime.audit.head?.seq ?? 0;
  const run = await runHostile(env, hostileVariant(tool, ["fill", "/workspace/fill", String(mib)]));
  const hit = env.runtime.audit.recordsAfter(before).filter((r) => r.enforcer === "disk-quota");
  const bytes = Number((run.report as { bytes?: number } | null)?.bytes ?? -1);
  const stopped = run.report?.succeeded === false && run.report.errno === ENOSPC && bytes >= 0 && bytes <= tool.limits.diskBytes && hit.length === 1;
  return { stopped, detail: stopped ? `ENOSPC after ${bytes} bytes (limits.disk ${tool.limits.diskBytes}); the call's record names disk-quota` : `NOT stopped: ${run.report === null ? describe(run.result) : JSON.stringify(run.report)}; disk-quota records ${hit.length}` };
};

/** A tool copies a program into /workspace and /tmp and runs it: noexec refuses both (EACCES). */
export const procExecWritten: Probe = async (env) => {
  const tool = processTool(env);
  const stripped = tool.grants.filter((g) => g.kind !== "exec");
  const places = ["/workspace", "/tmp"] as const;
  const runs: HostileRun[] = [];
  for (const dir of places) runs.push(await runHostile(env, hostileVariant(tool, ["exec-written", dir], stripped)));
  const first = runs[0];
  if (first !== undefined) await recordProbe(env, first, "noexec-mounts", "exec-written", { places: [...places] });
  const stopped = runs.every((r) => r.report?.succeeded === false && r.report.errno === EACCES);
  return { stopped, detail: stopped ? "running a file the tool wrote is refused in /workspace and /tmp (EACCES: noexec)" : `NOT stopped: ${runs.map((r) => JSON.stringify(r.report)).join(" ")}` };
};

/** An exec grant opens exactly its place: the copy runs there, and still not in the other one. */
export const procExecGranted: Probe = async (env) => {
  const tool = processTool(env);
  const grant = env.line.grantIndex === undefined ? undefined : tool.grants[env.line.grantIndex];
  if (grant?.kind !== "exec") throw new Error(`'${env.line.text}' is not an exec grant line`);
  const other = grant.mount === "/workspace" ? "/tmp" : "/workspace";
  const only = [grant];
  const inside = await runHostile(env, hostileVariant(tool, ["exec-written", grant.mount], only));
  const outside = await runHostile(env, hostileVariant(tool, ["exec-written", other], only));
  await recordProbe(env, outside, "noexec-mounts", "exec-outside-grant");
  const stopped = inside.report?.succeeded === true && outside.report?.succeeded === false && outside.report.errno === EACCES;
  return { stopped, detail: stopped ? `a written program runs in ${grant.mount} (granted) and is refused in ${other} (EACCES)` : `inside ${JSON.stringify(inside.report)} outside ${JSON.stringify(outside.report)}` };
};
