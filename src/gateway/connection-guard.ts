// The HTTP gateway's connection edge (enforcer `connection-limits`): caps concurrent
// connections in total and per remote address, and cuts clients that are too slow in any phase
// of a request. Node's own clocks do the header, request and keep-alive timeouts; this module
// answers them (408 where an answer is still possible, 429/503 for the caps, then the socket is
// closed) and records each refusal as one `connection.refused` record, throttled per reason so
// that a flood costs a bounded number of records plus one summary with the count.
import { STATUS_CODES, type IncomingMessage, type Server as HttpServer, type ServerOptions, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import type { AuditEvent } from "../audit/index.js";
import type { CordonError, Json } from "../errors.js";
import { errorFields } from "../audit/fields.js";
import { addressKey, checkingIntervalMs, ConnectionCounter, type ConnectionLimits } from "./connection-limits.js";
import { RequestTimedOut, type ConnectionsExhausted, type TimeoutPhase } from "./errors.js";
import { RecordThrottle, type Suppressed } from "./record-throttle.js";

export const CONNECTION_LIMITS_ENFORCER = "connection-limits";

/** Why a connection was refused or cut: the `reason` of its record and the /metrics label. */
export const CONNECTION_REASONS = ["per-address", "total", "headers-timeout", "request-timeout", "body-idle-timeout", "body-timeout", "idle-timeout"] as const;
export type ConnectionReason = (typeof CONNECTION_REASONS)[number];

const REASON_OF_PHASE: Readonly<Record<TimeoutPhase, ConnectionReason>> = {
  headers: "headers-timeout",
  request: "request-timeout",
  "body-idle": "body-idle-timeout",
  "body-total": "body-timeout",
  idle: "idle-timeout",
};

function codeOf(reason: string): string {
  return reason === "per-address" || reason === "total" ? "ERR_GATEWAY_CONNECTIONS_EXHAUSTED" : "ERR_GATEWAY_REQUEST_TIMEOUT";
}

/** After an answer that closes the connection, how long the client has to read it. */
const LINGER_MS = 1000;
const RETRY_AFTER_SEC = "5";

interface Exchange {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
}

export interface ConnectionGuardOptions {
  readonly limits: ConnectionLimits;
  /** Appends an audit record (the runtime's log). */
  readonly record: (event: AuditEvent) => Promise<unknown>;
  /** Milliseconds, for the record throttle's windows. */
  readonly now?: () => number;
}

/** The JSON-RPC error body every refusal carries (no id: no request was read, or it is not trusted). */
function rpcBody(status: number, code: string): string {
  const message = status === 408 ? "Request Timeout" : status === 429 ? "Too many connections from this address" : "Too many connections";
  return JSON.stringify({ jsonrpc: "2.0", error: { code: -32000, message, data: { code } }, id: null });
}

/**
 * Writes a whole response straight onto a socket no ServerResponse owns, then closes it. The
 * socket lingers up to LINGER_MS for the client to read the answer, unless `linger` is false.
 */
function answerRaw(socket: Socket, status: number, code: string, headers: Readonly<Record<string, string>> = {}, linger = true): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const body = rpcBody(status, code);
  const head = [`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ""}`, "content-type: application/json", `content-length: ${Buffer.byteLength(body)}`, "connection: close"];
  for (const [k, v] of Object.entries(headers)) head.push(`${k}: ${v}`);
  socket.end(`${head.join("\r\n")}\r\n\r\n${body}`);
  if (linger) setTimeout(() => socket.destroy(), LINGER_MS).unref();
  else socket.destroySoon();
}

export class ConnectionGuard {
  readonly #limits: ConnectionLimits;
  readonly #record: (event: AuditEvent) => Promise<unknown>;
  readonly #counter: ConnectionCounter;
  readonly #throttle: RecordThrottle;
  /** The request each socket is serving now (until its response closes). */
  readonly #exchanges = new WeakMap<Socket, Exchange>();
  /** Sockets refused at connection: whatever they send is never served. */
  readonly #refused = new WeakSet<Socket>();
  /** Refused sockets still open (lingering for their answer to be read): at most maxConnections linger. */
  #lingering = 0;
  readonly #pending = new Set<Promise<void>>();
  #flushTimer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(opts: ConnectionGuardOptions) {
    this.#limits = opts.limits;
    this.#record = opts.record;
    this.#counter = new ConnectionCounter(opts.limits);
    this.#throttle = new RecordThrottle({ perWindow: opts.limits.connectionRecordsPerWindow, windowMs: opts.limits.connectionRecordWindowMs, now: opts.now ?? Date.now });
  }

  /** node:http's own clocks, for createServer. */
  static serverOptions(limits: ConnectionLimits): ServerOptions {
    return {
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      keepAliveTimeout: limits.keepAliveTimeoutMs,
      connectionsCheckingInterval: checkingIntervalMs(limits),
    };
  }

  /** Takes over the server's connection, timeout and client-error events. */
  attach(http: HttpServer): void {
    http.setTimeout(this.#limits.idleTimeoutMs);
    http.on("connection", (socket: Socket) => this.#onConnection(socket));
    http.on("timeout", (socket: Socket) => this.#onIdle(socket));
    http.on("clientError", (err: NodeJS.ErrnoException, socket: Socket) => this.#onClientError(err, socket));
  }

  /** Open connections now (admitted ones only). */
  get connections(): number {
    return this.#counter.total;
  }

  /** True for a socket refused at connection: its requests get no answer. */
  isRefused(socket: Socket): boolean {
    return this.#refused.has(socket);
  }

  /** Marks `req` as the socket's request in flight, until its response closes. */
  track(req: IncomingMessage, res: ServerResponse): void {
    const { socket } = req;
    const exchange = { req, res };
    this.#exchanges.set(socket, exchange);
    res.once("close", () => {
      if (this.#exchanges.get(socket) === exchange) this.#exchanges.delete(socket);
    });
  }

  /** The body reader's clock ran out: answer 408, close the connection, record it. */
  bodyTimedOut(req: IncomingMessage, phase: "body-idle" | "body-total", timeoutMs: number): void {
    this.#timedOut(req.socket, phase, timeoutMs);
  }

  /** Records the throttled summaries still due and waits for every record to be written. */
  async close(): Promise<void> {
    clearTimeout(this.#flushTimer);
    this.#flushTimer = undefined;
    this.#summarise(this.#throttle.drainAll());
    this.#closed = true;
    await Promise.all([...this.#pending]);
  }

  #onConnection(socket: Socket): void {
    const address = addressKey(socket.remoteAddress);
    const over = this.#counter.admit(address);
    if (over === null) {
      socket.once("close", () => this.#counter.release(address));
      return;
    }
    this.#refused.add(socket);
    const status = over.scope === "address" ? 429 : 503;
    this.#note(over.scope === "address" ? "per-address" : "total", over, status);
    // A flood of refused connections must not hold more sockets than the cap itself allows.
    const linger = this.#lingering < this.#limits.maxConnections;
    this.#lingering += 1;
    socket.once("close", () => (this.#lingering -= 1));
    answerRaw(socket, status, over.code, { "retry-after": RETRY_AFTER_SEC }, linger);
  }

  #onClientError(err: NodeJS.ErrnoException, socket: Socket): void {
    if (this.#refused.has(socket)) {
      socket.destroy();
      return;
    }
    if (err.code === "ERR_HTTP_REQUEST_TIMEOUT") {
      // Node's clock: headers not complete in time, or (with a request under way) the whole request.
      const exchange = this.#exchanges.get(socket);
      const phase = exchange !== undefined && !exchange.req.complete ? "request" : "headers";
      this.#timedOut(socket, phase, phase === "headers" ? this.#limits.headersTimeoutMs : this.#limits.requestTimeoutMs);
      return;
    }
    // Unparsable bytes: answered only where no response of ours owns the socket.
    if (this.#exchanges.has(socket)) socket.destroy();
    else answerRaw(socket, err.code === "HPE_HEADER_OVERFLOW" ? 431 : 400, "ERR_GATEWAY_BAD_REQUEST");
  }

  /** Socket inactivity (server.timeout); also how node ends an idle keep-alive connection. */
  #onIdle(socket: Socket): void {
    const exchange = this.#exchanges.get(socket);
    if (exchange === undefined) {
      // Between requests: a keep-alive connection's normal end, nothing to record.
      socket.destroy();
      return;
    }
    if (!exchange.req.complete) {
      this.#timedOut(socket, "idle", this.#limits.idleTimeoutMs);
      return;
    }
    if (socket.writableLength > 0) {
      // The answer is waiting on a client that stopped reading it.
      this.#timedOut(socket, "idle", this.#limits.idleTimeoutMs);
      return;
    }
    // Nothing to send yet (a tool still working): the wait is ours, not the client's.
    socket.setTimeout(this.#limits.idleTimeoutMs);
  }

  #timedOut(socket: Socket, phase: TimeoutPhase, timeoutMs: number): void {
    const err = new RequestTimedOut(phase, timeoutMs, addressKey(socket.remoteAddress));
    const exchange = this.#exchanges.get(socket);
    let status: number | null = 408;
    if (exchange === undefined) {
      answerRaw(socket, 408, err.code);
    } else if (!exchange.res.headersSent) {
      const body = rpcBody(408, err.code);
      exchange.res.writeHead(408, { "content-type": "application/json", "content-length": String(Buffer.byteLength(body)), connection: "close" }).end(body);
      setTimeout(() => socket.destroy(), LINGER_MS).unref();
    } else {
      // The answer has begun: no status can be sent any more, only the connection cut.
      status = null;
      socket.destroy();
    }
    this.#note(REASON_OF_PHASE[phase], err, status);
  }

  #note(reason: ConnectionReason, err: CordonError | ConnectionsExhausted, status: number | null): void {
    if (this.#closed) return;
    if (!this.#throttle.admit(reason)) {
      this.#armFlush();
      return;
    }
    this.#write({ type: "connection.refused", enforcer: CONNECTION_LIMITS_ENFORCER, ...errorFields(err), reason, status });
  }

  #armFlush(): void {
    if (this.#flushTimer !== undefined) return;
    const ms = this.#throttle.nextDueMs();
    if (ms === null) return;
    this.#flushTimer = setTimeout(() => {
      this.#flushTimer = undefined;
      this.#summarise(this.#throttle.due());
      this.#armFlush();
    }, ms + 1);
    this.#flushTimer.unref();
  }

  /** One record per throttled window: what it stood for (`count` refusals), never recorded one by one. */
  #summarise(list: readonly Suppressed[]): void {
    for (const s of list) {
      const fields: Record<string, Json> = { code: codeOf(s.key), reason: s.key, suppressed: true, count: s.count, windowMs: s.windowMs };
      this.#write({ type: "connection.refused", enforcer: CONNECTION_LIMITS_ENFORCER, ...fields });
    }
  }

  #write(event: AuditEvent): void {
    const written: Promise<void> = this.#record(event).then(
      () => undefined,
      () => undefined,
    );
    this.#pending.add(written);
    void written.finally(() => this.#pending.delete(written));
  }
}
