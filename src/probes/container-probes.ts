// Probes for the container tier, under the runtime of the line: a tool line's own tool, or for
// a `tier container (crun|runsc)` line the policy's first container tool of that runtime. Each
// runs the native hostile fixture (bound read-only at /.cordon/probe) as a variant of the real
// tool (its image, limits and grants, the same bundle plan) and checks what the wall did. Limits
// (pids, memory, deadline, output, disk) are recorded by the runtime as it enforces them; seccomp
// records its own denials (crun: live from the supervisor; runsc: from the Sentry's log); walls
// whose refusal is silent in the kernel (a read-only mount, a missing file, no capability) are
// recorded here from the fixture's report, naming the enforcer the line names.
import { createServer, type AddressInfo } from "node:net";
import { chmodSync, copyFileSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync, writeSync, closeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { EnforcerName } from "../enforcers.js";
import type { Json } from "../errors.js";
import type { ContainerTool } from "../policy/load-policy.js";
import type { Grant } from "../types/tool.js";
import { ContainerDriver } from "../container/container-driver.js";
import { ensureImage } from "../sandbox/image/image-store.js";
import { PROBE_DIR } from "../container/oci-plan.js";
import { SessionHost } from "../runtime/session-host.js";
import { isAlive } from "../runtime/runtime.js";
import type { Session, ToolResult } from "../runtime/session.js";
import { DEFAULT_RULES } from "../sandbox/seccomp/rules.js";
import { openProbeSession } from "./probe-session.js";
import type { Probe, ProbeEnv } from "./types.js";
import { describe } from "./variant.js";

const EPERM = 1;
const ENOENT = 2;
const EACCES = 13;
const ENOSPC = 28;
const EROFS = 30;
const HOSTILE = `${PROBE_DIR}/hostile`;

interface Report {
  readonly succeeded?: boolean;
  readonly errno?: number;
  readonly [k: string]: Json | undefined;
}

/** The container tool a line is about, and the runtime it runs under. */
function containerTool(env: ProbeEnv): ContainerTool {
  if (env.tool?.tier === "container") return env.tool;
  const runtime = env.line.scope.name.startsWith("container:") ? env.line.scope.name.slice("container:".length) : "crun";
  const tool = [...env.runtime.policy.tools.values()].find((t): t is ContainerTool => t.tier === "container" && t.runtime === runtime);
  if (tool === undefined) throw new Error(`no ${runtime} container tool in the policy`);
  return tool;
}

function hostileVariant(tool: ContainerTool, args: readonly string[], grants: readonly Grant[] = tool.grants): ContainerTool {
  return Object.freeze({ ...tool, command: { argv: [HOSTILE, ...args], script: null }, grants, validateInput: () => [] });
}

interface HostileRun {
  readonly result: ToolResult;
  readonly report: Report | null;
  readonly session: Session;
}

function extraRo(env: ProbeEnv): { host: string; guest: string; writable: false }[] {
  return [{ host: join(env.runtime.packageRoot, "build", "native"), guest: PROBE_DIR, writable: false }];
}

function reportOf(result: ToolResult): Report | null {
  return result.ok && typeof result.output === "object" && result.output !== null && !Array.isArray(result.output) ? (result.output) : null;
}

async function runHostile(env: ProbeEnv, tool: ContainerTool, after?: (run: HostileRun) => Promise<void>): Promise<HostileRun> {
  const session = await openProbeSession(env.runtime, `probe:${tool.name}`, [tool], { extraRo: extraRo(env) });
  try {
    const result = await session.call(tool.name, {});
    const run = { result, report: reportOf(result), session };
    await after?.(run);
    return run;
  } finally {
    await env.runtime.closeSession(session);
  }
}

async function record(env: ProbeEnv, run: { session: Session; report: Report | null } | null, enforcer: EnforcerName, probe: string, extra: Record<string, Json> = {}): Promise<void> {
  const tool = containerTool(env);
  await env.runtime.record({
    type: "sandbox.probed",
    ...(enforcer === "seccomp" ? { probeOf: enforcer } : { enforcer }),
    tier: "container",
    runtime: tool.runtime,
    ...(run === null ? {} : { session: run.session.id }),
    probe,
    succeeded: run?.report?.succeeded ?? false,
    errno: Number(run?.report?.errno ?? 0),
    ...extra,
  });
}

const refusedWith = (r: Report | null, errnos: readonly number[]): boolean => r !== null && r.succeeded === false && errnos.includes(Number(r.errno));
const shown = (run: HostileRun): string => (run.report === null ? describe(run.result) : JSON.stringify(run.report));

/** A write the image or the host must not take: refused (errno), and the host file unchanged. */
function kernelFsProbe(hostPath: string, what: string): Probe {
  return async (env) => {
    const tool = containerTool(env);
    const before = existsSync(hostPath) ? readFileSync(hostPath, "utf8") : null;
    const run = await runHostile(env, hostileVariant(tool, ["write", hostPath]));
    const after = existsSync(hostPath) ? readFileSync(hostPath, "utf8") : null;
    if (before !== null && after !== before) writeFileSync(hostPath, before); // never leave the host changed
    await record(env, run, "oci-hardening", `write ${hostPath}`);
    const stopped = refusedWith(run.report, [EROFS, EACCES, EPERM, ENOENT]) && after === before;
    return { stopped, detail: stopped ? `${what}: errno ${run.report?.errno} under ${tool.runtime}; the host's ${hostPath} unchanged` : `NOT stopped: ${shown(run)}` };
  };
}

export const ctrWriteProcSys = kernelFsProbe("/proc/sys/kernel/core_pattern", "/proc/sys is read-only in the container");
export const ctrWriteSys = kernelFsProbe("/sys/kernel/profiling", "/sys is read-only in the container");

/** A device node: no CAP_MKNOD in the host's user namespace, and the devices cgroup denies all. */
export const ctrMknod: Probe = async (env) => {
  const tool = containerTool(env);
  const run = await runHostile(env, hostileVariant(tool, ["mknod", "/tmp/.cordon-null"]));
  await record(env, run, "oci-hardening", "mknod");
  const stopped = refusedWith(run.report, [EPERM]);
  return { stopped, detail: stopped ? `mknod(S_IFCHR 1:3) refused with EPERM under ${tool.runtime}` : `NOT stopped: ${shown(run)}` };
};

/** Every capability set the kernel reports is empty (gVisor has no CapAmb line; the three that matter must be there). */
const capsZero = (r: Report | null): boolean =>
  r !== null && ["capPrm", "capEff", "capBnd"].every((k) => r[k] !== undefined) && ["capInh", "capPrm", "capEff", "capBnd", "capAmb"].every((k) => r[k] === undefined || /^0+$/.test(JSON.stringify(r[k]).replace(/"/g, "")));

export const ctrCaps: Probe = async (env) => {
  const tool = containerTool(env);
  const run = await runHostile(env, hostileVariant(tool, ["caps"]));
  await record(env, run, "oci-hardening", "caps");
  const stopped = capsZero(run.report) && run.report?.succeeded === false;
  const sets = ["Inh", "Prm", "Eff", "Bnd", "Amb"].filter((k) => run.report?.[`cap${k}`] !== undefined).map((k) => `Cap${k}`);
  return { stopped, detail: stopped ? `every capability set the kernel reports is empty under ${tool.runtime} (${sets.join(", ")} = 0${sets.includes("CapAmb") ? "" : "; gVisor reports no CapAmb"})` : `NOT stopped: ${shown(run)}` };
};

/** A copy of the fixture made setuid (in a place where exec is granted) and run: it holds no capability. */
export const ctrSetuid: Probe = async (env) => {
  const tool = containerTool(env);
  const place = tool.grants.some((g) => g.kind === "exec" && g.mount === "/workspace") ? "/workspace" : "/tmp";
  const grants: Grant[] = [...tool.grants.filter((g) => g.kind !== "exec"), { kind: "exec", mount: place }];
  const run = await runHostile(env, hostileVariant(tool, ["setuid", place], grants));
  await record(env, run, "oci-hardening", "setuid");
  const ran = run.report?.["probe"] === "setuid" && run.report["capEff"] !== undefined;
  const stopped = ran ? capsZero(run.report) : refusedWith(run.report, [EACCES, EPERM]);
  return { stopped, detail: stopped ? (ran ? `the setuid copy ran in ${place} and held no capability (nosuid, no-new-privileges, empty bounding set) under ${tool.runtime}` : `the setuid copy could not even run (errno ${run.report?.errno})`) : `NOT stopped: ${shown(run)}` };
};

/** A denied syscall: EPERM for the tool, and the seccomp record of it naming the syscall and the tool. */
function seccompProbe(args: readonly string[], syscall: string): Probe {
  return async (env) => {
    const before = env.runtime.audit.head?.seq ?? 0;
    const tool = hostileVariant(containerTool(env), args);
    const run = await runHostile(env, tool);
    await record(env, run, "seccomp", args[0] ?? "");
    const live = env.runtime.audit.recordsAfter(before).filter((r) => r.type === "sandbox.denied" && r.enforcer === "seccomp");
    const named = live.length === 1 && live[0]?.["syscall"] === syscall && live[0]["tool"] === tool.name && live[0]["session"] === run.session.id;
    const stopped = refusedWith(run.report, [EPERM]) && named;
    const how = tool.runtime === "crun" ? "recorded live by the supervisor" : "recorded from gVisor's Sentry log as the call ran";
    const seen = live.map((r) => `${JSON.stringify(r["syscall"])}@${JSON.stringify(r["tool"])}`).join(",") || "none";
    return { stopped, detail: stopped ? `${syscall}() refused with EPERM under ${tool.runtime}, ${how} (sandbox.denied seq ${live[0]?.seq ?? "?"})` : `NOT stopped: ${shown(run)}; seccomp records: ${seen}` };
  };
}

export const ctrMount = seccompProbe(["mount"], "mount");
export const ctrUnshare = seccompProbe(["unshare"], "unshare");
export const ctrPtrace = seccompProbe(["ptrace"], "ptrace");
export const ctrSocketInet = seccompProbe(["socket-inet"], "socket");

/**
 * The network namespace alone: seccomp's socket and connect rules are taken out of this one
 * container's table (the next wall, probed through the driver's seam), and the fixture connects
 * to a listener on the host's 127.0.0.1. It must fail, and the listener must see nothing.
 */
export const ctrLoopback: Probe = async (env) => {
  const tool = containerTool(env);
  const driver = env.runtime.driverOf("container");
  if (!(driver instanceof ContainerDriver) || driver.containers === null) return { stopped: false, detail: "no container driver" };
  let accepted = 0;
  const server = createServer((s) => {
    accepted += 1;
    s.destroy();
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const port = (server.address() as AddressInfo).port;
  const rules = DEFAULT_RULES.filter((r) => r.syscall !== "socket" && r.syscall !== "connect");
  const variantTool = hostileVariant(tool, ["connect-tcp", String(port)]);
  const host = driver.probeHost(variantTool, { extraRo: extraRo(env), rules });
  let report: Report | null = null;
  let detail = "";
  try {
    const out = await host.call(variantTool.name, new TextEncoder().encode("{}"));
    report = out.ok ? (JSON.parse(Buffer.from(out.output).toString("utf8")) as Report) : null;
    detail = out.ok ? "" : `${out.error.code}`;
  } finally {
    await host.close();
    await new Promise<void>((r) => server.close(() => r()));
  }
  await env.runtime.record({ type: "sandbox.probed", enforcer: "oci-hardening", tier: "container", runtime: tool.runtime, probe: "connect-tcp", succeeded: report?.succeeded ?? false, errno: Number(report?.errno ?? 0), accepted });
  const stopped = report !== null && report.succeeded === false && accepted === 0;
  return { stopped, detail: stopped ? `connect to the host's 127.0.0.1:${port} failed (errno ${report?.errno}) with seccomp's socket rules lifted; the host listener saw ${accepted} connections (${tool.runtime})` : `NOT stopped: ${JSON.stringify(report)} ${detail}; accepted ${accepted}` };
};

/** A host file no grant names, by its host path: absent in the container. */
export const ctrReadHost: Probe = async (env) => {
  const tool = containerTool(env);
  const canary = join(env.tmp, "canary");
  writeFileSync(canary, "cordon probe canary\n", { mode: 0o644 });
  const run = await runHostile(env, hostileVariant(tool, ["read", canary]));
  await record(env, run, "oci-hardening", "read-host");
  const stopped = refusedWith(run.report, [ENOENT]);
  return { stopped, detail: stopped ? `the host's ${canary} does not exist in the container (ENOENT, ${tool.runtime})` : `NOT stopped: ${shown(run)}` };
};

export const ctrWriteRoot: Probe = async (env) => {
  const tool = containerTool(env);
  const run = await runHostile(env, hostileVariant(tool, ["write", "/usr/bin/cordon-pwned"]));
  await record(env, run, "oci-hardening", "write-root");
  const driver = env.runtime.driverOf("container");
  const rootfs = driver instanceof ContainerDriver && driver.containers !== null ? driver.containers.rootfs(tool) : null;
  const unchanged = rootfs !== null && !existsSync(join(rootfs, "usr", "bin", "cordon-pwned"));
  const stopped = refusedWith(run.report, [EROFS, EACCES]) && unchanged;
  return { stopped, detail: stopped ? `the image's root is read-only (errno ${run.report?.errno}); the unpacked image is unchanged (${tool.runtime})` : `NOT stopped: ${shown(run)}; image unchanged ${unchanged}` };
};

/** Session A writes a file in its /workspace; session B, open at the same time, finds it neither at /workspace nor by A's host path. */
export const ctrOtherWorkspace: Probe = async (env) => {
  const tool = containerTool(env);
  const a = await openProbeSession(env.runtime, `probe:${tool.name}:a`, [hostileVariant(tool, ["write", "/workspace/secret"])], { extraRo: extraRo(env) });
  try {
    const wrote = reportOf(await a.call(tool.name, {}));
    const hostA = (a.toolHost instanceof SessionHost ? a.toolHost.containerHost?.places().dirOf("workspace") : undefined) ?? "/nonexistent";
    const b1 = await runHostile(env, hostileVariant(tool, ["read", "/workspace/secret"]));
    const b2 = await runHostile(env, hostileVariant(tool, ["read", join(hostA, "secret")]));
    await record(env, b1, "oci-hardening", "other-workspace", { hostPathTried: true });
    const stopped = wrote?.succeeded === true && refusedWith(b1.report, [ENOENT]) && refusedWith(b2.report, [ENOENT]) && existsSync(join(hostA, "secret"));
    return { stopped, detail: stopped ? `session A's /workspace/secret is absent in session B, at /workspace and by A's host path (ENOENT both, ${tool.runtime})` : `NOT stopped: A ${JSON.stringify(wrote)}, B ${shown(b1)} / ${shown(b2)}` };
  } finally {
    await env.runtime.closeSession(a);
  }
};

/** A tool copies a program into /workspace and /tmp and runs it: noexec refuses both without an exec grant. */
export const ctrExecWritten: Probe = async (env) => {
  const tool = containerTool(env);
  const stripped = tool.grants.filter((g) => g.kind !== "exec");
  const runs: HostileRun[] = [];
  for (const dir of ["/workspace", "/tmp"]) runs.push(await runHostile(env, hostileVariant(tool, ["exec-written", dir], stripped)));
  await record(env, runs[0] ?? null, "noexec-mounts", "exec-written", { places: ["/workspace", "/tmp"] });
  const stopped = runs.every((r) => refusedWith(r.report, [EACCES]));
  return { stopped, detail: stopped ? `running a file the tool wrote is refused in /workspace and /tmp without an exec grant (EACCES, ${tool.runtime})` : `NOT stopped: ${runs.map(shown).join(" ")}` };
};

export const ctrExecGranted: Probe = async (env) => {
  const tool = containerTool(env);
  const grant = env.line.grantIndex === undefined ? undefined : tool.grants[env.line.grantIndex];
  if (grant?.kind !== "exec") throw new Error(`'${env.line.text}' is not an exec grant line`);
  const other = grant.mount === "/workspace" ? "/tmp" : "/workspace";
  const inside = await runHostile(env, hostileVariant(tool, ["exec-written", grant.mount], [grant]));
  const outside = await runHostile(env, hostileVariant(tool, ["exec-written", other], [grant]));
  await record(env, outside, "noexec-mounts", "exec-outside-grant");
  const stopped = inside.report?.succeeded === true && refusedWith(outside.report, [EACCES]);
  return { stopped, detail: stopped ? `a written program runs in ${grant.mount} (granted) and is refused in ${other} (EACCES, ${tool.runtime})` : `inside ${shown(inside)} outside ${shown(outside)}` };
};

/** The runtime's own boundary: crun's pid namespace (the tool is pid 1 and sees no host process); runsc's Sentry answers as its own kernel. */
export const ctrRuntimeIsolation: Probe = async (env) => {
  const tool = containerTool(env);
  const run = await runHostile(env, hostileVariant(tool, ["isolation"]));
  await record(env, run, "container-runtime", "isolation");
  const r = run.report;
  const hostRelease = readFileSync("/proc/sys/kernel/osrelease", "utf8").trim();
  const hostProcs = readdirSync("/proc").filter((n) => /^\d+$/.test(n)).length;
  const release = typeof r?.["release"] === "string" ? r["release"] : "";
  const procs = Number(r?.["procs"] ?? -1);
  const ownPidNs = Number(r?.["pid"]) === 1 && procs >= 1 && procs <= 3 && procs < hostProcs;
  const stopped = tool.runtime === "runsc" ? ownPidNs && release !== "" && release !== hostRelease : ownPidNs;
  const what = tool.runtime === "runsc" ? `the kernel answering is gVisor's (release ${release}, the host's is ${hostRelease}); pid 1 of ${procs} visible` : `the tool is pid 1 and sees ${procs} process(es) of the host's ${hostProcs}`;
  return { stopped, detail: stopped ? what : `NOT isolated: ${shown(run)}` };
};

/** Processes on the host running as `uid`. */
function processesOf(uid: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const line = /^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${name}/status`, "utf8"));
      if (line !== null && Number(line[1]) === uid && isAlive(Number(name))) out.push(Number(name));
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

/** A tool leaves a detached child behind: after the session nothing of it is left (processes, mounts, cgroups, state, bundle). */
export const ctrLeftovers: Probe = async (env) => {
  const tool = containerTool(env);
  let uid = -1;
  let dirs: readonly string[] = [];
  let placesRoot = "";
  const run = await runHostile(env, hostileVariant(tool, ["daemon"]), (r) => {
    const ch = r.session.toolHost instanceof SessionHost ? r.session.toolHost.containerHost : null;
    uid = ch?.hostUid ?? -1;
    dirs = ch?.lastRun?.cgroupDirs ?? [];
    placesRoot = ch?.places().root ?? "";
    return Promise.resolve();
  });
  const survivors = uid > 0 ? processesOf(uid) : [-1];
  const mounts = readFileSync("/proc/self/mountinfo", "utf8").split("\n").filter((l) => placesRoot !== "" && l.includes(placesRoot)).length;
  const driver = env.runtime.driverOf("container");
  const bases = driver instanceof ContainerDriver && driver.containers !== null ? driver.containers.leftovers() : { state: -1, bundles: -1 };
  await record(env, run, "reaper", "leftovers", { survivors: survivors.length, mounts, cgroups: dirs.filter(existsSync).length, state: bases.state, bundles: bases.bundles });
  const stopped = run.report?.succeeded === true && survivors.length === 0 && mounts === 0 && dirs.length > 0 && dirs.every((d) => !existsSync(d)) && bases.state === 0 && bases.bundles === 0 && placesRoot !== "" && !existsSync(placesRoot);
  return { stopped, detail: stopped ? `after the session: no process of its uid ${uid}, no mount of its places, none of its ${dirs.length} cgroup directories, no ${tool.runtime} state, no bundle (${tool.runtime})` : `left: processes ${survivors.join(",") || 0}, mounts ${mounts}, cgroups ${dirs.filter(existsSync).length}/${dirs.length}, state ${bases.state}, bundles ${bases.bundles}; ${JSON.stringify(run.report)}` };
};

const limitOf = (r: ToolResult): string | null => (!r.ok && r.error.code === "ERR_LIMIT_EXCEEDED" && "limit" in r.error ? String(r.error.limit) : null);

/** crun: the kernel's pids.events (recorded by the runtime); runsc: RLIMIT_NPROC inside gVisor (its host cgroup must allow 1024 for the Sentry), recorded here. */
export const ctrForkBomb: Probe = async (env) => {
  const before = env.runtime.audit.head?.seq ?? 0;
  const tool = containerTool(env);
  // The bomb takes itself down with SIGKILL once refused, so its report is read from the raw output.
  let raw = "";
  const run = await runHostile(env, hostileVariant(tool, ["fork-bomb"]), (r) => {
    raw = (r.session.toolHost instanceof SessionHost ? r.session.toolHost.containerHost?.lastRun?.stdout.toString("utf8") : "") ?? "";
    return Promise.resolve();
  });
  let report: Report | null = run.report;
  try {
    report ??= JSON.parse(raw.trim().split("\n")[0] ?? "null") as Report | null;
  } catch {
    report = null;
  }
  let denied = env.runtime.audit.recordsAfter(before).find((r) => r.enforcer === "cgroup-pids");
  if (denied === undefined && tool.runtime === "runsc") {
    const forked = Number(report?.["forked"] ?? -1);
    if (report?.succeeded === false && forked >= 0 && forked < tool.limits.pids) {
      await record(env, { session: run.session, report }, "cgroup-pids", "fork-bomb", { mechanism: "RLIMIT_NPROC in gVisor's Sentry (the host pids cgroup holds the sandbox at 1024)", forked, count: 1 });
      denied = env.runtime.audit.recordsAfter(before).find((r) => r.enforcer === "cgroup-pids");
    }
  }
  const stopped = denied !== undefined;
  const how = tool.runtime === "runsc" ? `fork refused (EAGAIN) after ${Number(report?.["forked"] ?? -1)} children at RLIMIT_NPROC=${tool.limits.pids} inside gVisor` : `fork refused ${Number(denied?.["count"] ?? 0)} times at pids.max=${tool.limits.pids}`;
  return { stopped, detail: stopped ? how : `the fork bomb was not capped: ${report === null ? describe(run.result) : JSON.stringify(report)}` };
};

export const ctrMemHog: Probe = async (env) => {
  const tool = containerTool(env);
  const mib = Math.ceil(tool.limits.memoryBytes / 2 ** 20) * 2;
  const run = await runHostile(env, hostileVariant(tool, ["mem-hog", String(mib)]));
  const stopped = limitOf(run.result) === "memory";
  return { stopped, detail: stopped ? `a ${mib} MiB hog OOM-killed at the cgroup's ${tool.limits.memoryBytes / 2 ** 20} MiB: LimitExceeded(memory) (${tool.runtime})` : describe(run.result) };
};

export const ctrTimeout: Probe = async (env) => {
  const tool = containerTool(env);
  const short = Object.freeze({ ...tool, limits: { ...tool.limits, wallClockMs: Math.min(tool.limits.wallClockMs, 1_500) } });
  const run = await runHostile(env, hostileVariant(short, ["sleep"]));
  const stopped = limitOf(run.result) === "wall-clock";
  return { stopped, detail: stopped ? `killed at the ${short.limits.wallClockMs} ms deadline, the container deleted (${tool.runtime}; the probe holds the line's deadline at 1.5 s at most)` : describe(run.result) };
};

export const ctrOutputFlood: Probe = async (env) => {
  const tool = containerTool(env);
  const run = await runHostile(env, hostileVariant(tool, ["flood"]));
  const stopped = limitOf(run.result) === "output";
  return { stopped, detail: stopped ? `stopped at ${tool.limits.outputBytes} bytes of output (${tool.runtime})` : describe(run.result) };
};

/** Fills /tmp past limits.disk: the kernel stops it at the tmpfs's size, and the call's record names disk-quota. */
export const ctrDiskFill: Probe = async (env) => {
  const tool = containerTool(env);
  const mib = Math.ceil(tool.limits.diskBytes / 2 ** 20) + 1;
  const before = env.runtime.audit.head?.seq ?? 0;
  const run = await runHostile(env, hostileVariant(tool, ["fill", "/tmp/fill", String(mib)]));
  const hit = env.runtime.audit.recordsAfter(before).filter((r) => r.enforcer === "disk-quota");
  const bytes = Number(run.report?.["bytes"] ?? -1);
  const stopped = refusedWith(run.report, [ENOSPC]) && bytes >= 0 && bytes <= tool.limits.diskBytes && hit.length === 1;
  return { stopped, detail: stopped ? `ENOSPC in /tmp after ${bytes} bytes (limits.disk ${tool.limits.diskBytes}); the call's record names disk-quota (${tool.runtime})` : `NOT stopped: ${shown(run)}; disk-quota records ${hit.length}` };
};

/** One flipped bit in a copy of the image, digest kept: unpacking it is refused and nothing is kept. */
export const imageTampered: Probe = async (env) => {
  const tool = containerTool(env);
  const dir = mkdtempSync(join(tmpdir(), "cordon-image-probe-"));
  try {
    const copy = join(dir, "image.tar");
    copyFileSync(tool.image.absPath, copy);
    const at = Math.floor(tool.image.bytes / 2);
    const fd = openSync(copy, "r+");
    const b = Buffer.alloc(1);
    try {
      const { readSync } = await import("node:fs");
      readSync(fd, b, 0, 1, at);
      b[0] = (b[0] ?? 0) ^ 0x01;
      writeSync(fd, b, 0, 1, at);
    } finally {
      closeSync(fd);
    }
    const store = join(dir, "store");
    let code = "unpacked";
    try {
      ensureImage(copy, tool.image.sha256, store);
    } catch (err) {
      code = (err as { code?: string }).code ?? "error";
    }
    const kept = existsSync(store) ? readdirSync(store).length : 0;
    await record(env, null, "module-digest", "image-tampered", { code, kept });
    // A bit in a header fails its checksum before the end; one in file data fails the digest at the end.
    const stopped = (code === "ERR_ARTIFACT_DIGEST_MISMATCH" || code === "ERR_IMAGE_MALFORMED") && kept === 0;
    return { stopped, detail: stopped ? `one flipped bit at byte ${at} of ${tool.image.bytes}: unpacking refused (${code}), nothing kept in the store` : `not refused (${code}, ${kept} kept)` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
};

/** A read-only grant (bound to a throwaway directory) cannot be written through from the container. */
export const ctrWriteReadonly: Probe = async (env) => {
  const tool = containerTool(env);
  const mount = "/mnt"; // a directory the image has: the read-only root takes no new mount points
  const run = await runHostile(env, hostileVariant(tool, ["write", `${mount}/cordon-probe`], [...tool.grants.filter((g) => g.kind === "exec"), { kind: "fs.read", hostPath: env.tmp, mount }]));
  await record(env, run, "oci-hardening", "write-readonly");
  const unchanged = readdirSync(env.tmp).length === 0;
  const stopped = refusedWith(run.report, [EROFS, EACCES]) && unchanged;
  return { stopped, detail: stopped ? `write to the read-only grant at ${mount} refused (errno ${run.report?.errno}); the host directory unchanged (${tool.runtime})` : `NOT stopped: ${shown(run)}; host entries ${readdirSync(env.tmp).length}` };
};

/** A writable grant lands writes in the granted directory and nowhere else. */
export const ctrWriteGranted: Probe = async (env) => {
  const tool = containerTool(env);
  const mount = "/srv";
  // Each session's container root is its own host uid: a grant shared by sessions must be writable by them.
  chmodSync(env.tmp, 0o1777);
  const grants: Grant[] = [...tool.grants.filter((g) => g.kind === "exec"), { kind: "fs.write", hostPath: env.tmp, mount }];
  const inside = await runHostile(env, hostileVariant(tool, ["write", `${mount}/cordon-probe`], grants));
  const outside = await runHostile(env, hostileVariant(tool, ["write", "/cordon-probe"], grants));
  await record(env, outside, "oci-hardening", "write-outside-grant");
  const landed = existsSync(join(env.tmp, "cordon-probe"));
  const stopped = inside.report?.succeeded === true && landed && refusedWith(outside.report, [EROFS, EACCES]);
  return { stopped, detail: stopped ? `a write inside ${mount} landed on the host; one outside it refused (errno ${outside.report?.errno}, ${tool.runtime})` : `inside ${shown(inside)} outside ${shown(outside)}` };
};
