// The control plane's owner object: the loaded policy, the audit log, and the sessions.
// Nothing here is module-global; tests and the CLI each make their own Runtime.
import { randomUUID } from "node:crypto";
import type { AuditLog } from "../audit/index.js";
import { verifyDigest } from "../artifacts/verify-digest.js";
import { CordonError, PolicyWish, RoleNotFound, TierUnavailable, ToolRefused } from "../errors.js";
import type { LoadedPolicy, LoadedTool } from "../policy/load-policy.js";
import type { ToolTemplate } from "../wasm/engine/types.js";
import { WasmCell } from "../wasm/engine/wasm-cell.js";
import { errorFields } from "./audit-fields.js";
import { publishGuestLog } from "./channels.js";
import { Session } from "./session.js";

export interface RuntimeOptions {
  readonly policy: LoadedPolicy;
  readonly audit: AuditLog;
  /** Refuse a policy that contains a wish (the default). */
  readonly strict?: boolean;
}

export class Runtime {
  private readonly sessions = new Set<Session>();

  private constructor(
    readonly policy: LoadedPolicy,
    readonly audit: AuditLog,
  ) {}

  /** Records the policy load; in strict mode refuses (and records) a policy with any wish. */
  static async start(opts: RuntimeOptions): Promise<Runtime> {
    const { policy, audit } = opts;
    const wishes = policy.lines.filter((l) => l.status === "wish").map((l) => l.text);
    if ((opts.strict ?? true) && wishes.length > 0) {
      const error = new PolicyWish(wishes);
      await audit.append({ type: "policy.refused", policySha256: policy.sha256, ...errorFields(error) });
      throw error;
    }
    await audit.append({ type: "policy.loaded", policySha256: policy.sha256, lines: policy.lines.length, wishes: wishes.length });
    return new Runtime(policy, audit);
  }

  /** A session for `role`, whose cell holds that role's tools and nothing else. */
  async openSession(role: string): Promise<Session> {
    const names = this.policy.roles.get(role);
    if (names === undefined) {
      const error = new RoleNotFound(role.slice(0, 128));
      await this.audit.append({ type: "session.denied", enforcer: "role-toolset", ...errorFields(error) });
      throw error;
    }
    const tools = names.map((n) => this.policy.tools.get(n)).filter((t): t is LoadedTool => t !== undefined);
    return this.openCell(role, tools);
  }

  /**
   * Probes only: a session whose tools are variants of real ones (a hostile fixture under a
   * real tool's limits, tampered bytes, a temporary directory). Same checks as any session.
   */
  async openProbeSession(role: string, tools: readonly LoadedTool[]): Promise<Session> {
    return this.openCell(role, tools);
  }

  private async openCell(role: string, tools: readonly LoadedTool[]): Promise<Session> {
    const templates: ToolTemplate[] = [];
    try {
      for (const tool of tools) {
        if (tool.tier !== "wasm") throw new TierUnavailable(tool.tier, `the ${tool.tier} tier is not built yet; tool ${tool.name} cannot run`);
        const bytes = verifyDigest(tool.moduleBytes, tool.moduleSha256, tool.modulePath);
        templates.push({ name: tool.name, abi: tool.abi, moduleBytes: bytes, limits: tool.limits, grants: tool.grants });
      }
      const id = randomUUID();
      const cell = new WasmCell(templates, { onLog: (tool, line) => publishGuestLog({ session: id, tool, line }) });
      const session = new Session(id, role, new Map(tools.map((t) => [t.name, t])), cell, this.audit);
      this.sessions.add(session);
      await this.audit.append({ type: "session.opened", session: session.id, role, tools: cell.toolNames() });
      return session;
    } catch (err) {
      if (!(err instanceof CordonError)) throw err;
      const enforcer = err instanceof ToolRefused ? err.enforcer : err.code === "ERR_ARTIFACT_DIGEST_MISMATCH" ? "module-digest" : undefined;
      await this.audit.append({ type: "session.refused", role, ...(enforcer === undefined ? {} : { enforcer }), ...errorFields(err) });
      throw err;
    }
  }

  closeSession(session: Session): void {
    session.close();
    this.sessions.delete(session);
  }

  async close(): Promise<void> {
    for (const s of this.sessions) s.close();
    this.sessions.clear();
    await this.audit.close();
  }
}
