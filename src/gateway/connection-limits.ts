// The HTTP gateway's connection limits as data: how long a client may take over each phase of
// a request, how many connections it may hold, and how many audit records a flood of refusals
// may cause. Validated once into a frozen object; the counting is pure (connection-guard.ts
// is the socket edge).
import { isIPv4, isIPv6 } from "node:net";
import { UsageError } from "../errors.js";
import { ConnectionsExhausted } from "./errors.js";

/** Every value is an option of startHttpGateway; each default is in DEFAULT_CONNECTION_LIMITS. */
export interface ConnectionLimitOptions {
  /** Complete request headers within this, from the connection's first byte (or its opening): slowloris. Default 10 s. */
  readonly headersTimeoutMs?: number;
  /** The whole request (headers and body) within this; node answers 408 (≥ headersTimeoutMs). Default 30 s. */
  readonly requestTimeoutMs?: number;
  /** The longest gap between two chunks of a body before 408. Default 5 s. */
  readonly bodyIdleTimeoutMs?: number;
  /** The longest a body may take in all before 408. Default 20 s. */
  readonly bodyTimeoutMs?: number;
  /** How long an idle keep-alive connection stays open between requests. Default 5 s. */
  readonly keepAliveTimeoutMs?: number;
  /**
   * Socket inactivity while a request is in flight: a client that stops sending its body or
   * stops reading its answer is cut. A tool still working is not (nothing is waiting to be
   * written), and SSE streams send a keep-alive comment every 15 s. Default 60 s.
   */
  readonly idleTimeoutMs?: number;
  /** Concurrent connections in total; the next gets 503 and is closed. Default 1024. */
  readonly maxConnections?: number;
  /**
   * Concurrent connections per remote address (IPv4 address, IPv6 /64); the next gets 429 and
   * is closed. Behind a reverse proxy every connection is the proxy's: raise it. Default 64.
   */
  readonly maxConnectionsPerAddress?: number;
  /** Audit records per refusal reason per window; the rest are summed in one summary record. Default 10. */
  readonly connectionRecordsPerWindow?: number;
  /** That window. Default 10 s. */
  readonly connectionRecordWindowMs?: number;
}

export type ConnectionLimits = { readonly [K in keyof ConnectionLimitOptions]-?: number };

export const DEFAULT_CONNECTION_LIMITS: ConnectionLimits = Object.freeze({
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  bodyIdleTimeoutMs: 5_000,
  bodyTimeoutMs: 20_000,
  keepAliveTimeoutMs: 5_000,
  idleTimeoutMs: 60_000,
  maxConnections: 1024,
  maxConnectionsPerAddress: 64,
  connectionRecordsPerWindow: 10,
  connectionRecordWindowMs: 10_000,
});

/** Node's setTimeout ceiling: a longer timeout would fire at once. */
const MAX_MS = 2 ** 31 - 1;

/** The options with defaults filled in; every value a positive integer, headers ≤ request. */
export function connectionLimits(given: ConnectionLimitOptions): ConnectionLimits {
  const out: Record<string, number> = {};
  for (const [name, fallback] of Object.entries(DEFAULT_CONNECTION_LIMITS) as [keyof ConnectionLimits, number][]) {
    const v = given[name] ?? fallback;
    if (!Number.isSafeInteger(v) || v < 1 || v > MAX_MS) throw new UsageError(`${name} must be an integer from 1 to ${MAX_MS} (got ${String(v)})`);
    out[name] = v;
  }
  const limits = out as ConnectionLimits;
  if (limits.headersTimeoutMs > limits.requestTimeoutMs) throw new UsageError(`headersTimeoutMs (${limits.headersTimeoutMs}) must not exceed requestTimeoutMs (${limits.requestTimeoutMs})`);
  if (limits.maxConnectionsPerAddress > limits.maxConnections) throw new UsageError(`maxConnectionsPerAddress (${limits.maxConnectionsPerAddress}) must not exceed maxConnections (${limits.maxConnections})`);
  return Object.freeze(limits);
}

/** How often node looks for connections past their header or request timeout: a quarter of the header timeout, 25 ms to 1 s. */
export function checkingIntervalMs(limits: Pick<ConnectionLimits, "headersTimeoutMs">): number {
  return Math.min(1000, Math.max(25, Math.floor(limits.headersTimeoutMs / 4)));
}

/** The eight 16-bit groups of an address `isIPv6` accepted (no zone), or null. */
function ipv6Groups(address: string): number[] | null {
  let text = address;
  // A trailing dotted quad (::ffff:192.0.2.1) is two groups.
  const colon = text.lastIndexOf(":");
  const quad = text.slice(colon + 1);
  if (isIPv4(quad)) {
    const [a = 0, b = 0, c = 0, d = 0] = quad.split(".").map(Number);
    text = `${text.slice(0, colon + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const halves = text.split("::");
  const groups = (s: string | undefined): number[] => (s === undefined || s === "" ? [] : s.split(":").map((g) => parseInt(g, 16)));
  const left = groups(halves[0]);
  if (halves.length === 1) return left.length === 8 ? left : null;
  const right = groups(halves[1]);
  const fill = 8 - left.length - right.length;
  return halves.length === 2 && fill >= 0 ? [...left, ...Array<number>(fill).fill(0), ...right] : null;
}

/**
 * Whose share a connection counts against: an IPv4 address as it is (IPv4-mapped IPv6 too),
 * an IPv6 address by its /64 (one host's usual allocation: counting single addresses would
 * give it 2^64 shares), anything unreadable as "unknown".
 */
export function addressKey(remote: string | undefined): string {
  if (remote === undefined) return "unknown";
  if (isIPv4(remote)) return remote;
  if (!isIPv6(remote)) return "unknown";
  const groups = ipv6Groups(remote.split("%")[0] ?? "");
  if (groups === null) return "unknown";
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    return [(groups[6] ?? 0) >> 8, (groups[6] ?? 0) & 255, (groups[7] ?? 0) >> 8, (groups[7] ?? 0) & 255].join(".");
  }
  return `${groups.slice(0, 4).map((g) => g.toString(16)).join(":")}::/64`;
}

/** Open connections, in total and per address key; a connection over a cap is never counted. */
export class ConnectionCounter {
  readonly #perAddress = new Map<string, number>();
  #total = 0;

  constructor(private readonly limits: Pick<ConnectionLimits, "maxConnections" | "maxConnectionsPerAddress">) {}

  /** Counts a new connection in, or says which cap it is over. */
  admit(address: string): ConnectionsExhausted | null {
    const held = this.#perAddress.get(address) ?? 0;
    if (held >= this.limits.maxConnectionsPerAddress) return new ConnectionsExhausted("address", this.limits.maxConnectionsPerAddress, address);
    if (this.#total >= this.limits.maxConnections) return new ConnectionsExhausted("gateway", this.limits.maxConnections, address);
    this.#perAddress.set(address, held + 1);
    this.#total += 1;
    return null;
  }

  release(address: string): void {
    const held = this.#perAddress.get(address) ?? 0;
    if (held <= 0) return;
    if (held === 1) this.#perAddress.delete(address);
    else this.#perAddress.set(address, held - 1);
    this.#total -= 1;
  }

  get total(): number {
    return this.#total;
  }

  held(address: string): number {
    return this.#perAddress.get(address) ?? 0;
  }
}
