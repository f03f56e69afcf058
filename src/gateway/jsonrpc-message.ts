// What a client may send cordon, checked once at the edge for every transport (HTTP with SSE
// or JSON answers, and stdio): one JSON-RPC 2.0 object, as the MCP revisions cordon serves
// define it. Valid JSON that is not such an object is an Invalid Request (-32600), never a parse
// error (-32700, which is for bytes that are not JSON at all). Batches are refused: JSON-RPC
// batching was added in MCP 2025-03-26 and removed in 2025-06-18, and cordon answers every
// session as 2025-06-18 and later do (README, "The MCP gateway"). Pure.
import { JSONRPCMessageSchema, type JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";

export const PARSE_ERROR = -32700;
export const INVALID_REQUEST = -32600;

/** Why a JSON value is not a message cordon accepts (for tests and hints; never echoed raw). */
export type InvalidReason =
  | "batch"
  | "not-an-object"
  | "jsonrpc-version"
  | "method-not-a-string"
  | "id-invalid"
  | "request-with-result"
  | "response-shape"
  | "not-a-message"
  | "schema";

export type Inspected =
  | { readonly ok: true; readonly message: JSONRPCMessage; readonly kind: "request" | "notification" | "response" }
  | { readonly ok: false; readonly reason: InvalidReason };

/** An MCP request id: a string or an integer JSON-RPC can carry exactly (never null, a float, an object). */
export function isRequestId(id: unknown): id is string | number {
  return typeof id === "string" || Number.isSafeInteger(id);
}

function has(o: object, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(o, key);
}

/**
 * Classifies one parsed JSON body or stdio line. A request needs a string method and a string
 * or safe-integer id; a notification has a method and no id member at all; a response has an
 * id and exactly one of result or error. Anything else, or anything the SDK's own message
 * schema refuses (so that the SDK never answers it with its own -32700), is invalid.
 */
export function inspectMessage(value: unknown): Inspected {
  if (Array.isArray(value)) return { ok: false, reason: "batch" };
  if (typeof value !== "object" || value === null) return { ok: false, reason: "not-an-object" };
  const o = value as Record<string, unknown>;
  if (o["jsonrpc"] !== "2.0") return { ok: false, reason: "jsonrpc-version" };
  let kind: "request" | "notification" | "response";
  if (has(o, "method")) {
    if (typeof o["method"] !== "string") return { ok: false, reason: "method-not-a-string" };
    if (has(o, "result") || has(o, "error")) return { ok: false, reason: "request-with-result" };
    if (has(o, "id") && !isRequestId(o["id"])) return { ok: false, reason: "id-invalid" };
    kind = has(o, "id") ? "request" : "notification";
  } else if (has(o, "result") || has(o, "error")) {
    if (has(o, "result") === has(o, "error")) return { ok: false, reason: "response-shape" };
    // An error answer may lack an id (the SDK's schema); a result always names its request.
    if ((has(o, "id") || has(o, "result")) && !isRequestId(o["id"])) return { ok: false, reason: "id-invalid" };
    kind = "response";
  } else {
    return { ok: false, reason: "not-a-message" };
  }
  const parsed = JSONRPCMessageSchema.safeParse(value);
  if (!parsed.success) return { ok: false, reason: "schema" };
  return { ok: true, message: parsed.data, kind };
}

/** The error object cordon answers an invalid message with: always id null (it is not trusted). */
export function invalidRequestAnswer(data?: Readonly<Record<string, string>>): { jsonrpc: "2.0"; id: null; error: { code: number; message: string; data?: Readonly<Record<string, string>> } } {
  return { jsonrpc: "2.0", id: null, error: { code: INVALID_REQUEST, message: "Invalid Request", ...(data === undefined ? {} : { data }) } };
}

export function parseErrorAnswer(data?: Readonly<Record<string, string>>): { jsonrpc: "2.0"; id: null; error: { code: number; message: string; data?: Readonly<Record<string, string>> } } {
  return { jsonrpc: "2.0", id: null, error: { code: PARSE_ERROR, message: "Parse error", ...(data === undefined ? {} : { data }) } };
}
