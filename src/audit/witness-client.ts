// Asking a witness over HTTP: submit a checkpoint with its segment, or fetch the latest
// cosignature of a log. `fetch` is passed in (tests drive an outage through it). Failures are
// typed: AuditWitnessUnreachable (no answer, a timeout, a 5xx, an answer that is not one) or
// AuditWitnessRejected (a refusal: the witness's own code and fields, kept apart as a wire error).
// What the answers contain is for the caller to verify with the witness's key.
import { UsageError, type Json } from "../errors.js";
import { AuditWitnessRejected, AuditWitnessUnreachable } from "./audit-errors.js";
import { SECRET_FIELD_NAMES } from "./check-event.js";
import { COSIGN_CONTENT_TYPE, COSIGN_PATH, latestPath } from "./witness-payload.js";

export type Fetch = typeof globalThis.fetch;

export interface WitnessClientOptions {
  /** The witness's base URL: http(s), no credentials, no query. */
  readonly url: string;
  readonly fetch?: Fetch;
  /** Per request (default 10 s). */
  readonly timeoutMs?: number;
}

/** Answers are two small envelopes; anything larger is not an answer. */
const MAX_ANSWER_BYTES = 256 * 1024;
const DEFAULT_TIMEOUT_MS = 10_000;

/** The witness's base URL, checked once: what records name it by. */
export function parseWitnessUrl(url: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UsageError(`--witness needs a URL such as http://127.0.0.1:8788 (got ${JSON.stringify(url.slice(0, 200))})`);
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") throw new UsageError("--witness needs an http: or https: URL");
  if (parsed.username !== "" || parsed.password !== "") throw new UsageError("--witness must not carry credentials in its URL");
  if (parsed.search !== "" || parsed.hash !== "") throw new UsageError("--witness must not have a query or fragment");
  return parsed;
}

export class WitnessClient {
  readonly #base: URL;
  readonly #fetch: Fetch;
  readonly #timeoutMs: number;
  /** How records and errors name the witness: its URL without a trailing slash. */
  readonly name: string;

  constructor(opts: WitnessClientOptions) {
    this.#base = parseWitnessUrl(opts.url);
    this.#fetch = opts.fetch ?? globalThis.fetch;
    this.#timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.name = this.#base.href.replace(/\/$/, "");
  }

  /** Submits a cosign request; resolves with the (unverified) cosignature envelope. */
  async cosign(body: Uint8Array): Promise<unknown> {
    const answer = await this.#request(COSIGN_PATH, { method: "POST", headers: { "content-type": COSIGN_CONTENT_TYPE }, body });
    if (answer === null) throw new AuditWitnessUnreachable(this.name, "bad-answer");
    return answer["cosignature"];
  }

  /** The witness's latest for `log` (unverified), or null if it has never cosigned that log. */
  async latest(log: string): Promise<{ cosignature: unknown; checkpoint: unknown } | null> {
    const answer = await this.#request(latestPath(log), { method: "GET" });
    return answer === null ? null : { cosignature: answer["cosignature"], checkpoint: answer["checkpoint"] };
  }

  /** The JSON answer of a 200; null for a 404 naming an unknown log; throws otherwise. */
  async #request(path: string, init: { method: string; headers?: Record<string, string>; body?: Uint8Array }): Promise<Record<string, unknown> | null> {
    const url = new URL(this.#base.pathname.replace(/\/$/, "") + path, this.#base);
    let res: Response;
    let text: string;
    try {
      res = await this.#fetch(url, { ...init, redirect: "error", signal: AbortSignal.timeout(this.#timeoutMs) });
      text = await readCapped(res);
    } catch (err) {
      throw new AuditWitnessUnreachable(this.name, reasonOf(err));
    }
    let body: unknown = null;
    try {
      body = JSON.parse(text);
    } catch {
      // judged by status below
    }
    const fields = typeof body === "object" && body !== null && !Array.isArray(body) ? (body as Record<string, unknown>) : null;
    if (res.status === 200 && fields !== null) return fields;
    const error = fields?.["error"];
    const code = typeof error === "object" && error !== null ? (error as { code?: unknown }).code : undefined;
    if (res.status >= 400 && res.status < 500 && typeof code === "string" && code.startsWith("ERR_")) {
      if (res.status === 404 && code === "ERR_AUDIT_WITNESS_UNKNOWN_LOG" && init.method === "GET") return null;
      throw new AuditWitnessRejected(this.name, res.status, code.slice(0, 64), boundedFields(error as Record<string, Json>));
    }
    throw new AuditWitnessUnreachable(this.name, res.status === 200 ? "bad-answer" : `http-${res.status}`);
  }
}

async function readCapped(res: Response): Promise<string> {
  if (res.body === null) return "";
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
    total += chunk.byteLength;
    if (total > MAX_ANSWER_BYTES) throw new Error("answer-too-large");
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}

/** An errno-like word for why a request got no answer (never a message with data in it). */
function reasonOf(err: unknown): string {
  if (err instanceof Error && err.message === "answer-too-large") return "answer-too-large";
  if (err instanceof DOMException && (err.name === "TimeoutError" || err.name === "AbortError")) return "timeout";
  const cause = err instanceof Error ? (err as Error & { cause?: unknown }).cause : undefined;
  const code = typeof cause === "object" && cause !== null ? (cause as { code?: unknown }).code : undefined;
  if (typeof code === "string" && /^[A-Z_]{2,32}$/.test(code)) return code;
  const own = typeof err === "object" && err !== null ? (err as { code?: unknown }).code : undefined;
  return typeof own === "string" && /^[A-Z_]{2,32}$/.test(own) ? own : "fetch-failed";
}

/** A remote refusal's fields, as plain JSON of bounded size (they end up in an audit record). */
function boundedFields(fields: Record<string, Json>): Record<string, Json> {
  const out: Record<string, Json> = {};
  for (const [k, v] of Object.entries(fields).slice(0, 9)) {
    if (k === "code" || !/^[A-Za-z][A-Za-z0-9]{0,31}$/.test(k) || SECRET_FIELD_NAMES.includes(k.toLowerCase())) continue;
    if (typeof v === "number" || typeof v === "boolean" || v === null) out[k] = v;
    else if (typeof v === "string") out[k] = v.slice(0, 128);
  }
  return out;
}
