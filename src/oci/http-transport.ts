// One HTTP exchange with a registry, over node:http(s): deadlines on every stage (no answer to
// the request, no next bytes of a body, the whole exchange), bodies read under a cap that is
// checked against Content-Length before the first byte and against the bytes as they arrive,
// and redirects followed only within the registry's own origin. Nothing here logs a header.
import { request as httpRequest, Agent as HttpAgent, type IncomingHttpHeaders, type IncomingMessage } from "node:http";
import { request as httpsRequest, Agent as HttpsAgent } from "node:https";
import type { Hash } from "node:crypto";
import { OciRedirectRefused, OciTimeout, OciTooLarge, OciTruncated, OciUnreachable } from "./errors.js";

export interface Deadlines {
  /** No answer (status line and headers) this long after the request was sent. */
  readonly headersMs: number;
  /** No further bytes of a body for this long. */
  readonly idleMs: number;
  /** The whole exchange, body included. */
  readonly totalMs: number;
}

export const DEFAULT_DEADLINES: Deadlines = Object.freeze({ headersMs: 15_000, idleMs: 15_000, totalMs: 600_000 });

export interface HttpRequest {
  readonly method: "GET" | "HEAD" | "PUT" | "POST" | "PATCH" | "DELETE";
  readonly url: URL;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: Uint8Array;
}

export interface ReadOptions {
  /** What is being read, for errors. */
  readonly what: string;
  /** Refuse more than this many bytes (Content-Length first, then as they arrive). */
  readonly cap: number;
  /** The exact size the descriptor names, when known: more is refused, less is truncated. */
  readonly expected?: number;
  readonly hash?: Hash;
  readonly onBytes?: (received: number, total: number | null) => void;
  /** Where each chunk goes (a file); without it the body is collected and returned. */
  readonly sink?: (chunk: Buffer) => void;
}

export interface HttpResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  /** The URL that answered (after same-origin redirects). */
  readonly url: URL;
  /** Reads the body under the cap; returns it unless a sink took it. */
  read(opts: ReadOptions): Promise<Buffer>;
  /** Drains a small body (an error document, an empty 201) under a fixed cap. */
  discard(): Promise<void>;
}

const DISCARD_CAP = 64 * 1024;
const MAX_REDIRECTS = 3;

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** A connection pool per registry client, closed with it. */
export class Transport {
  readonly #http = new HttpAgent({ keepAlive: true, maxSockets: 8 });
  readonly #https = new HttpsAgent({ keepAlive: true, maxSockets: 8 });
  constructor(readonly deadlines: Deadlines = DEFAULT_DEADLINES) {}

  close(): void {
    this.#http.destroy();
    this.#https.destroy();
  }

  /** Sends `req`, following GET/HEAD redirects that stay within its origin; any other redirect is refused. */
  async send(req: HttpRequest): Promise<HttpResponse> {
    let current = req;
    for (let hop = 0; ; hop++) {
      const res = await this.#once(current);
      const location = header(res.headers, "location");
      if (res.status < 300 || res.status > 399 || res.status === 304 || location === undefined) return res;
      await res.discard();
      let next: URL;
      try {
        next = new URL(location, current.url);
      } catch {
        throw new OciRedirectRefused(req.url.origin, "(an unparsable Location)");
      }
      // Another scheme, host or port is another party: nothing is fetched from it or sent to it.
      if (next.origin !== req.url.origin) throw new OciRedirectRefused(req.url.origin, next.origin);
      if ((current.method !== "GET" && current.method !== "HEAD") || hop >= MAX_REDIRECTS) {
        throw new OciRedirectRefused(req.url.origin, `${next.origin} (${current.method === "GET" || current.method === "HEAD" ? "too many redirects" : `a redirected ${current.method}`})`);
      }
      current = { ...current, url: next };
    }
  }

  #once(req: HttpRequest): Promise<HttpResponse> {
    const { deadlines } = this;
    const origin = req.url.origin;
    const https = req.url.protocol === "https:";
    return new Promise<HttpResponse>((resolve, reject) => {
      let stage: "headers" | "body" = "headers";
      let failed: Error | null = null;
      let onFail: ((err: Error) => void) | null = null;
      const fail = (err: Error) => {
        if (failed !== null) return;
        failed = err;
        clearTimeout(total);
        r.destroy(err);
        if (onFail !== null) onFail(err);
        else reject(err);
      };
      const total = setTimeout(() => fail(new OciTimeout(origin, "total", deadlines.totalMs)), deadlines.totalMs);
      const headers: Record<string, string> = { "user-agent": "cordon", ...req.headers };
      if (req.body !== undefined) headers["content-length"] = String(req.body.byteLength);
      const r = (https ? httpsRequest : httpRequest)(req.url, { method: req.method, headers, agent: https ? this.#https : this.#http });
      r.setTimeout(stage === "headers" ? deadlines.headersMs : deadlines.idleMs, () => fail(new OciTimeout(origin, stage, stage === "headers" ? deadlines.headersMs : deadlines.idleMs)));
      r.on("error", (err: NodeJS.ErrnoException) => {
        if (failed !== null) return;
        fail(new OciUnreachable(origin, err.code ?? "connection failed"));
      });
      r.on("response", (res: IncomingMessage) => {
        stage = "body";
        r.setTimeout(deadlines.idleMs);
        const status = res.statusCode ?? 0;
        const announcedText = header(res.headers, "content-length");
        const announced = announcedText !== undefined && /^[0-9]{1,15}$/.test(announcedText) ? Number(announcedText) : null;
        let reading = false;
        const read = (opts: ReadOptions): Promise<Buffer> => {
          if (reading) throw new Error("a response body is read once");
          reading = true;
          return new Promise<Buffer>((done, refuse) => {
            const finish = (err: Error | null, body?: Buffer) => {
              clearTimeout(total);
              if (err !== null) refuse(err);
              else done(body ?? Buffer.alloc(0));
            };
            onFail = (err) => finish(err);
            if (failed !== null) return finish(failed);
            const limit = Math.min(opts.cap, opts.expected ?? Number.MAX_SAFE_INTEGER);
            if (announced !== null && (announced > opts.cap || (opts.expected !== undefined && announced !== opts.expected && req.method !== "HEAD"))) {
              return fail(announced > opts.cap ? new OciTooLarge(opts.what, opts.cap, 0, announced) : announced > (opts.expected ?? 0) ? new OciTooLarge(opts.what, opts.expected ?? opts.cap, 0, announced) : new OciTruncated(opts.what, opts.expected ?? 0, announced));
            }
            const chunks: Buffer[] = [];
            let received = 0;
            res.on("data", (chunk: Buffer) => {
              if (failed !== null) return;
              received += chunk.byteLength;
              if (received > limit) return fail(new OciTooLarge(opts.what, limit, received, announced));
              opts.hash?.update(chunk);
              if (opts.sink !== undefined) {
                try {
                  opts.sink(chunk);
                } catch (err) {
                  return fail(err as Error);
                }
              } else chunks.push(chunk);
              opts.onBytes?.(received, opts.expected ?? announced);
            });
            res.on("end", () => {
              if (failed !== null) return;
              if (opts.expected !== undefined && received !== opts.expected && req.method !== "HEAD") return fail(new OciTruncated(opts.what, opts.expected, received));
              finish(null, opts.sink === undefined ? Buffer.concat(chunks) : undefined);
            });
            res.on("aborted", () => fail(new OciTruncated(opts.what, opts.expected ?? announced ?? received + 1, received)));
            res.on("error", (err: NodeJS.ErrnoException) => fail(failed ?? new OciUnreachable(origin, err.code ?? "connection reset")));
          });
        };
        resolve({
          status,
          headers: res.headers,
          url: req.url,
          read,
          discard: async () => {
            await read({ what: `${req.method} ${req.url.pathname}`, cap: DISCARD_CAP }).catch((err: unknown) => {
              if (!(err instanceof OciTooLarge)) throw err;
            });
          },
        });
      });
      r.end(req.body === undefined ? undefined : Buffer.from(req.body.buffer, req.body.byteOffset, req.body.byteLength));
    });
  }
}

export { header as firstHeader };
