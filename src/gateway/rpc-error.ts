// How the HTTP gateway answers a request it refuses: a JSON-RPC error with no id (the request's
// id is not trusted or not known yet) and cordon's code in `data`, never a message of the cause.
import type { ServerResponse } from "node:http";
import type { Json } from "../errors.js";

export function sendRpcError(res: ServerResponse, status: number, rpcCode: number, message: string, code: string, headers: Record<string, string> = {}): void {
  const data: Json = { code };
  res.writeHead(status, { "content-type": "application/json", ...headers });
  res.end(JSON.stringify({ jsonrpc: "2.0", error: { code: rpcCode, message, data }, id: null }));
}

export function sendBodyError(res: ServerResponse, body: { status: 413 | 400; rpcCode: number; message: string }): void {
  sendRpcError(res, body.status, body.rpcCode, body.message, body.status === 413 ? "ERR_GATEWAY_BODY_TOO_LARGE" : "ERR_GATEWAY_PARSE", body.status === 413 ? { connection: "close" } : {});
}

/**
 * A JSON-RPC error for the wire, thrown from a request handler. The SDK sends a thrown error's
 * `code`, `message` and `data`; McpError would prefix its own "MCP error <code>:" to the
 * message, which clients prefix again.
 */
export class RpcError extends Error {
  constructor(readonly code: number, message: string, readonly data?: Json) {
    super(message);
    this.name = "RpcError";
  }
}
