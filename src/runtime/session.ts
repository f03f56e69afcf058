// One session: one role, one cell, never shared. The control plane decides and records; the
// cell runs guest code. Every allow is durable in the audit log before the call starts, and a
// result is released only after its record is durable.
import type { AuditEvent, AuditLog } from "../audit/index.js";
import { CallCancelled, CordonError, GuestOutputInvalid, InputInvalid, LimitExceeded, OutputRefused, SessionExpired, ToolNotFound, type Json, type SessionEndReason } from "../errors.js";
import { evaluate } from "../policy/evaluate.js";
import type { LoadedPolicy, LoadedTool } from "../policy/load-policy.js";
import { sha256Hex } from "../crypto/digest.js";
import type { ToolHost } from "../tier/tool-host.js";
import type { Principal } from "../authn/principal.js";
import type { CallOutcome } from "../wasm/engine/types.js";
import { clip, errorFields } from "../audit/fields.js";
import type { EnforcerName } from "../enforcers.js";
import { APPROVAL_INPUT_KEY } from "../policy/approval-form.js";
import { checkResult, type CheckedResult } from "../policy/output-check.js";
import type { LoadedPrompt } from "../policy/prompts.js";
import type { ResourceRoot } from "../policy/resources.js";
import { askApproval } from "./approval.js";
import { DEFAULT_PROGRESS_TICK_MS, type CallPeer } from "./call-peer.js";
import { samplingBridge, type SamplingBridge } from "./sampling-bridge.js";
import { SessionPrompts } from "./session-prompts.js";
import { SessionResources } from "./session-resources.js";

export type ToolResult =
  | { readonly ok: true; readonly output: Json; readonly result: CheckedResult; readonly logs: readonly string[]; readonly auditSeq: number }
  | { readonly ok: false; readonly error: CordonError; readonly logs: readonly string[]; readonly auditSeq: number };

export interface SessionCallOptions {
  /** Probes only: replace the tool's fuel budget (Wasm). */
  readonly fuelOverride?: number;
  /** The client the call came from: cancellation, progress, approval, sampling. None: a local call. */
  readonly peer?: CallPeer;
}

/** What a session offers besides tools: its role's resource roots and prompts. */
export interface SessionOffers {
  readonly roots: readonly ResourceRoot[];
  readonly prompts: readonly LoadedPrompt[];
}

export interface SessionLimits {
  /** End the session after this long without a call. */
  readonly idleMs: number;
  /** End the session this long after it opened, however busy. */
  readonly lifetimeMs: number;
  /** End the session after this many calls. */
  readonly maxCalls: number;
}

/** Elapsed-time progress for a call whose tool reports none: progress = ms elapsed, total = its deadline. */
function startTicks(report: NonNullable<CallPeer["progress"]>, wallClockMs: number, everyMs: number, counter: { progress: number }): { stop(): void } {
  const started = performance.now();
  let last = 0;
  const tick = (): void => {
    const elapsed = Math.min(Math.round(performance.now() - started), wallClockMs);
    // MCP wants every report to increase: at the deadline the ticks stop.
    if (elapsed <= last) return;
    last = elapsed;
    counter.progress += 1;
    report({ progress: elapsed, total: wallClockMs, message: `running: ${(elapsed / 1000).toFixed(1)} s of at most ${(wallClockMs / 1000).toFixed(1)} s` });
  };
  const timer = setInterval(tick, Math.max(10, everyMs));
  timer.unref();
  return { stop: () => clearInterval(timer) };
}

export const DEFAULT_SESSION_LIMITS: SessionLimits = Object.freeze({ idleMs: 5 * 60_000, lifetimeMs: 60 * 60_000, maxCalls: 10_000 });

export class Session {
  private closed = false;
  private calls = 0;
  /** The policy as this session's principal sees it: its role and that role's tools only. */
  private readonly view: Pick<LoadedPolicy, "roles" | "tools">;
  private readonly openedAt = performance.now();
  private lastActive = performance.now();

  constructor(
    readonly id: string,
    readonly role: string,
    private readonly tools: ReadonlyMap<string, LoadedTool>,
    private readonly host: ToolHost,
    private readonly audit: AuditLog,
    /** Fields stamped on every record of this session (the launch statement's digest; a missing isolation layer). */
    readonly stamp: Readonly<Record<string, string>> = {},
    readonly limits: SessionLimits = DEFAULT_SESSION_LIMITS,
    /** Asks the owner to end this session (kill its cell) for a reason. */
    private readonly expire: (s: Session, reason: SessionEndReason) => Promise<void> = () => Promise.resolve(),
    /** Who opened it (a verified token's principal, or the local operator). */
    readonly principal: Principal | null = null,
    /** The layers each tool's calls cross on this host (its tier driver's, as running here). */
    private readonly layers: ReadonlyMap<string, string> = new Map(),
    offers: SessionOffers = { roots: [], prompts: [] },
  ) {
    this.view = { roles: new Map([[role, [...tools.keys()]]]), tools };
    const record = (e: AuditEvent): Promise<number> => this.record(e);
    this.resources = new SessionResources(offers.roots, host.files, record);
    this.prompts = new SessionPrompts(offers.prompts, record);
  }

  /** The files of the role's resource roots, through the session's compartment. */
  readonly resources: SessionResources;
  /** The prompts the role offers. */
  readonly prompts: SessionPrompts;

  /** Why this session must end now, if it must (checked by the runtime's sweeper too). */
  due(now = performance.now()): SessionEndReason | null {
    if (now - this.openedAt >= this.limits.lifetimeMs) return "lifetime";
    if (now - this.lastActive >= this.limits.idleMs) return "idle";
    if (this.calls >= this.limits.maxCalls) return "max-calls";
    return null;
  }

  get ended(): boolean {
    return this.closed;
  }

  /**
   * Appends a record of this session. A record about one of the session's tools also names the
   * layers its call crosses, and, for a tool weaker than its risk demands (local-dev), says so.
   */
  private record(event: AuditEvent): Promise<number> {
    const tool = typeof event["tool"] === "string" ? this.tools.get(event["tool"]) : undefined;
    const route = tool === undefined ? {} : { layers: this.layers.get(tool.name) ?? "none (tier unavailable here)", ...(tool.route.weaker === null ? {} : { weakerThanRisk: tool.route.weaker }) };
    return this.audit.append({ ...event, ...route, ...this.stamp, session: this.id, role: this.role }).then((r) => r.seq);
  }

  /** Runs one tool call. Denials and guest failures come back as `ok: false`, never thrown. */
  async call(toolName: string, input: Json, opts: SessionCallOptions = {}): Promise<ToolResult> {
    const due = this.closed ? null : this.due();
    if (due !== null) await this.expire(this, due);
    if (this.closed) {
      const error = new SessionExpired(due ?? "closed");
      const auditSeq = await this.record({ type: "call.denied", enforcer: "session-limits", tool: clip(toolName), ...errorFields(error) });
      return { ok: false, error, logs: [], auditSeq };
    }
    this.calls += 1;
    this.lastActive = performance.now();
    let encoded: string;
    try {
      encoded = JSON.stringify(input);
    } catch {
      // Too deep to encode (the stack ran out) or not JSON at all: refused, never a crash.
      const error = new InputInvalid([{ path: "(input)", problem: "cannot be encoded as JSON (too deeply nested?)" }]);
      const auditSeq = await this.record({ type: "call.denied", enforcer: "input-schema", tool: clip(toolName), code: error.code, problems: 1 });
      return { ok: false, error, logs: [], auditSeq };
    }
    let bytes = new TextEncoder().encode(encoded);
    const decision = evaluate(this.view, { role: this.role }, { tool: toolName, input, inputBytes: bytes.byteLength });
    // The cell is the physical check: a tool it was not built with does not exist there.
    const reserved = typeof input === "object" && input !== null && !Array.isArray(input) && Object.hasOwn(input, APPROVAL_INPUT_KEY);
    const denial: { enforcer: EnforcerName; error: CordonError } | null = !decision.allow
      ? decision
      : !this.host.has(toolName)
        ? { enforcer: "role-toolset", error: new ToolNotFound(toolName) }
        : reserved
          ? { enforcer: "input-schema", error: new InputInvalid([{ path: `input.${APPROVAL_INPUT_KEY}`, problem: "is reserved for the answers of a human approval" }]) }
          : null;
    if (denial !== null || !decision.allow) {
      const { error, enforcer } = denial ?? { enforcer: "role-toolset", error: new ToolNotFound(toolName) };
      const type = error instanceof LimitExceeded ? "limit.exceeded" : "call.denied";
      const fields = error instanceof InputInvalid ? { code: error.code, problems: error.issues.length } : errorFields(error);
      const auditSeq = await this.record({ type, enforcer, inputBytes: bytes.byteLength, ...fields, tool: clip(toolName) });
      return { ok: false, error, logs: [], auditSeq };
    }
    const tool = decision.tool;
    const peer = opts.peer;
    if (peer?.signal?.aborted === true) return this.cancelled(tool.name, new CallCancelled("before-run", "cancelled before it was allowed; nothing ran"));
    if (tool.approval !== null) {
      // human-approval: a person accepts this very input, or nothing runs (fail closed).
      const inputSha256 = sha256Hex(bytes);
      const approved = await askApproval(tool.approval, { role: this.role, tool: tool.name, description: tool.description, input }, peer);
      if (!approved.ok) {
        if (approved.error instanceof CallCancelled) return this.cancelled(tool.name, approved.error);
        const auditSeq = await this.record({ type: "call.denied", enforcer: "human-approval", tool: tool.name, inputBytes: bytes.byteLength, inputSha256, ...errorFields(approved.error) });
        return { ok: false, error: approved.error, logs: [], auditSeq };
      }
      await this.record({ type: "call.approved", enforcer: "human-approval", tool: tool.name, inputBytes: bytes.byteLength, inputSha256, answers: approved.answers === null ? 0 : Object.keys(approved.answers).length });
      if (approved.answers !== null) {
        // The form's answers reach the tool beside the caller's arguments, under the reserved key.
        bytes = new TextEncoder().encode(JSON.stringify({ ...(input as { [key: string]: Json }), [APPROVAL_INPUT_KEY]: approved.answers }));
      }
    }
    await this.record({ type: "call.allowed", tool: toolName, inputBytes: bytes.byteLength, inputSha256: sha256Hex(bytes) });
    const started = performance.now();
    const reports = { progress: 0 };
    const grantsProgress = tool.grants.some((g) => g.kind === "progress");
    const sampling = tool.grants.find((g) => g.kind === "sampling");
    const bridge: SamplingBridge | null = sampling?.kind === "sampling" ? samplingBridge(tool.name, sampling, peer, started + tool.limits.wallClockMs, (e) => this.record(e)) : null;
    const report = peer?.progress;
    // A tool that reports its own progress gets only that; any other an elapsed-time tick.
    const ticker = report !== undefined && !grantsProgress ? startTicks(report, tool.limits.wallClockMs, peer?.progressTickMs ?? DEFAULT_PROGRESS_TICK_MS, reports) : null;
    let outcome: CallOutcome;
    try {
      outcome = await this.host.call(toolName, bytes, {
        ...(opts.fuelOverride === undefined ? {} : { fuelOverride: opts.fuelOverride }),
        wallClockMs: tool.limits.wallClockMs,
        maxOutputBytes: tool.limits.outputBytes,
        ...(peer?.signal === undefined ? {} : { signal: peer.signal }),
        ...(report === undefined
          ? {}
          : {
              onProgress: (done: number, total: number) => {
                reports.progress += 1;
                report(total > 0 ? { progress: done, total } : { progress: done });
              },
            }),
        ...(bridge === null ? {} : { onSample: bridge.answer }),
      });
    } catch (err) {
      if (!(err instanceof CordonError)) throw err;
      // The cell died or was killed (backstop deadline, violation): this session is over, and
      // the reaper takes whatever the cell left behind now, not at the idle timeout.
      await this.expire(this, err.code === "ERR_CELL_EXITED" ? "cell-exited" : "closed");
      this.closed = true;
      const enforcer = err.code === "ERR_CELL_EXITED" && err.fields()["signal"] === "backstop-deadline" ? { enforcer: "cell-watchdog" as const } : {};
      const auditSeq = await this.record({ type: "call.failed", ...enforcer, tool: toolName, ...errorFields(err) });
      return { ok: false, error: err, logs: [], auditSeq };
    } finally {
      ticker?.stop();
    }
    const counts = { progressReports: reports.progress, ...(bridge === null ? {} : { samplingRequests: bridge.requests() }) };
    if (!outcome.ok && outcome.error instanceof CallCancelled) return this.cancelled(tool.name, outcome.error, counts);
    return this.settle(tool, outcome, counts);
  }

  /** A cancelled call: recorded with how far it got and how its work was stopped. */
  private async cancelled(tool: string, error: CallCancelled, counts: Readonly<Record<string, number>> = {}): Promise<ToolResult> {
    const auditSeq = await this.record({ type: "call.cancelled", tool, ...errorFields(error), ...counts });
    return { ok: false, error, logs: [], auditSeq };
  }

  private async settle(tool: LoadedTool, outcome: CallOutcome, counts: Readonly<Record<string, number>>): Promise<ToolResult> {
    const name = tool.name;
    for (const d of outcome.denials) {
      await this.record({ type: "guest.denied", enforcer: d.enforcer, tool: name, count: d.count, codes: { ...d.codes }, ops: { ...d.ops } });
    }
    const stats = { fuelUsed: outcome.stats.fuelUsed, wallUs: outcome.stats.wallUs, memoryBytes: outcome.stats.memoryBytes, ...counts };
    if (!outcome.ok) {
      const event = outcome.enforcer === null ? { type: "call.failed" } : { type: "limit.exceeded", enforcer: outcome.enforcer };
      const auditSeq = await this.record({ ...event, tool: name, ...stats, ...errorFields(outcome.error) });
      return { ok: false, error: outcome.error, logs: outcome.logs, auditSeq };
    }
    let output: Json;
    try {
      output = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(outcome.output)) as Json;
    } catch {
      const error = new GuestOutputInvalid(outcome.output.byteLength);
      const auditSeq = await this.record({ type: "call.failed", tool: name, ...stats, ...errorFields(error) });
      return { ok: false, error, logs: outcome.logs, auditSeq };
    }
    const digest = { outputBytes: outcome.output.byteLength, outputSha256: sha256Hex(outcome.output) };
    // output-check: only the content types and the structure the policy declares leave here.
    const checked = checkResult(tool.output, output);
    if (!checked.ok) {
      const error = new OutputRefused(name, checked.issues);
      const auditSeq = await this.record({ type: "call.failed", enforcer: "output-check", tool: name, ...stats, ...digest, ...errorFields(error) });
      return { ok: false, error, logs: outcome.logs, auditSeq };
    }
    const auditSeq = await this.record({ type: "call.completed", tool: name, ...stats, ...digest, logLines: outcome.logs.length });
    return { ok: true, output, result: checked.result, logs: outcome.logs, auditSeq };
  }

  toolNames(): string[] {
    return this.host.toolNames();
  }

  get isolation(): ToolHost["isolation"] {
    return this.host.isolation;
  }

  /** The host, for probes that attack the cell itself. */
  get toolHost(): ToolHost {
    return this.host;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.host.close();
  }
}
