// Reads a request body as JSON under a byte cap. An oversized body is refused before it is
// buffered (by its Content-Length, or as soon as it passes the cap) and then drained, not parsed.
import type { IncomingMessage } from "node:http";

/** After refusing a body, read and discard at most this much more before dropping the connection. */
const DRAIN_LIMIT = 16 * 1024 * 1024;

export type BodyResult =
  | { readonly ok: true; readonly value: unknown }
  | { readonly ok: false; readonly status: 413 | 400; readonly rpcCode: number; readonly message: string };

const TOO_LARGE = (max: number): BodyResult => ({ ok: false, status: 413, rpcCode: -32600, message: `Request body exceeds ${max} bytes` });
const PARSE_ERROR: BodyResult = { ok: false, status: 400, rpcCode: -32700, message: "Parse error: Invalid JSON" };

export async function readJsonBody(req: IncomingMessage, maxBytes: number): Promise<BodyResult> {
  const declared = Number(req.headers["content-length"] ?? "0");
  if (Number.isFinite(declared) && declared > maxBytes) {
    drain(req, 0);
    return TOO_LARGE(maxBytes);
  }
  const collected = await collect(req, maxBytes);
  if (collected === null) return TOO_LARGE(maxBytes);
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

/** The whole body, or null once it passes `maxBytes` (the rest is then drained, unbuffered). */
function collect(req: IncomingMessage, maxBytes: number): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    const onData = (chunk: Buffer) => {
      total += chunk.byteLength;
      if (total <= maxBytes) {
        chunks.push(chunk);
        return;
      }
      req.off("data", onData);
      req.off("end", onEnd);
      drain(req, total);
      resolve(null);
    };
    const onEnd = () => resolve(Buffer.concat(chunks, total));
    req.on("data", onData);
    req.on("end", onEnd);
    req.once("error", reject);
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
