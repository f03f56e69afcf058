// The Streamable HTTP transport for one MCP session when every answer is a single JSON body
// (the gateway's jsonResponse mode), written straight onto node:http. The SDK's transport
// converts each request to a WebStandard Request, its answer to a Response, and checks each
// outgoing message against zod schemas; on a tool call that was about half of what the gateway
// added to the call (measured by the gateway load benchmark). The wire behaviour is the SDK's
// JSON mode: the same checks in the same order with the same status codes and JSON-RPC errors,
// except that GET gets 405 (allowed by the spec: the session server never sends anything a
// client did not ask for, so there is nothing to stream), a request id already waiting for
// its answer is refused with 400 (-32600) rather than left to overwrite the first, and a body
// that is valid JSON but not one JSON-RPC message (a batch, an id null or 1.5, no method) is
// 400 with -32600 Invalid Request where the SDK says -32700 (jsonrpc-message.ts).
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Transport, TransportSendOptions } from "@modelcontextprotocol/sdk/shared/transport.js";
import {
  isInitializeRequest, SUPPORTED_PROTOCOL_VERSIONS,
  type JSONRPCErrorResponse, type JSONRPCMessage, type JSONRPCResultResponse, type MessageExtraInfo, type RequestId,
} from "@modelcontextprotocol/sdk/types.js";
import { INVALID_REQUEST, inspectMessage } from "./jsonrpc-message.js";

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
    // One JSON-RPC object per POST: a batch, or valid JSON that is no message, is -32600.
    const inspected = inspectMessage(body);
    if (!inspected.ok) return sendError(res, 400, INVALID_REQUEST, "Invalid Request");
    const { message } = inspected;
    if (this.#closed) return sendError(res, 404, -32001, "Session not found");
    if (isInitializeRequest(message)) {
      if (this.#initialized) return sendError(res, 400, INVALID_REQUEST, "Invalid Request: Server already initialized");
      this.sessionId = this.opts.sessionIdGenerator();
      this.#initialized = true;
      this.opts.onsessioninitialized?.(this.sessionId);
    } else if (this.refuseSession(req, res)) {
      return;
    }
    const extra: MessageExtraInfo = { requestInfo: { headers: req.headers } };
    if (!isRequest(message)) {
      // A notification or a client's answer: accepted, nothing to answer (202).
      this.onmessage?.(message, extra);
      res.writeHead(202).end();
      return;
    }
    if (this.#waiting.has(message.id)) return sendError(res, 400, INVALID_REQUEST, "Invalid Request: a request id is already in use");
    const answer = new Promise<Answer>((resolve) => this.#waiting.set(message.id, resolve));
    this.onmessage?.(message, extra);
    const done = await answer;
    const headers: Record<string, string> = { "content-type": "application/json" };
    if (this.sessionId !== undefined) headers["mcp-session-id"] = this.sessionId;
    res.writeHead(200, headers);
    res.end(JSON.stringify(done));
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
