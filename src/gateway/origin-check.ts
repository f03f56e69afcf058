// DNS-rebinding and cross-site defence: the Host header must name this server, and an Origin,
// when a browser sends one, must be an allowed one. Pure: headers in, a refusal or null out.
import { OriginRefused } from "./errors.js";

export const ORIGIN_ENFORCER = "origin-check";

const LOOPBACK_NAMES: readonly string[] = ["localhost", "127.0.0.1", "[::1]"];

/** host[:port], where host is a DNS name, an IPv4 address or a bracketed IPv6 address. Nothing else. */
const HOST = /^(\[[0-9a-f:.]+\]|[a-z0-9](?:[a-z0-9.-]{0,251}[a-z0-9])?)(?::(\d{1,5}))?$/;
const ORIGIN = /^(https?):\/\/(\[[0-9a-f:.]+\]|[a-z0-9](?:[a-z0-9.-]{0,251}[a-z0-9])?)(?::(\d{1,5}))?$/;

export interface OriginPolicy {
  /** Host names (no port) this server answers to. */
  readonly hosts: ReadonlySet<string>;
  /** Exact origins (scheme://host[:port]) a browser may call from. */
  readonly origins: ReadonlySet<string>;
  /** Also allow any http(s) origin on a loopback name (a local client's web UI). */
  readonly loopbackOrigins: boolean;
}

export function isLoopbackName(name: string): boolean {
  return LOOPBACK_NAMES.includes(name.toLowerCase());
}

/** The defaults for a server bound to `bindHost` and reached at `publicUrl`. */
export function defaultOriginPolicy(bindHost: string, publicUrl: URL, extra: { hosts?: readonly string[]; origins?: readonly string[] } = {}): OriginPolicy {
  const bound = bindHost.includes(":") && !bindHost.startsWith("[") ? `[${bindHost}]` : bindHost;
  const loopback = isLoopbackName(bound) || isLoopbackName(publicUrl.hostname);
  const hosts = new Set<string>([bound.toLowerCase(), publicUrl.hostname.toLowerCase(), ...(extra.hosts ?? []).map((h) => h.toLowerCase())]);
  if (loopback) for (const name of LOOPBACK_NAMES) hosts.add(name);
  hosts.delete("0.0.0.0");
  hosts.delete("[::]");
  return { hosts, origins: new Set([publicUrl.origin, ...(extra.origins ?? [])]), loopbackOrigins: loopback };
}

/** Why a request with these headers must be refused, or null when it may proceed. */
export function checkOrigin(host: string | undefined, origin: string | undefined, policy: OriginPolicy): OriginRefused | null {
  const h = HOST.exec((host ?? "").toLowerCase());
  if (h === null || !policy.hosts.has(h[1] ?? "")) return new OriginRefused("host", clipHeader(host ?? ""));
  if (origin === undefined) return null;
  if (policy.origins.has(origin)) return null;
  const o = ORIGIN.exec(origin.toLowerCase());
  if (o !== null && policy.loopbackOrigins && isLoopbackName(o[2] ?? "")) return null;
  return new OriginRefused("origin", clipHeader(origin));
}

function clipHeader(value: string): string {
  return value.length <= 128 ? value : `${value.slice(0, 128)}…`;
}
