// Reads a request body as JSON under a byte cap and two clocks. An oversized body is refused
// before it is buffered (by its Content-Length, or as soon as it passes the cap) and then
// drained, not parsed. A body that stalls (no byte for `idleMs`) or takes longer than `totalMs`
// in all is given up on: the caller answers 408 and closes the connection (a slow-body
// client holds nothing beyond those clocks).
import type { IncomingMessage } from "node:http";
import type { TimeoutPhase } from "./errors.js";

/** After refusing a body, read and discard at most this much more before dropping the connection. */
const DRAIN_LIMIT = 16 * 1024 * 1024;

export interface BodyTimeouts {
  /** Longest gap between two chunks of the body. */
  readonly idleMs: number;
  /** Longest the whole body may take, from the first read. */
  readonly totalMs: number;
}

export type BodyResult =
  | { readonly ok: true; readonly value: unknown }
  | { readonly ok: false; readonly status: 413 | 400; readonly rpcCode: number; readonly message: string }
  | { readonly ok: false; readonly status: 408; readonly rpcCode: number; readonly message: string; readonly phase: Extract<TimeoutPhase, "body-idle" | "body-total">; readonly timeoutMs: number };

const TOO_LARGE = (max: number): BodyResult => ({ ok: false, status: 413, rpcCode: -32600, message: `Request body exceeds ${max} bytes` });
const PARSE_ERROR: BodyResult = { ok: false, status: 400, rpcCode: -32700, message: "Parse error: Invalid JSON" };

type Collected = Buffer | "too-large" | "body-idle" | "body-total";

export async function readJsonBody(req: IncomingMessage, maxBytes: number, timeouts?: BodyTimeouts): Promise<BodyResult> {
  const declared = Number(req.headers["content-length"] ?? "0");
  if (Number.isFinite(declared) && declared > maxBytes) {
    drain(req, 0);
    return TOO_LARGE(maxBytes);
  }
  const collected = await collect(req, maxBytes, timeouts);
  if (collected === "too-large") return TOO_LARGE(maxBytes);
  if (collected === "body-idle" || collected === "body-total") {
    const timeoutMs = collected === "body-idle" ? (timeouts?.idleMs ?? 0) : (timeouts?.totalMs ?? 0);
    return { ok: false, status: 408, rpcCode: -32000, message: "Request Timeout: the body was not received in time", phase: collected, timeoutMs };
  }
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(collected);
  } catch {
    return PARSE_ERROR;
  }
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch {
    return PARSE_ERROR;
  }
}

/** The whole body; or why not: past `maxBytes` (the rest is then drained, unbuffered), or a clock ran out. */
function collect(req: IncomingMessage, maxBytes: number, timeouts: BodyTimeouts | undefined): Promise<Collected> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    let idle: NodeJS.Timeout | undefined;
    let whole: NodeJS.Timeout | undefined;
    const stop = () => {
      clearTimeout(idle);
      clearTimeout(whole);
      req.off("data", onData);
      req.off("end", onEnd);
      req.off("error", onError);
    };
    const giveUp = (why: "body-idle" | "body-total") => () => {
      stop();
      // Nothing more is read: the caller answers 408 and the connection closes.
      req.pause();
      req.on("error", () => undefined);
      resolve(why);
    };
    const armIdle = () => {
      if (timeouts === undefined) return;
      clearTimeout(idle);
      idle = setTimeout(giveUp("body-idle"), timeouts.idleMs);
    };
    const onData = (chunk: Buffer) => {
      total += chunk.byteLength;
      if (total <= maxBytes) {
        chunks.push(chunk);
        armIdle();
        return;
      }
      stop();
      drain(req, total);
      resolve("too-large");
    };
    const onEnd = () => {
      stop();
      resolve(Buffer.concat(chunks, total));
    };
    const onError = (err: Error) => {
      stop();
      reject(err);
    };
    if (timeouts !== undefined) whole = setTimeout(giveUp("body-total"), timeouts.totalMs);
    armIdle();
    req.on("data", onData);
    req.on("end", onEnd);
    req.once("error", onError);
  });
}

/** Lets the client finish sending (so it can read the refusal), up to a limit, then hangs up. */
function drain(req: IncomingMessage, already: number): void {
  let seen = already;
  req.on("data", (chunk: Buffer) => {
    seen += chunk.byteLength;
    if (seen > DRAIN_LIMIT) req.destroy();
  });
  req.on("error", () => undefined);
  req.resume();
}
