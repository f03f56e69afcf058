// The gateway's MCP sessions, each bound to the principal that opened it and to one cordon
// session: capped per principal and in total, swept when the cordon session ends, and closed
// only once every answer in flight is written. Owns its sweeper.
import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Server as McpServer } from "@modelcontextprotocol/sdk/server/index.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import { errorFields } from "../audit/fields.js";
import type { Principal } from "../authn/principal.js";
import { CordonError } from "../errors.js";
import type { Runtime } from "../runtime/runtime.js";
import type { Session } from "../runtime/session.js";
import { InFlight } from "./in-flight.js";
import { JsonResponseTransport } from "./json-transport.js";
import { sendRpcError } from "./rpc-error.js";
import { createSessionServer } from "./session-server.js";
import { principalKey, SessionTable } from "./session-table.js";

export const SESSION_LIMITS_ENFORCER = "session-limits";

/** What the gateway needs of a Runtime. */
export type GatewayRuntime = Pick<Runtime, "openSession" | "closeSession" | "policy" | "record" | "audit">;

/** Either transport: the SDK's (SSE or JSON answers) or cordon's JSON-only one. */
export type HttpTransport = Transport & { handleRequest(req: IncomingMessage, res: ServerResponse, parsedBody?: unknown): Promise<void> };

export interface Binding {
  readonly owner: string;
  readonly session: Session;
  readonly server: McpServer;
  readonly transport: HttpTransport;
  /** POSTs whose answers are not yet written: the server closes only once they are. */
  readonly inflight: InFlight;
}

export interface BindingOptions {
  readonly maxSessionsPerPrincipal: number;
  readonly maxSessions: number;
  readonly jsonResponse: boolean;
  readonly sweepMs: number;
}

export class SessionBindings {
  private readonly table: SessionTable<Binding>;
  /** MCP servers waiting for their in-flight answers before they close. */
  private readonly closing = new Set<Promise<void>>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(private readonly runtime: GatewayRuntime, private readonly opts: BindingOptions) {
    this.table = new SessionTable<Binding>(opts.maxSessionsPerPrincipal, opts.maxSessions);
    this.sweeper = setInterval(() => {
      for (const id of this.table.ids()) if (this.table.get(id)?.session.ended === true) void this.close(id);
    }, opts.sweepMs);
    this.sweeper.unref();
  }

  get size(): number {
    return this.table.size;
  }

  get(id: string): Binding | undefined {
    return this.table.get(id);
  }

  /**
   * Takes a session out of the table (its id gets 404 from now on) and ends its cordon
   * session; its MCP server closes once every request still in flight has its answer (a call
   * on an ended session answers at once, with ERR_SESSION_EXPIRED or the cell's exit).
   */
  async close(id: string | undefined): Promise<void> {
    const b = id === undefined ? undefined : this.table.take(id);
    if (b === undefined) return;
    await this.runtime.closeSession(b.session).catch(() => undefined);
    const closed: Promise<void> = b.inflight
      .drained()
      .then(() => b.server.close())
      .catch(() => undefined)
      .finally(() => this.closing.delete(closed));
    this.closing.add(closed);
  }

  /** An initialize request from `principal`: a new cordon session and its MCP server, or a refusal sent. */
  async open(req: IncomingMessage, res: ServerResponse, principal: Principal, body: unknown): Promise<void> {
    const owner = principalKey(principal);
    const exhausted = this.table.reserve(owner);
    if (exhausted !== null) {
      await this.runtime.record({ type: "session.denied", enforcer: SESSION_LIMITS_ENFORCER, ...errorFields(exhausted), role: principal.role, tokenDigest: principal.tokenDigest }).catch(() => undefined);
      sendRpcError(res, 429, -32000, "Too many sessions", exhausted.code, { "retry-after": "5" });
      return;
    }
    let session: Session;
    try {
      session = await this.runtime.openSession(principal.role, principal);
    } catch (err) {
      this.table.release(owner);
      if (!(err instanceof CordonError)) throw err;
      // openSession has recorded the refusal (an unknown role, a refused module).
      if (err.code === "ERR_ROLE_NOT_FOUND") sendRpcError(res, 403, -32000, "Forbidden: no such role", err.code);
      else sendRpcError(res, 503, -32000, "Session could not be opened", err.code);
      return;
    }
    const server = createSessionServer({ session, policy: this.runtime.policy, streamsNotifications: !this.opts.jsonResponse });
    const inflight = new InFlight();
    const lifecycle = {
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (id: string): void => this.table.bind(id, { owner, session, server, transport, inflight }),
      // DELETE: the transport closes when this returns, so wait for the answers in flight.
      onsessionclosed: async (id: string) => {
        await this.close(id);
        await inflight.drained();
      },
    };
    const transport: HttpTransport = this.opts.jsonResponse ? new JsonResponseTransport(lifecycle) : new StreamableHTTPServerTransport(lifecycle);
    server.onclose = () => void this.close(transport.sessionId);
    try {
      await server.connect(transport);
      await transport.handleRequest(req, res, body);
    } finally {
      if (transport.sessionId === undefined || this.table.get(transport.sessionId)?.session !== session) {
        // The initialize request failed: nothing was bound, so nothing else will end this session.
        this.table.release(owner);
        await this.runtime.closeSession(session).catch(() => undefined);
        await server.close().catch(() => undefined);
      }
    }
  }

  /** Ends every session, then waits until every MCP server has closed. */
  async closeAll(): Promise<void> {
    clearInterval(this.sweeper);
    await Promise.all(this.table.ids().map((id) => this.close(id)));
  }

  /** Resolves once the servers still waiting for in-flight answers have closed. */
  async drained(): Promise<void> {
    await Promise.all([...this.closing]);
  }
}
