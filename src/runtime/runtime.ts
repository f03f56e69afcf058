// The control plane's owner object: the loaded policy, the audit log, the cell factory and the
// sessions. Nothing here is module-global; tests and the CLI each make their own Runtime.
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import type { AuditEvent, AuditLog, AuditRecord } from "../audit/index.js";
import { verifyDigest } from "../crypto/digest.js";
import { CellFactory, type Layers } from "../cell/cell-factory.js";
import { reapStaleControlPlanes } from "../cell/reap-stale.js";
import { CellHost, cellOf, InProcessHost, RoleCellHost, SessionHost, type Isolation, type ToolHost } from "../cell/tool-host.js";
import { ProcessHost } from "../process/process-host.js";
import { LaunchRefused } from "../cell/cell-process.js";
import { newLaunchKey, principalDigest, signLaunch, type LaunchKey, type SignedLaunch } from "../attest/launch-statement.js";
import type { Principal } from "../authn/principal.js";
import { sha256Hex } from "../crypto/digest.js";
import type { Bind } from "../sandbox/bwrap-plan.js";
import { CordonError, PolicyWish, RoleNotFound, TierUnavailable, ToolRefused, WritableGrantUncapped, type Json, type SessionEndReason } from "../errors.js";
import { writableDirProblem } from "../sandbox/tmpfs.js";
import type { LoadedPolicy, LoadedTool, ProcessTool } from "../policy/load-policy.js";
import type { ToolTemplate } from "../wasm/engine/types.js";
import { errorFields } from "../audit/fields.js";
import { publishGuestLog } from "./channels.js";
import { DEFAULT_SESSION_LIMITS, Session, type SessionLimits } from "./session.js";
import { DenialRecorder } from "./denial-recorder.js";
import type { CellProcess, CellStage } from "../cell/cell-process.js";
import type { SeccompEvent } from "../sandbox/seccomp/supervisor-events.js";

export interface RuntimeOptions {
  readonly policy: LoadedPolicy;
  readonly audit: AuditLog;
  /** Refuse a policy that contains a wish (the default). */
  readonly strict?: boolean;
  /**
   * "cell" (the default): each session's tools run in their own sandboxed process.
   * "in-process": development only; V8 is the only boundary, and every record says so.
   */
  readonly isolation?: Isolation;
  /** Where cordon is installed (dist/ and build/native/ are bound into cells). */
  readonly packageRoot?: string;
  /** Warm cells kept per role. */
  readonly poolSize?: number;
  /** Idle timeout, maximum lifetime and maximum calls of every session. */
  readonly sessionLimits?: Partial<SessionLimits>;
  /** sha256 of the verified runtime lock manifest, named in every launch statement. */
  readonly runtimeLockSha256?: string;
  /** The signed policy version accepted at load (strict mode), recorded with the load. */
  readonly signedPolicyVersion?: number;
  /** Runs after close() has closed the audit log (e.g. a final signed checkpoint). */
  readonly afterClose?: () => Promise<void>;
  /**
   * "per-session" (the default): every session gets its own cell. "per-role": one cell per
   * role, a fresh set of Wasm instances per session inside it (cheaper; a cell crash or
   * violation ends every session of the role). Probe sessions always get their own cell.
   */
  readonly granularity?: Granularity;
  /** Each stage of each cell's life as it enters it (tests kill cells at each stage through this). */
  readonly onCellStage?: (cell: CellProcess, stage: CellStage) => void;
}

export type Granularity = "per-session" | "per-role";

/** How a probe may spoil a launch statement: a flipped payload bit, or a digest for other bytes. */
export type LaunchTamper = "signature" | "digest";

interface OpenHow {
  readonly granularity: Granularity;
  readonly principal: Principal;
  readonly extraRo?: readonly Bind[];
  readonly tamperLaunch?: LaunchTamper;
}

/** The operator at this machine's command line (cordon run, cordon prove): no token involved. */
export function localPrincipal(role: string): Principal {
  return { subject: `local:${process.getuid?.() ?? "?"}`, role, tenant: null, issuer: "local", tokenDigest: "", expiresAt: 0 };
}

/** Stamped on every audit record when guest code runs without the OS sandbox. */
export const IN_PROCESS_STAMP = Object.freeze({ isolation: "in-process: no OS sandbox (bwrap, seccomp, cgroups missing)" });

export class Runtime {
  private readonly sessions = new Set<Session>();
  private readonly sweeper: NodeJS.Timeout;

  private constructor(
    readonly policy: LoadedPolicy,
    readonly audit: AuditLog,
    readonly isolation: Isolation,
    private readonly cells: CellFactory | null,
    readonly sessionLimits: SessionLimits,
    /** Where cordon is installed (dist/ and build/native/). */
    readonly packageRoot: string,
    readonly granularity: Granularity,
    /** The per-boot launch key: generated at start, held only in memory. */
    private readonly launchKey: LaunchKey,
    private readonly runtimeLockSha256: string | null,
    private readonly afterClose: (() => Promise<void>) | null,
    /** Sandbox denials at run time, rate-limited per session. */
    private readonly denials: DenialRecorder,
  ) {
    // Ends idle and over-age sessions even when nobody calls them; never keeps the process up.
    this.sweeper = setInterval(() => void this.sweep(), Math.max(50, Math.min(1_000, sessionLimits.idleMs / 2)));
    this.sweeper.unref();
  }

  private async sweep(): Promise<void> {
    const now = performance.now();
    for (const s of [...this.sessions]) {
      const reason = s.due(now);
      if (reason !== null) await this.closeSession(s, reason).catch(() => undefined);
    }
  }

  /** Appends a record with this runtime's stamp (the missing layer, in-process). */
  record(event: AuditEvent): Promise<AuditRecord> {
    return this.audit.append({ ...event, ...this.stamp });
  }

  /** Layers in force for cell isolation, or null in-process. */
  get layers(): Layers | null {
    return this.cells?.layers ?? null;
  }

  private get stamp(): Readonly<Record<string, string>> {
    return this.isolation === "in-process" ? IN_PROCESS_STAMP : {};
  }

  /**
   * Records the policy load. Refuses (and records) a policy with a wish in strict mode, and a
   * host that lacks a layer of the cell sandbox: never a silent downgrade.
   */
  static async start(opts: RuntimeOptions): Promise<Runtime> {
    const { policy, audit } = opts;
    const isolation = opts.isolation ?? "cell";
    const stamp = isolation === "in-process" ? IN_PROCESS_STAMP : {};
    const wishes = policy.lines.filter((l) => l.status === "wish").map((l) => l.text);
    if ((opts.strict ?? true) && wishes.length > 0) {
      const error = new PolicyWish(wishes);
      await audit.append({ type: "policy.refused", ...stamp, policySha256: policy.sha256, ...errorFields(error) });
      throw error;
    }
    const launchKey = newLaunchKey();
    const denials = new DenialRecorder((e) => audit.append({ ...e, ...stamp }));
    // Cells that die on their own are recorded at once and end their sessions; the runtime
    // that owns those sessions exists only after the factory, hence the late binding.
    let owner: Runtime | null = null;
    let cells: CellFactory | null = null;
    if (isolation === "cell") {
      const reaped = await reapStaleControlPlanes();
      if (reaped.length > 0) await audit.append({ type: "cells.reaped", enforcer: "reaper", controlPlanes: reaped });
      try {
        cells = new CellFactory({ packageRoot: opts.packageRoot ?? defaultPackageRoot(), launchPublicKeyB64: launchKey.publicKeyB64, poolSize: opts.poolSize ?? 0, onViolation: (cell, v) => {
          const session = cell.session ?? [...cell.sessions].join(",");
          void audit.append({ type: "cell.killed", enforcer: "frame-guard", session, violation: v.kind, detail: v.detail.slice(0, 128) }).catch(() => undefined);
        }, ...(opts.onCellStage === undefined ? {} : { onStage: opts.onCellStage }), onSeccomp: (cell, e) => recordCellSeccomp(denials, audit, cell, e), onExit: (cell, exited) => {
          const sessions = cell.session !== null ? [cell.session] : [...cell.sessions];
          const enforcer = exited.oomKills > 0 ? { enforcer: "cgroup-memory" } : {};
          void audit.append({ type: "cell.exited", ...enforcer, cell: cell.id, session: sessions.join(",") || `pooled:${cell.id}`, ...exited.fields() }).catch(() => undefined);
          owner?.endSessionsOf(cell);
        } });
      } catch (err) {
        if (err instanceof TierUnavailable) await audit.append({ type: "tier.refused", enforcer: "os-sandbox", ...errorFields(err) });
        throw err;
      }
    }
    await audit.append({
      type: "policy.loaded",
      ...stamp,
      policySha256: policy.sha256,
      lines: policy.lines.length,
      wishes: wishes.length,
      isolation,
      launchKeyId: launchKey.keyid,
      launchPublicKey: launchKey.publicKeyB64,
      signedVersion: opts.signedPolicyVersion ?? null,
    });
    const limits = { ...DEFAULT_SESSION_LIMITS, ...opts.sessionLimits };
    owner = new Runtime(policy, audit, isolation, cells, limits, opts.packageRoot ?? defaultPackageRoot(), opts.granularity ?? "per-session", launchKey, opts.runtimeLockSha256 ?? null, opts.afterClose ?? null, denials);
    return owner;
  }

  /** Pre-starts warm cells for every role (cell isolation with a pool size only). */
  async warm(): Promise<void> {
    if (this.cells === null) return;
    for (const role of this.policy.roles.keys()) {
      const templates = this.templatesFor(this.toolsOf(role));
      if (this.granularity === "per-role") await this.cells.roleCell(templates);
      else await this.cells.warm(templates);
    }
  }

  private toolsOf(role: string): LoadedTool[] {
    return (this.policy.roles.get(role) ?? []).map((n) => this.policy.tools.get(n)).filter((t): t is LoadedTool => t !== undefined);
  }

  /** The Wasm tools' templates, each module's digest checked again on the bytes sent. */
  private templatesFor(tools: readonly LoadedTool[]): ToolTemplate[] {
    return tools.flatMap((tool) => {
      if (tool.tier !== "wasm") return [];
      const bytes = verifyDigest(tool.moduleBytes, tool.moduleSha256, tool.modulePath);
      return [{ name: tool.name, abi: tool.abi, moduleBytes: bytes, limits: tool.limits, grants: tool.grants }];
    });
  }

  /** Process tools, each script's digest checked again before the session may run it. */
  private processToolsOf(tools: readonly LoadedTool[]): Map<string, ProcessTool> {
    const out = new Map<string, ProcessTool>();
    for (const tool of tools) {
      if (tool.tier !== "process") continue;
      const script = tool.command.script;
      if (script !== null) verifyDigest(script.bytes, script.sha256, script.path);
      out.set(tool.name, tool);
    }
    return out;
  }

  /**
   * A session for `role`, whose cell holds that role's tools and nothing else. `principal` is
   * who asked (a verified token's principal); without one, the local operator.
   */
  async openSession(role: string, principal: Principal = localPrincipal(role)): Promise<Session> {
    if (!this.policy.roles.has(role) || principal.role !== role) {
      const error = new RoleNotFound(role.slice(0, 128));
      await this.audit.append({ type: "session.denied", ...this.stamp, enforcer: "role-toolset", principalDigest: principalDigest(principal), ...errorFields(error) });
      throw error;
    }
    return this.openCell(role, this.toolsOf(role), { granularity: this.granularity, principal });
  }

  /**
   * Probes only: a session whose tools are variants of real ones (a hostile fixture under a
   * real tool's limits, tampered bytes, a temporary directory). Same checks as any session.
   */
  async openProbeSession(role: string, tools: readonly LoadedTool[], opts: { readonly extraRo?: readonly Bind[]; readonly tamperLaunch?: LaunchTamper } = {}): Promise<Session> {
    return this.openCell(role, tools, { granularity: "per-session", principal: localPrincipal(role), extraRo: opts.extraRo ?? [], ...(opts.tamperLaunch === undefined ? {} : { tamperLaunch: opts.tamperLaunch }) });
  }

  /** The session's launch statement, signed with the per-boot key (tampered only by probes). */
  private launchFor(id: string, role: string, tools: readonly LoadedTool[], how: OpenHow, cellId: string | null): SignedLaunch {
    const subject = tools.flatMap((t) => (t.tier === "wasm" ? [{ name: t.name, digest: { sha256: how.tamperLaunch === "digest" ? sha256Hex(new TextEncoder().encode(t.moduleSha256)) : t.moduleSha256 } }] : []));
    const signed = signLaunch(subject, {
      cellId,
      session: id,
      principalDigest: principalDigest(how.principal),
      role,
      policySha256: this.policy.sha256,
      tier: this.cells === null ? "in-process" : "cell",
      granularity: how.granularity,
      limits: Object.fromEntries(tools.map((t) => [t.name, { ...t.limits }])),
      scripts: tools.flatMap((t) => (t.tier === "process" && t.command.script !== null ? [{ name: t.name, digest: { sha256: t.command.script.sha256 } }] : [])),
      runtimeLockSha256: this.runtimeLockSha256,
      launchedAt: new Date().toISOString(),
    }, this.launchKey);
    if (how.tamperLaunch !== "signature") return signed;
    const env = JSON.parse(signed.envelope) as { payload: string };
    const payload = Buffer.from(env.payload, "base64");
    payload[payload.length - 2] = (payload[payload.length - 2] ?? 0) ^ 0x01;
    return { ...signed, envelope: JSON.stringify({ ...env, payload: payload.toString("base64") }) };
  }

  private async openCell(role: string, tools: readonly LoadedTool[], how: OpenHow): Promise<Session> {
    const id = randomUUID();
    const onLog = (tool: string, line: string) => publishGuestLog({ session: id, tool, line });
    const pd = principalDigest(how.principal);
    try {
      checkWritableGrants(tools);
      const templates = this.templatesFor(tools);
      const processTools = this.processToolsOf(tools);
      let host: ToolHost | null = null;
      let launch: SignedLaunch | null = null;
      const sign = (cellId: string | null): string => {
        launch = this.launchFor(id, role, tools, how, cellId);
        return launch.envelope;
      };
      if (this.cells === null) {
        host = new InProcessHost(templates, onLog);
      } else if (how.granularity === "per-role" && templates.length > 0) {
        const cell = await this.cells.roleCell(templates);
        await cell.open(id, sign(cell.id));
        host = new RoleCellHost(cell, id, [...(cell.tools ?? [])], onLog);
      } else if (templates.length > 0 || processTools.size === 0) {
        const { cell, tools: loaded } = await this.cells.assign(id, templates, sign);
        host = new CellHost(cell, loaded, onLog);
      }
      const signed: SignedLaunch = launch ?? this.launchFor(id, role, tools, how, null);
      if (processTools.size > 0) {
        host =
          this.cells === null
            ? new SessionHost(host, null, [...processTools.keys()])
            : new SessionHost(host, new ProcessHost(processTools, this.cells.processSandbox(), {
                extraRo: how.extraRo ?? [],
                onSeccomp: (tool, e) => this.recordProcessSeccomp(id, tool, e),
              }));
      }
      if (host === null) throw new TierUnavailable("wasm", "no host for the session's tools");
      const stamp = { ...this.stamp, launch: signed.digest };
      const session = new Session(id, role, new Map(tools.map((t) => [t.name, t])), host, this.audit, stamp, this.sessionLimits, (s, reason) => this.closeSession(s, reason), how.principal);
      this.sessions.add(session);
      await this.audit.append({ type: "session.attested", ...stamp, session: id, role, launchKeyId: this.launchKey.keyid, statement: signed.envelope, verifiedBy: this.cells === null ? "none (in-process)" : "cell" });
      const granularity = this.cells === null ? {} : { granularity: how.granularity };
      await this.audit.append({ type: "session.opened", ...stamp, session: id, role, principalDigest: pd, subject: how.principal.subject.slice(0, 128), tools: host.toolNames(), isolation: host.isolation, ...granularity });
      return session;
    } catch (err) {
      if (!(err instanceof CordonError)) throw err;
      const enforcer =
        err instanceof ToolRefused || err instanceof WritableGrantUncapped ? err.enforcer : err instanceof LaunchRefused ? "launch-attestation" : err.code === "ERR_ARTIFACT_DIGEST_MISMATCH" ? "module-digest" : undefined;
      await this.audit.append({ type: "session.refused", ...this.stamp, session: id, role, principalDigest: pd, ...(enforcer === undefined ? {} : { enforcer }), ...errorFields(err) });
      throw err;
    }
  }

  /**
   * Ends a session. For a cell, the reaper kills its whole cgroup and then checks that none of
   * its processes survived; the record says how many it killed and how many are left (0).
   */
  async closeSession(session: Session, reason: SessionEndReason = "closed"): Promise<void> {
    if (!this.sessions.delete(session) && session.ended) return;
    const host = session.toolHost;
    const cell = cellOf(host);
    const pids = cell?.process.cgroup?.pids() ?? [];
    await session.close();
    // A killed process can take a moment to finish exiting after it left its cgroup: the count
    // of leftovers is taken once they had that moment (bounded), so it reports survivors only.
    const leftovers = cell !== null ? await survivors(pids, LEFTOVER_GRACE_MS) : [];
    await this.denials.flush(session.id);
    const reaped = cell !== null ? { enforcer: "reaper", killed: pids.length, leftovers: leftovers.length } : {};
    await this.audit.append({ type: "session.closed", ...session.stamp, session: session.id, role: session.role, reason, ...reaped });
  }

  /** A cell died on its own: every session it served ends now (its record says why). */
  private endSessionsOf(cell: CellProcess): void {
    for (const s of [...this.sessions]) {
      const host = s.toolHost;
      const own = cellOf(host)?.process === cell;
      const shared = host instanceof RoleCellHost ? host.process === cell : host instanceof SessionHost && host.wasmHost instanceof RoleCellHost && host.wasmHost.process === cell;
      if (own || shared) void this.closeSession(s, "cell-exited").catch(() => undefined);
    }
  }

  /** A tool process's seccomp supervisor spoke: a denial (recorded), a kill, or a failure to supervise. */
  private recordProcessSeccomp(session: string, tool: string, e: SeccompEvent): void {
    if (e.kind === "failed") {
      void this.record({ type: "sandbox.unsupervised", enforcer: "seccomp", session, tool, tier: "process", reason: e.reason }).catch(() => undefined);
      return;
    }
    this.denials.report({ session, tool, tier: "process", syscall: e.syscall, action: e.kind === "denied" ? "EPERM" : "killed" });
  }

  /**
   * Runs one of the cell's self-attacks (the native hostile fixture inside the cell's own
   * sandbox) and records what the wall did. seccomp's EPERM is silent in the kernel log, so
   * this record is the observable check; cgroup probes add the kernel's own counters.
   */
  async selftest(session: Session, spec: string): Promise<SelftestResult> {
    const host = cellOf(session.toolHost);
    if (host === null) throw new TierUnavailable("wasm", "no cell: guest code runs in-process");
    const probe = spec.split(" ")[0] ?? "";
    const enforcer = SELFTEST_ENFORCER[probe];
    if (enforcer === undefined) throw new Error(`unknown selftest ${probe}`);
    const raw = (await host.process.selftest(spec)) as { report?: { succeeded?: boolean; errno?: number; names?: string[]; fds?: unknown[]; forked?: number } | null; signal?: string | null };
    const events = host.process.cgroup?.events();
    const result: SelftestResult = {
      probe,
      enforcer,
      succeeded: raw.report?.succeeded ?? false,
      errno: raw.report?.errno ?? 0,
      signal: raw.signal ?? null,
      report: (raw.report ?? null) as Json,
      pidsMaxHits: events?.pidsMaxHits ?? 0,
      oomKills: events?.oomKills ?? 0,
    };
    // A seccomp wall records itself (the supervisor's live denial record); the probe's own
    // record then only says what was tried, and names no enforcer, so the evidence stays one record.
    await this.audit.append({
      type: "sandbox.probed",
      ...(enforcer === "seccomp" ? { probeOf: enforcer } : { enforcer }),
      session: session.id,
      probe,
      succeeded: result.succeeded,
      errno: result.errno,
      signal: result.signal,
      pidsMaxHits: result.pidsMaxHits,
      oomKills: result.oomKills,
    });
    return result;
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
    await Promise.all([...this.sessions].map((s) => this.closeSession(s)));
    this.sessions.clear();
    await this.cells?.close();
    this.cells?.releaseCgroups();
    await this.audit.close();
    await this.afterClose?.();
  }
}

export interface SelftestResult {
  readonly probe: string;
  readonly enforcer: string;
  /** The attack got through. */
  readonly succeeded: boolean;
  readonly errno: number;
  readonly signal: string | null;
  readonly report: Json;
  readonly pidsMaxHits: number;
  readonly oomKills: number;
}

/** Which wall each cell self-attack hits. */
const SELFTEST_ENFORCER: Readonly<Record<string, string>> = {
  "socket-inet": "seccomp",
  "connect-unix": "seccomp",
  ptrace: "seccomp",
  mount: "seccomp",
  unshare: "seccomp",
  read: "bwrap-mounts",
  write: "bwrap-mounts",
  environ: "cell-launch",
  fds: "cell-launch",
  "fork-bomb": "cgroup-pids",
  "mem-hog": "cgroup-memory",
};

/**
 * Every writable grant must be a filesystem the kernel caps at the tool's limits.disk (and, for
 * native tools, noexec): checked when a session opens, since a directory can be remounted later.
 */
function checkWritableGrants(tools: readonly LoadedTool[]): void {
  for (const tool of tools) {
    for (const g of tool.grants) {
      if (g.kind !== "fs.write") continue;
      const problem = writableDirProblem(g.hostPath, { maxBytes: tool.limits.diskBytes, noexec: tool.tier === "process" });
      if (problem !== null) throw new WritableGrantUncapped(tool.name, g.mount, problem.reason, problem.what === "exec" ? "noexec-mounts" : "disk-quota");
    }
  }
}

/** Where a cell's seccomp event goes: the call it was running, else the cell's session(s). */
function recordCellSeccomp(denials: DenialRecorder, audit: AuditLog, cell: CellProcess, e: SeccompEvent): void {
  const call = cell.currentCall();
  const session = call?.session ?? cell.session ?? ([...cell.sessions].join(",") || `cell:${cell.id}`);
  if (e.kind === "failed") {
    void audit.append({ type: "sandbox.unsupervised", enforcer: "seccomp", session, tier: "wasm", reason: e.reason }).catch(() => undefined);
    return;
  }
  denials.report({ session, tool: call?.tool ?? null, tier: "wasm", syscall: e.syscall, action: e.kind === "denied" ? "EPERM" : "killed" });
}

/** How long the reaper lets killed processes finish exiting before it counts survivors. */
const LEFTOVER_GRACE_MS = 1_000;

/** The pids still running after up to `withinMs`. */
async function survivors(pids: readonly number[], withinMs: number): Promise<number[]> {
  const until = performance.now() + withinMs;
  let alive = pids.filter(isAlive);
  while (alive.length > 0 && performance.now() < until) {
    await new Promise((r) => setTimeout(r, 10));
    alive = alive.filter(isAlive);
  }
  return alive;
}

/** A process that still runs (a zombie awaiting its reaper does not). */
export function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    return state !== "Z" && state !== "X";
  } catch {
    return false;
  }
}

function defaultPackageRoot(): string {
  return new URL("../../", import.meta.url).pathname;
}
