// The witness over HTTP (node:http, no framework):
//   POST /v1/cosign        body: a JSON line {checkpoint, logPublicKey}, then the segment (JSONL)
//                          200 {cosignature} | 4xx {error: {code, ...fields}}
//   GET  /v1/logs/<log>    200 {cosignature, checkpoint}: the latest cosigned, for anyone to fetch
// A body over the cap is refused by its Content-Length or as soon as it passes the cap, never
// buffered whole. Errors carry the refusal's code and fields, never a message or a stack.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { CordonError, type Json } from "../../errors.js";
import { AuditWitnessTooLarge } from "../audit-errors.js";
import { COSIGN_PATH, MAX_WITNESS_REQUEST_BYTES } from "../witness-payload.js";
import type { Witness, WitnessRefusal } from "./witness.js";

export interface WitnessServer {
  /** The base URL clients are configured with, e.g. http://127.0.0.1:8788 */
  readonly url: string;
  close(): Promise<void>;
}

export interface WitnessServerOptions {
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
  readonly maxRequestBytes?: number;
}

const STATUS: Readonly<Record<WitnessRefusal["code"], number>> = {
  ERR_AUDIT_WITNESS_MALFORMED: 400,
  ERR_AUDIT_WITNESS_TOO_LARGE: 413,
  ERR_AUDIT_WITNESS_UNKNOWN_LOG: 404,
  ERR_AUDIT_WITNESS_SIGNATURE: 403,
  ERR_AUDIT_WITNESS_ROLLBACK: 409,
  ERR_AUDIT_WITNESS_FORK: 409,
  ERR_AUDIT_WITNESS_UNLINKED: 409,
  ERR_AUDIT_WITNESS_STALE: 409,
};

export async function startWitnessServer(witness: Witness, opts: WitnessServerOptions): Promise<WitnessServer> {
  const maxBytes = opts.maxRequestBytes ?? MAX_WITNESS_REQUEST_BYTES;
  const server = createServer({ maxHeaderSize: 8 * 1024, requestTimeout: 30_000, headersTimeout: 10_000 }, (req, res) => {
    void handle(witness, maxBytes, req, res).catch(() => answer(res, 500, { error: { code: "ERR_INTERNAL" } }));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, opts.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function handle(witness: Witness, maxBytes: number, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = new URL(req.url ?? "/", "http://witness").pathname;
  if (path === COSIGN_PATH) {
    if (req.method !== "POST") return answer(res, 405, { error: { code: "ERR_METHOD" } }, { allow: "POST" });
    const body = await readBody(req, maxBytes);
    if (body === null) {
      const err = new AuditWitnessTooLarge("bytes", maxBytes);
      await witness.refused(err);
      res.setHeader("connection", "close");
      return refusal(res, err);
    }
    try {
      return answer(res, 200, { cosignature: await witness.cosign(body) });
    } catch (err) {
      if (err instanceof CordonError && err.code in STATUS) return refusal(res, err as WitnessRefusal);
      throw err;
    }
  }
  const m = /^\/v1\/logs\/([^/]+)$/.exec(path);
  if (m !== null) {
    if (req.method !== "GET") return answer(res, 405, { error: { code: "ERR_METHOD" } }, { allow: "GET" });
    let log: string;
    try {
      log = decodeURIComponent(m[1] ?? "");
    } catch {
      return answer(res, 400, { error: { code: "ERR_AUDIT_WITNESS_MALFORMED", reason: "the log name is not URL-encoded" } });
    }
    try {
      const latest = witness.latest(log);
      return answer(res, 200, { cosignature: latest.cosignature, checkpoint: latest.checkpoint });
    } catch (err) {
      if (err instanceof CordonError && err.code in STATUS) return refusal(res, err as WitnessRefusal);
      throw err;
    }
  }
  return answer(res, 404, { error: { code: "ERR_NOT_FOUND" } });
}

function refusal(res: ServerResponse, err: WitnessRefusal): void {
  answer(res, STATUS[err.code], { error: { code: err.code, ...err.fields() } });
}

function answer(res: ServerResponse, status: number, body: Record<string, Json | object>, headers: Record<string, string> = {}): void {
  if (res.headersSent) return;
  res.writeHead(status, { "content-type": "application/json", "cache-control": "no-store", ...headers }).end(JSON.stringify(body));
}

/** After refusing a body, read and discard at most this much more before hanging up. */
const DRAIN_LIMIT = 16 * 1024 * 1024;

/** The body, or null once it is over `maxBytes` (by Content-Length, or as it arrives); the rest is drained, unbuffered. */
function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer | null> {
  const declared = Number(req.headers["content-length"] ?? "0");
  if (Number.isFinite(declared) && declared > maxBytes) {
    drain(req, 0);
    return Promise.resolve(null);
  }
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
  req.resume();
}
