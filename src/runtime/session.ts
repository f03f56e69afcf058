// One session: one role, one cell, never shared. The control plane decides and records; the
// cell runs guest code. Every allow is durable in the audit log before the call starts, and a
// result is released only after its record is durable.
import type { AuditEvent, AuditLog } from "../audit/index.js";
import { CordonError, GuestOutputInvalid, InputInvalid, LimitExceeded, SessionExpired, ToolNotFound, type Json, type SessionEndReason } from "../errors.js";
import { evaluate } from "../policy/evaluate.js";
import type { LoadedPolicy, LoadedTool } from "../policy/load-policy.js";
import { sha256Hex } from "../crypto/digest.js";
import type { ToolHost } from "../tier/tool-host.js";
import type { Principal } from "../authn/principal.js";
import type { CallOutcome } from "../wasm/engine/types.js";
import type { CallOptions } from "../wasm/engine/wasm-cell.js";
import { clip, errorFields } from "../audit/fields.js";
import type { EnforcerName } from "../enforcers.js";

export type ToolResult =
  | { readonly ok: true; readonly output: Json; readonly logs: readonly string[]; readonly auditSeq: number }
  | { readonly ok: false; readonly error: CordonError; readonly logs: readonly string[]; readonly auditSeq: number };

export interface SessionLimits {
  /** End the session after this long without a call. */
  readonly idleMs: number;
  /** End the session this long after it opened, however busy. */
  readonly lifetimeMs: number;
  /** End the session after this many calls. */
  readonly maxCalls: number;
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
  ) {
    this.view = { roles: new Map([[role, [...tools.keys()]]]), tools };
  }

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
  async call(toolName: string, input: Json, opts: CallOptions = {}): Promise<ToolResult> {
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
    const bytes = new TextEncoder().encode(encoded);
    const decision = evaluate(this.view, { role: this.role }, { tool: toolName, input, inputBytes: bytes.byteLength });
    // The cell is the physical check: a tool it was not built with does not exist there.
    const denial: { enforcer: EnforcerName; error: CordonError } | null = !decision.allow
      ? decision
      : this.host.has(toolName)
        ? null
        : { enforcer: "role-toolset", error: new ToolNotFound(toolName) };
    if (denial !== null || !decision.allow) {
      const { error, enforcer } = denial ?? { enforcer: "role-toolset", error: new ToolNotFound(toolName) };
      const type = error instanceof LimitExceeded ? "limit.exceeded" : "call.denied";
      const fields = error instanceof InputInvalid ? { code: error.code, problems: error.issues.length } : errorFields(error);
      const auditSeq = await this.record({ type, enforcer, inputBytes: bytes.byteLength, ...fields, tool: clip(toolName) });
      return { ok: false, error, logs: [], auditSeq };
    }
    await this.record({ type: "call.allowed", tool: toolName, inputBytes: bytes.byteLength, inputSha256: sha256Hex(bytes) });
    let outcome: CallOutcome;
    try {
      outcome = await this.host.call(toolName, bytes, { ...opts, wallClockMs: decision.tool.limits.wallClockMs, maxOutputBytes: decision.tool.limits.outputBytes });
    } catch (err) {
      if (!(err instanceof CordonError)) throw err;
      // The cell died or was killed (backstop deadline, violation): this session is over, and
      // the reaper takes whatever the cell left behind now, not at the idle timeout.
      await this.expire(this, err.code === "ERR_CELL_EXITED" ? "cell-exited" : "closed");
      this.closed = true;
      const enforcer = err.code === "ERR_CELL_EXITED" && err.fields()["signal"] === "backstop-deadline" ? { enforcer: "cell-watchdog" as const } : {};
      const auditSeq = await this.record({ type: "call.failed", ...enforcer, tool: toolName, ...errorFields(err) });
      return { ok: false, error: err, logs: [], auditSeq };
    }
    return this.settle(toolName, outcome);
  }

  private async settle(tool: string, outcome: CallOutcome): Promise<ToolResult> {
    for (const d of outcome.denials) {
      await this.record({ type: "guest.denied", enforcer: d.enforcer, tool, count: d.count, codes: { ...d.codes }, ops: { ...d.ops } });
    }
    const stats = { fuelUsed: outcome.stats.fuelUsed, wallUs: outcome.stats.wallUs, memoryBytes: outcome.stats.memoryBytes };
    if (!outcome.ok) {
      const event = outcome.enforcer === null ? { type: "call.failed" } : { type: "limit.exceeded", enforcer: outcome.enforcer };
      const auditSeq = await this.record({ ...event, tool, ...stats, ...errorFields(outcome.error) });
      return { ok: false, error: outcome.error, logs: outcome.logs, auditSeq };
    }
    let output: Json;
    try {
      output = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(outcome.output)) as Json;
    } catch {
      const error = new GuestOutputInvalid(outcome.output.byteLength);
      const auditSeq = await this.record({ type: "call.failed", tool, ...stats, ...errorFields(error) });
      return { ok: false, error, logs: outcome.logs, auditSeq };
    }
    const auditSeq = await this.record({
      type: "call.completed",
      tool,
      ...stats,
      outputBytes: outcome.output.byteLength,
      outputSha256: sha256Hex(outcome.output),
      logLines: outcome.logs.length,
    });
    return { ok: true, output, logs: outcome.logs, auditSeq };
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
