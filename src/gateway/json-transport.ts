// The Streamable HTTP transport for one MCP session when every answer is a single JSON body
// (the gateway's jsonResponse mode), written straight onto node:http. The SDK's transport
// converts each request to a WebStandard Request, its answer to a Response, and checks each
// outgoing message against zod schemas; on a tool call that was about half of what the gateway
// added to the call (measured by the gateway load benchmark). The wire behaviour is the SDK's
// JSON mode: the same checks in the same order with the same status codes and JSON-RPC errors,
// except that GET gets 405 (allowed by the spec: the session server never sends anything a
// client did not ask for, so there is nothing to stream), and a request id already waiting for
// its answer is refused with 400 (-32600) rather than left to overwrite the first.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Transport, TransportSendOptions } from "@modelcontextprotocol/sdk/shared/transport.js";
import {
  isInitializeRequest, JSONRPCMessageSchema, SUPPORTED_PROTOCOL_VERSIONS,
  type JSONRPCErrorResponse, type JSONRPCMessage, type JSONRPCResultResponse, type MessageExtraInfo, type RequestId,
} from "@modelcontextprotocol/sdk/types.js";

/** Largest batch accepted (the SDK's limit). */
export const MAX_BATCH = 100;

export interface JsonTransportOptions {
  readonly sessionIdGenerator: () => string;
  readonly onsessioninitialized?: (id: string) => void;
  /** Called on DELETE before the transport closes; the 200 waits for it. */
  readonly onsessionclosed?: (id: string) => Promise<void> | void;
}

type Answer = JSONRPCResultResponse | JSONRPCErrorResponse;

// Structural routing of messages JSONRPCMessageSchema has already accepted (or the SDK built).
const isRequest = (m: JSONRPCMessage): m is Extract<JSONRPCMessage, { method: string; id: RequestId }> => "method" in m && "id" in m;
const isAnswer = (m: JSONRPCMessage): m is Answer & { id: RequestId } => !("method" in m) && m.id !== undefined && ("result" in m || "error" in m);

/** The media type of a Content-Type value, without parameters, lower-cased. */
function mediaType(header: string | undefined): string {
  return (header ?? "").split(";")[0]?.trim().toLowerCase() ?? "";
}

function single(header: string | string[] | undefined): string | undefined {
  return Array.isArray(header) ? header[0] : header;
}

function sendError(res: ServerResponse, status: number, code: number, message: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { "content-type": "application/json", ...headers });
  res.end(JSON.stringify({ jsonrpc: "2.0", error: { code, message }, id: null }));
}

export class JsonResponseTransport implements Transport {
  sessionId?: string;
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage, extra?: MessageExtraInfo) => void;
  #initialized = false;
  #closed = false;
  /** Requests awaiting their answer, by id. */
  readonly #waiting = new Map<RequestId, (answer: Answer) => void>();

  constructor(private readonly opts: JsonTransportOptions) {}

  start(): Promise<void> {
    return Promise.resolve();
  }

  /** Answers go back on their request's HTTP response; anything else has no stream to go on. */
  send(message: JSONRPCMessage, options?: TransportSendOptions): Promise<void> {
    void options;
    if (isAnswer(message)) {
      const deliver = this.#waiting.get(message.id);
      this.#waiting.delete(message.id);
      deliver?.(message);
    }
    return Promise.resolve();
  }

  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    // Nothing waits forever: a request still open gets a JSON-RPC error.
    for (const [id, deliver] of this.#waiting) deliver({ jsonrpc: "2.0", id, error: { code: -32000, message: "Connection closed" } });
    this.#waiting.clear();
    this.onclose?.();
    return Promise.resolve();
  }

  async handleRequest(req: IncomingMessage, res: ServerResponse, parsedBody?: unknown): Promise<void> {
    if (req.method === "POST") return this.post(req, res, parsedBody);
    if (req.method === "DELETE") return this.delete(req, res);
    sendError(res, 405, -32000, "Method not allowed.", { allow: "POST, DELETE" });
  }

  /** The checks every request after initialize passes (session id, then protocol version). */
  private refuseSession(req: IncomingMessage, res: ServerResponse): boolean {
    if (!this.#initialized) {
      sendError(res, 400, -32000, "Bad Request: Server not initialized");
      return true;
    }
    const sid = single(req.headers["mcp-session-id"]);
    if (sid === undefined || sid === "") {
      sendError(res, 400, -32000, "Bad Request: Mcp-Session-Id header is required");
      return true;
    }
    if (sid !== this.sessionId) {
      sendError(res, 404, -32001, "Session not found");
      return true;
    }
    const version = single(req.headers["mcp-protocol-version"]);
    if (version !== undefined && !SUPPORTED_PROTOCOL_VERSIONS.includes(version)) {
      sendError(res, 400, -32000, `Bad Request: Unsupported protocol version: ${version} (supported versions: ${SUPPORTED_PROTOCOL_VERSIONS.join(", ")})`);
      return true;
    }
    return false;
  }

  private async post(req: IncomingMessage, res: ServerResponse, body: unknown): Promise<void> {
    const accept = single(req.headers.accept) ?? "";
    if (!accept.includes("application/json") || !accept.includes("text/event-stream")) {
      return sendError(res, 406, -32000, "Not Acceptable: Client must accept both application/json and text/event-stream");
    }
    if (mediaType(single(req.headers["content-type"])) !== "application/json") {
      return sendError(res, 415, -32000, "Unsupported Media Type: Content-Type must be application/json");
    }
    const batch = Array.isArray(body);
    if (batch && body.length > MAX_BATCH) return sendError(res, 400, -32600, `Invalid Request: Batch must not exceed ${MAX_BATCH} messages`);
    const messages: JSONRPCMessage[] = [];
    for (const raw of batch ? (body as unknown[]) : [body]) {
      const parsed = JSONRPCMessageSchema.safeParse(raw);
      if (!parsed.success) return sendError(res, 400, -32700, "Parse error: Invalid JSON-RPC message");
      messages.push(parsed.data);
    }
    if (this.#closed) return sendError(res, 404, -32001, "Session not found");
    const initializing = messages.some((m) => "method" in m && m.method === "initialize" && isInitializeRequest(m));
    if (initializing) {
      if (this.#initialized) return sendError(res, 400, -32600, "Invalid Request: Server already initialized");
      if (messages.length > 1) return sendError(res, 400, -32600, "Invalid Request: Only one initialization request is allowed");
      this.sessionId = this.opts.sessionIdGenerator();
      this.#initialized = true;
      this.opts.onsessioninitialized?.(this.sessionId);
    } else if (this.refuseSession(req, res)) {
      return;
    }
    const extra: MessageExtraInfo = { requestInfo: { headers: req.headers } };
    const requests = messages.filter(isRequest);
    if (requests.length === 0) {
      for (const m of messages) this.onmessage?.(m, extra);
      res.writeHead(202).end();
      return;
    }
    if (requests.some((r) => this.#waiting.has(r.id)) || new Set(requests.map((r) => r.id)).size !== requests.length) {
      return sendError(res, 400, -32600, "Invalid Request: a request id is already in use");
    }
    const answers = requests.map((r) => new Promise<Answer>((resolve) => this.#waiting.set(r.id, resolve)));
    for (const m of messages) this.onmessage?.(m, extra);
    const done = await Promise.all(answers);
    const headers: Record<string, string> = { "content-type": "application/json" };
    if (this.sessionId !== undefined) headers["mcp-session-id"] = this.sessionId;
    res.writeHead(200, headers);
    res.end(JSON.stringify(done.length === 1 ? done[0] : done));
  }

  private async delete(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (this.refuseSession(req, res)) return;
    try {
      await this.opts.onsessionclosed?.(this.sessionId ?? "");
      res.writeHead(200).end();
    } finally {
      await this.close();
    }
  }
}
