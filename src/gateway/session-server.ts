// One MCP server per cordon session. tools/list is what the session's cell holds (never a
// filter over the whole policy); tools/call goes to that session and nowhere else, with the
// call's client reachable only as client-peer.ts offers it (cancellation, progress, approval,
// sampling); resources, prompts and completions are the role's (session-catalog.ts). No method
// here changes a grant: the management plane is not MCP.
import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import { CallToolRequestSchema, ErrorCode, ListToolsRequestSchema, LoggingLevelSchema, McpError, SetLevelRequestSchema, type CallToolResult, type Tool } from "@modelcontextprotocol/sdk/types.js";
import { CordonError, LimitExceeded, type Json } from "../errors.js";
import type { LoadedPolicy } from "../policy/load-policy.js";
import { clip } from "../audit/fields.js";
import type { Session, ToolResult } from "../runtime/session.js";
import { clientPeer } from "./client-peer.js";
import { RpcError } from "./rpc-error.js";
import { catalogCapabilities, serveCatalog } from "./session-catalog.js";

export { RpcError } from "./rpc-error.js";

export const SERVER_INFO = Object.freeze({ name: "cordon", version: "0.1.0" });

/** Largest text a tools/call result may carry, whatever the tool's own output limit. */
export const DEFAULT_MAX_RESULT_BYTES = 1024 * 1024;

/**
 * Codes whose message and fields describe the caller's own call (its input, its tool's limits,
 * its guest's trap) and may be shown to it. Anything else (a cell that died, an audit write
 * that failed) reaches the caller as its code and a generic hint only.
 */
const CALLER_FACING = new Set([
  "ERR_LIMIT_EXCEEDED",
  "ERR_INPUT_INVALID",
  "ERR_GUEST_TRAP",
  "ERR_GUEST_EXIT",
  "ERR_GUEST_OUTPUT_INVALID",
  "ERR_SESSION_EXPIRED",
  "ERR_CALL_CANCELLED",
  "ERR_APPROVAL_DECLINED",
  "ERR_APPROVAL_UNANSWERED",
  "ERR_APPROVAL_UNSUPPORTED",
  "ERR_APPROVAL_INVALID",
  "ERR_OUTPUT_REFUSED",
]);

/** Deepest tool arguments accepted; deeper is refused before anything serialises them recursively. */
export const MAX_ARGUMENT_DEPTH = 64;

const LOG_LEVELS: readonly string[] = LoggingLevelSchema.options;

const INTERNAL_HINT = "the call did not complete; the operator can find it in the audit log by its seq";

export interface SessionServerOptions {
  readonly session: Session;
  readonly policy: Pick<LoadedPolicy, "tools">;
  readonly maxResultBytes?: number;
  /**
   * Whether guest log lines can reach the client (default true). Over HTTP with JSON responses
   * (no SSE) the transport drops a call's notifications, so the gateway says false and they are
   * not built and sent only to be dropped.
   */
  readonly streamsNotifications?: boolean;
  /** How long a human approval may wait for its answer (default 120 s). */
  readonly approvalTimeoutMs?: number;
  /** Elapsed-time progress ticks for tools that report none (default 1000 ms). */
  readonly progressTickMs?: number;
  /** How often subscribed resources are checked for changes (default 2000 ms). */
  readonly resourcePollMs?: number;
}

/** The tools this session's cell holds, described from the policy. */
export function listTools(session: Pick<Session, "toolNames">, policy: Pick<LoadedPolicy, "tools">): Tool[] {
  const tools: Tool[] = [];
  for (const name of session.toolNames()) {
    const tool = policy.tools.get(name);
    if (tool === undefined) continue;
    tools.push({ name, description: tool.description, inputSchema: tool.inputSchema as Tool["inputSchema"], ...(tool.output.schema === null ? {} : { outputSchema: tool.output.schema as Tool["outputSchema"] }) });
  }
  return tools;
}

function textResult(value: Json, isError: boolean): CallToolResult {
  return { content: [{ type: "text", text: JSON.stringify(value) }], ...(isError ? { isError: true } : {}) };
}

/** What a caller sees of a failed call: code and hint always; message and fields only for its own mistakes. */
export function errorPayload(error: CordonError, auditSeq: number): { [key: string]: Json } {
  if (!CALLER_FACING.has(error.code)) return { code: error.code, hint: INTERNAL_HINT, auditSeq };
  const payload: { [key: string]: Json } = { code: error.code, message: error.message, ...error.fields(), auditSeq };
  if (error.hint !== undefined) payload["hint"] = error.hint;
  if ("output" in error && error.output instanceof Uint8Array && error.output.byteLength > 0) {
    payload["guestReport"] = new TextDecoder().decode(error.output.subarray(0, 4096));
  }
  return payload;
}

/**
 * Maps a cordon ToolResult to MCP: success is its checked content blocks, or text holding the
 * JSON output, with its structured content (size-capped); a denial, trap or limit is an
 * `isError` result with its code and hint. An unknown tool is a JSON-RPC error (-32602), as the
 * MCP spec asks; it is thrown, not returned.
 */
export function toCallResult(toolName: string, result: ToolResult, maxBytes = DEFAULT_MAX_RESULT_BYTES): CallToolResult {
  if (!result.ok) {
    if (result.error.code === "ERR_TOOL_NOT_FOUND") {
      throw new RpcError(ErrorCode.InvalidParams, `Unknown tool: ${JSON.stringify(clip(toolName))}`, { code: result.error.code, auditSeq: result.auditSeq });
    }
    return textResult({ error: errorPayload(result.error, result.auditSeq) }, true);
  }
  const { blocks, structured } = result.result;
  // Without declared content types a tool whose output is a JSON string answers with that
  // text, anything else as JSON text; with them, its checked blocks are the content.
  const content = blocks === null ? [{ type: "text" as const, text: typeof result.output === "string" ? result.output : JSON.stringify(result.output) }] : blocks.map((b) => ({ ...b }));
  const bytes = Buffer.byteLength(JSON.stringify(content), "utf8") + (structured === null || blocks === null ? 0 : Buffer.byteLength(JSON.stringify(structured), "utf8"));
  if (bytes > maxBytes) {
    return textResult({ error: errorPayload(new LimitExceeded("output", bytes, maxBytes), result.auditSeq) }, true);
  }
  return { content: content, ...(structured === null ? {} : { structuredContent: structured }) };
}

/** A low-level MCP Server answering for exactly one cordon session. */
export function createSessionServer(opts: SessionServerOptions): Server {
  const { session, policy } = opts;
  const maxBytes = opts.maxResultBytes ?? DEFAULT_MAX_RESULT_BYTES;
  const streams = opts.streamsNotifications ?? true;
  const server = new Server(SERVER_INFO, {
    capabilities: { tools: { listChanged: false }, logging: {}, ...catalogCapabilities(session, streams) },
    instructions: `cordon session for role ${session.role}: these tools run in a sandboxed cell; every call is audited.`,
  });
  serveCatalog(server, session, { streams, ...(opts.resourcePollMs === undefined ? {} : { resourcePollMs: opts.resourcePollMs }) }, guard);
  // Guest log lines (tools with the `log` grant) go to the client as `info` notifications on the
  // call's own stream, unless the client raised the level above info.
  let logsWanted = opts.streamsNotifications ?? true;
  server.setRequestHandler(SetLevelRequestSchema, (request) => {
    logsWanted = (opts.streamsNotifications ?? true) && LOG_LEVELS.indexOf(request.params.level) <= LOG_LEVELS.indexOf("info");
    return {};
  });
  server.setRequestHandler(ListToolsRequestSchema, () => guard(() => ({ tools: listTools(session, policy) })));
  server.setRequestHandler(CallToolRequestSchema, (request, extra) =>
    guard(async () => {
      const { name, arguments: args, task } = request.params;
      if (task !== undefined) throw new RpcError(ErrorCode.InvalidParams, "task-augmented tool calls are not supported");
      const client = clientPeer(server, extra, {
        streams,
        ...(opts.approvalTimeoutMs === undefined ? {} : { approvalTimeoutMs: opts.approvalTimeoutMs }),
        ...(opts.progressTickMs === undefined ? {} : { progressTickMs: opts.progressTickMs }),
      });
      const result = await session.call(name, plainArguments(args ?? {}), { peer: client.peer });
      // Progress goes out before the answer it belongs to.
      await client.flushed();
      for (const line of logsWanted ? result.logs : []) {
        await extra.sendNotification({ method: "notifications/message", params: { level: "info", logger: clip(name), data: line } }).catch(() => undefined);
      }
      return toCallResult(name, result, maxBytes);
    }),
  );
  return server;
}

/** Nesting depth of a parsed JSON value, counted without recursion (a stack cannot overflow here). */
export function jsonDepth(value: unknown, stopAt = Infinity): number {
  let max = 0;
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [v, d] = stack.pop() as [unknown, number];
    if (typeof v !== "object" || v === null) continue;
    max = Math.max(max, d + 1);
    if (max > stopAt) return max;
    for (const child of Object.values(v)) stack.push([child, d + 1]);
  }
  return max;
}

/**
 * Tool arguments as plain JSON: depth-checked, then re-parsed so that no prototype trick (a
 * `__proto__` key turned into a prototype by a parser) survives into the session.
 */
function plainArguments(args: Record<string, unknown>): Json {
  if (jsonDepth(args, MAX_ARGUMENT_DEPTH) > MAX_ARGUMENT_DEPTH) {
    throw new RpcError(ErrorCode.InvalidParams, `arguments nest deeper than ${MAX_ARGUMENT_DEPTH} levels`);
  }
  return JSON.parse(JSON.stringify(args)) as Json;
}

/**
 * Runs a handler so that only deliberate protocol errors reach the wire: the SDK would send any
 * other error's message to the client, and an internal message may name paths or state.
 */
async function guard<T>(fn: () => T | Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof RpcError || err instanceof McpError) throw err;
    const code = err instanceof CordonError ? err.code : "ERR_INTERNAL";
    throw new RpcError(ErrorCode.InternalError, "Internal error", { code });
  }
}
