// The control plane's owner object: the loaded policy, the audit log, the tier drivers and the
// sessions. Nothing here is module-global; tests and the CLI each make their own Runtime. The
// runtime decides and records; where a tool runs is the router's choice and its driver's work.
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import type { AuditEvent, AuditLog, AuditRecord } from "../audit/index.js";
import { errorFields } from "../audit/fields.js";
import { newLaunchKey, principalDigest, type LaunchKey, type SignedLaunch } from "../attest/launch-statement.js";
import type { Principal } from "../authn/principal.js";
import { CellFactory } from "../cell/cell-factory.js";
import { CellHost, RoleCellHost } from "../cell/cell-hosts.js";
import { LaunchRefused, type CellProcess, type CellStage } from "../cell/cell-process.js";
import { WasmDriver } from "../cell/wasm-driver.js";
import { PACKAGE_ROOT } from "../config/defaults.js";
import { CordonError, PolicyWish, RoleNotFound, TierUnavailable, ToolRefused, WritableGrantUncapped, type SessionEndReason } from "../errors.js";
import type { Tier } from "../enforcers.js";
import type { LoadedPolicy, LoadedTool } from "../policy/load-policy.js";
import { ContainerDriver } from "../container/container-driver.js";
import { ProcessDriver } from "../process/process-driver.js";
import { routeSession } from "../router/route.js";
import type { Bind } from "../sandbox/bwrap-plan.js";
import { reapStaleControlPlanes } from "../sandbox/cgroups/control-plane.js";
import { OsSandbox, type Layers } from "../sandbox/os-sandbox.js";
import type { SeccompEvent } from "../sandbox/seccomp/supervisor-events.js";
import { writableDirProblem } from "../sandbox/tmpfs.js";
import type { Granularity, SessionContext, TierDriver } from "../router/driver.js";
import type { Isolation, ToolHost } from "../tier/tool-host.js";
import { publishGuestLog } from "./channels.js";
import { DenialRecorder } from "./denial-recorder.js";
import { keySigner, launchOf, type LaunchSigner } from "./launch.js";
import { SessionHost } from "./session-host.js";
import { DEFAULT_SESSION_LIMITS, Session, type SessionLimits, type SessionOffers } from "./session.js";

export type { Granularity } from "../router/driver.js";

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
  /** Warm containers created ahead per role's first crun tool (default 0: every call cold). */
  readonly containerPoolSize?: number;
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

/**
 * How a session is made beyond its role: the tools (probes: variants of real ones), who asked,
 * and the seams a probe swaps hostile parts in through (a spoiling launch signer, a forging cell).
 */
export interface SessionSpec {
  readonly role: string;
  readonly tools: readonly LoadedTool[];
  readonly principal: Principal;
  readonly granularity?: Granularity;
  readonly extraRo?: readonly Bind[];
  readonly signer?: LaunchSigner;
  readonly cellMain?: string;
  /** Resource roots and prompts (default: none; openSession gives the role's from the policy). */
  readonly offers?: SessionOffers;
}

/** The operator at this machine's command line (cordon run, cordon prove): no token involved. */
export function localPrincipal(role: string): Principal {
  return { subject: `local:${process.getuid?.() ?? "?"}`, role, tenant: null, issuer: "local", tokenDigest: "", expiresAt: 0 };
}

/** Stamped on every audit record when guest code runs without the OS sandbox. */
export const IN_PROCESS_STAMP = Object.freeze({ isolation: "in-process: no OS sandbox (bwrap, seccomp, cgroups missing)" });

/** The drivers of this host, in one place: every tier plugs in here. */
interface Drivers {
  readonly wasm: WasmDriver;
  readonly byTier: ReadonlyMap<Tier, TierDriver>;
}

export class Runtime {
  private readonly sessions = new Set<Session>();
  private readonly sweeper: NodeJS.Timeout;
  /** The per-boot launch signer: statements signed with a key generated at start, held only in memory. */
  readonly launchSigner: LaunchSigner;

  private constructor(
    readonly policy: LoadedPolicy,
    readonly audit: AuditLog,
    readonly isolation: Isolation,
    private readonly drivers: Drivers,
    private readonly sandbox: OsSandbox | null,
    readonly sessionLimits: SessionLimits,
    /** Where cordon is installed (dist/ and build/native/). */
    readonly packageRoot: string,
    readonly granularity: Granularity,
    private readonly launchKey: LaunchKey,
    private readonly runtimeLockSha256: string | null,
    private readonly afterClose: (() => Promise<void>) | null,
    /** Sandbox denials at run time, rate-limited per session. */
    private readonly denials: DenialRecorder,
  ) {
    this.launchSigner = keySigner(launchKey);
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

  /** Layers of the OS sandbox in force, or null in-process. */
  get layers(): Layers | null {
    return this.sandbox?.layers ?? null;
  }

  /** The driver of a tier (probes and the CLI describe them). */
  driverOf(tier: Tier): TierDriver | undefined {
    return this.drivers.byTier.get(tier);
  }

  private get stamp(): Readonly<Record<string, string>> {
    return this.isolation === "in-process" ? IN_PROCESS_STAMP : {};
  }

  /**
   * Records the policy load. Refuses (and records) a policy with a wish in strict mode, and a
   * host that lacks a layer of the OS sandbox: never a silent downgrade.
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
    const packageRoot = opts.packageRoot ?? PACKAGE_ROOT;
    const launchKey = newLaunchKey();
    const denials = new DenialRecorder((e) => audit.append({ ...e, ...stamp }));
    // Cells that die on their own are recorded at once and end their sessions; the runtime
    // that owns those sessions exists only after the drivers, hence the late binding.
    let owner: Runtime | null = null;
    let sandbox: OsSandbox | null = null;
    let cells: CellFactory | null = null;
    if (isolation === "cell") {
      const reaped = await reapStaleControlPlanes();
      if (reaped.length > 0) await audit.append({ type: "cells.reaped", enforcer: "reaper", controlPlanes: reaped });
      try {
        sandbox = OsSandbox.check({ packageRoot });
      } catch (err) {
        // A host gap, not an enforcer firing: the record names what is missing.
        if (err instanceof TierUnavailable) await audit.append({ type: "tier.refused", ...errorFields(err) });
        throw err;
      }
      cells = new CellFactory({
        sandbox,
        launchPublicKeyB64: launchKey.publicKeyB64,
        poolSize: opts.poolSize ?? 0,
        onViolation: (cell, v) => {
          const session = cell.session ?? [...cell.sessions].join(",");
          void audit.append({ type: "cell.killed", enforcer: "frame-guard", session, violation: v.kind, detail: v.detail.slice(0, 128) }).catch(() => undefined);
        },
        ...(opts.onCellStage === undefined ? {} : { onStage: opts.onCellStage }),
        onSeccomp: (cell, e) => recordCellSeccomp(denials, audit, cell, e),
        onExit: (cell, exited) => {
          const sessions = cell.session !== null ? [cell.session] : [...cell.sessions];
          const enforcer = exited.oomKills > 0 ? { enforcer: "cgroup-memory" as const } : {};
          void audit.append({ type: "cell.exited", ...enforcer, cell: cell.id, session: sessions.join(",") || `pooled:${cell.id}`, ...exited.fields() }).catch(() => undefined);
          owner?.endSessionsOf(cell);
        },
      });
    }
    const wasm = new WasmDriver(cells, (session, tool, line) => publishGuestLog({ session, tool, line }));
    const container = new ContainerDriver(sandbox, {
      poolSize: opts.containerPoolSize ?? 0,
      onRecord: (e) => void audit.append({ ...e, ...stamp }).catch(() => undefined),
    });
    const byTier = new Map<Tier, TierDriver>([["wasm", wasm], ["process", new ProcessDriver(sandbox)], ["container", container]]);
    await audit.append({
      type: "policy.loaded",
      ...stamp,
      policySha256: policy.sha256,
      lines: policy.lines.length,
      wishes: wishes.length,
      isolation,
      profile: policy.profile,
      tiers: Object.fromEntries([...byTier].map(([t, d]) => [t, d.availability.ok ? d.availability.layers.join("+") : `unavailable: ${d.availability.missing}`])),
      launchKeyId: launchKey.keyid,
      launchPublicKey: launchKey.publicKeyB64,
      signedVersion: opts.signedPolicyVersion ?? null,
    });
    // A tier this host lacks is recorded once, here; its tools' calls are refused (and recorded) one by one.
    for (const [tier, driver] of byTier) {
      const uses = [...policy.tools.values()].filter((t) => t.tier === tier).map((t) => t.name);
      if (!driver.availability.ok && uses.length > 0) {
        await audit.append({ type: "tier.refused", ...stamp, tier, code: "ERR_TIER_UNAVAILABLE", missing: driver.availability.missing, tools: uses });
      }
    }
    const limits = { ...DEFAULT_SESSION_LIMITS, ...opts.sessionLimits };
    owner = new Runtime(policy, audit, isolation, { wasm, byTier }, sandbox, limits, packageRoot, opts.granularity ?? "per-session", launchKey, opts.runtimeLockSha256 ?? null, opts.afterClose ?? null, denials);
    return owner;
  }

  /** Pre-starts warm cells for every role (cell isolation with a pool size only). */
  async warm(): Promise<void> {
    for (const role of this.policy.roles.keys()) {
      const tools = this.toolsOf(role);
      for (const driver of this.drivers.byTier.values()) {
        const own = tools.filter((t) => t.tier === driver.tier);
        if (driver.availability.ok && (own.length > 0 || driver.tier === "wasm")) await driver.warm(own, this.granularity);
      }
    }
  }

  private toolsOf(role: string): LoadedTool[] {
    return (this.policy.roles.get(role) ?? []).map((n) => this.policy.tools.get(n)).filter((t): t is LoadedTool => t !== undefined);
  }

  /**
   * A session for `role`, whose compartments hold that role's tools and nothing else.
   * `principal` is who asked (a verified token's principal); without one, the local operator.
   */
  async openSession(role: string, principal: Principal = localPrincipal(role)): Promise<Session> {
    if (!this.policy.roles.has(role) || principal.role !== role) {
      const error = new RoleNotFound(role.slice(0, 128));
      await this.audit.append({ type: "session.denied", ...this.stamp, enforcer: "role-toolset", principalDigest: principalDigest(principal), ...errorFields(error) });
      throw error;
    }
    return this.openSessionWith({ role, tools: this.toolsOf(role), principal, granularity: this.granularity, offers: this.offersOf(role) });
  }

  /** A role's resource roots and prompts, from the policy. */
  offersOf(role: string): SessionOffers {
    const prompts = (this.policy.rolePrompts.get(role) ?? []).flatMap((n) => this.policy.prompts.get(n) ?? []);
    return { roots: this.policy.resources.get(role) ?? [], prompts };
  }

  /**
   * A session from a spec: the tools it holds (probes: variants of real ones under their real
   * limits), who it is for, and the seams probes use. Every check of openSession applies.
   */
  async openSessionWith(spec: SessionSpec): Promise<Session> {
    const id = randomUUID();
    const pd = principalDigest(spec.principal);
    const granularity = spec.granularity ?? "per-session";
    const signer = spec.signer ?? this.launchSigner;
    try {
      checkWritableGrants(spec.tools);
      const route = routeSession(spec.tools, (tier) => this.drivers.byTier.get(tier)?.availability);
      const signed: { launch: SignedLaunch | null } = { launch: null };
      const sign = (cellId: string | null): string => {
        const { subject, predicate } = launchOf({
          session: id,
          role: spec.role,
          principal: spec.principal,
          tools: spec.tools,
          policySha256: this.policy.sha256,
          tier: this.isolation,
          granularity,
          runtimeLockSha256: this.runtimeLockSha256,
          cellId,
          launchedAt: new Date().toISOString(),
        });
        const launch = signer(subject, predicate);
        signed.launch = launch;
        return launch.envelope;
      };
      const ctx: SessionContext = {
        id,
        role: spec.role,
        principal: spec.principal,
        granularity,
        sign,
        extraRo: spec.extraRo ?? [],
        ...(spec.cellMain === undefined ? {} : { cellMain: spec.cellMain }),
        onSeccomp: (tier, tool, e) => this.recordSeccomp(id, tier, tool, e),
      };
      const hosts = new Map<Tier, ToolHost>();
      try {
        for (const [tier, tools] of route.byTier) {
          const driver = this.drivers.byTier.get(tier);
          if (driver === undefined) continue;
          hosts.set(tier, await driver.open(driver.plan(tools, ctx), ctx));
        }
      } catch (err) {
        await Promise.all([...hosts.values()].map((h) => h.close().catch(() => undefined)));
        throw err;
      }
      // No cell checked a statement (no Wasm tools): one is still signed and recorded for the session.
      if (signed.launch === null) sign(null);
      const launch = signed.launch as unknown as SignedLaunch;
      const host = new SessionHost(hosts, route.unavailable, this.isolation);
      const stamp = { ...this.stamp, launch: launch.digest };
      const layersOf = (t: LoadedTool): string => {
        const d = this.drivers.byTier.get(t.tier);
        const a = d?.availability;
        if (a?.ok !== true) return "none (tier unavailable here)";
        // A container tool crosses its own runtime's layers only (crun's or gVisor's).
        return (t.tier === "container" && d instanceof ContainerDriver ? d.layersFor(t) : a.layers).join("+");
      };
      const layered = Object.fromEntries(spec.tools.map((t) => [t.name, layersOf(t)]));
      const session = new Session(id, spec.role, new Map(spec.tools.map((t) => [t.name, t])), host, this.audit, stamp, this.sessionLimits, (s, reason) => this.closeSession(s, reason), spec.principal, new Map(Object.entries(layered)), spec.offers);
      this.sessions.add(session);
      const verifiedBy = hosts.get("wasm") instanceof CellHost || hosts.get("wasm") instanceof RoleCellHost ? "cell" : "none (no cell: the control plane checks scripts itself)";
      await this.audit.append({ type: "session.attested", ...stamp, session: id, role: spec.role, launchKeyId: this.launchKey.keyid, statement: launch.envelope, verifiedBy: this.isolation === "in-process" ? "none (in-process)" : verifiedBy });
      const weaker = spec.tools.filter((t) => t.route.weaker !== null).map((t) => t.name);
      await this.audit.append({
        type: "session.opened",
        ...stamp,
        session: id,
        role: spec.role,
        principalDigest: pd,
        subject: spec.principal.subject.slice(0, 128),
        tools: host.toolNames(),
        layers: layered,
        ...(weaker.length > 0 ? { weakerThanRisk: weaker } : {}),
        isolation: host.isolation,
        ...(this.isolation === "cell" ? { granularity } : {}),
      });
      return session;
    } catch (err) {
      if (!(err instanceof CordonError)) throw err;
      const enforcer =
        err instanceof ToolRefused || err instanceof WritableGrantUncapped ? err.enforcer : err instanceof LaunchRefused ? "launch-attestation" : err.code === "ERR_ARTIFACT_DIGEST_MISMATCH" ? "module-digest" : undefined;
      await this.audit.append({ type: "session.refused", ...this.stamp, session: id, role: spec.role, principalDigest: pd, ...(enforcer === undefined ? {} : { enforcer }), ...errorFields(err) });
      throw err;
    }
  }

  /**
   * Ends a session. For a cell, the reaper kills its whole cgroup and then checks that none of
   * its processes survived; the record says how many it killed and how many are left (0).
   */
  async closeSession(session: Session, reason: SessionEndReason = "closed"): Promise<void> {
    if (!this.sessions.delete(session) && session.ended) return;
    const cell = cellOf(session.toolHost);
    const pids = cell?.process.cgroup?.pids() ?? [];
    await session.close();
    // A killed process can take a moment to finish exiting after it left its cgroup: the count
    // of leftovers is taken once they had that moment (bounded), so it reports survivors only.
    const leftovers = cell !== null ? await survivors(pids, LEFTOVER_GRACE_MS) : [];
    await this.denials.flush(session.id);
    const reaped = cell !== null ? { enforcer: "reaper" as const, killed: pids.length, leftovers: leftovers.length } : {};
    await this.audit.append({ type: "session.closed", ...session.stamp, session: session.id, role: session.role, reason, ...reaped });
  }

  /** A cell died on its own: every session it served ends now (its record says why). */
  private endSessionsOf(cell: CellProcess): void {
    for (const s of [...this.sessions]) {
      const wasm = s.toolHost instanceof SessionHost ? s.toolHost.hostOf("wasm") : null;
      if ((wasm instanceof CellHost || wasm instanceof RoleCellHost) && wasm.process === cell) void this.closeSession(s, "cell-exited").catch(() => undefined);
    }
  }

  /** A sandbox's seccomp supervisor spoke: a denial (recorded), a kill, or a failure to supervise. */
  private recordSeccomp(session: string, tier: Tier, tool: string | null, e: SeccompEvent): void {
    if (e.kind === "failed") {
      void this.record({ type: "sandbox.unsupervised", enforcer: "seccomp", session, tool, tier, reason: e.reason }).catch(() => undefined);
      return;
    }
    this.denials.report({ session, tool, tier, syscall: e.syscall, action: e.kind === "denied" ? "EPERM" : "killed" });
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
    await Promise.all([...this.sessions].map((s) => this.closeSession(s)));
    this.sessions.clear();
    for (const d of this.drivers.byTier.values()) await d.close();
    this.sandbox?.release();
    await this.audit.close();
    await this.afterClose?.();
  }
}

/** The session's own cell (per-session granularity), whichever host wraps it. */
export function cellOf(host: ToolHost): CellHost | null {
  if (host instanceof CellHost) return host;
  if (host instanceof SessionHost) {
    const wasm = host.hostOf("wasm");
    return wasm instanceof CellHost ? wasm : null;
  }
  return null;
}

/**
 * Every writable grant must be a filesystem the kernel caps at the tool's limits.disk (and, for
 * native tools, noexec): checked when a session opens, since a directory can be remounted later.
 */
function checkWritableGrants(tools: readonly LoadedTool[]): void {
  for (const tool of tools) {
    for (const g of tool.grants) {
      if (g.kind !== "fs.write") continue;
      const problem = writableDirProblem(g.hostPath, { maxBytes: tool.limits.diskBytes, noexec: tool.tier !== "wasm" });
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
