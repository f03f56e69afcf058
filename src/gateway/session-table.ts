// MCP session ids and who owns them. A session id is usable only by the principal that opened
// it (same issuer, subject, role and tenant); concurrent sessions are capped per principal and
// in total, counting sessions still being opened.
import type { Principal } from "../authn/principal.js";
import { SessionsExhausted } from "./errors.js";

/** Who a session belongs to. A refreshed token of the same principal keeps using it. */
export function principalKey(p: Pick<Principal, "issuer" | "subject" | "role" | "tenant">): string {
  return JSON.stringify([p.issuer, p.subject, p.role, p.tenant]);
}

export interface Bound {
  readonly owner: string;
}

export class SessionTable<T extends Bound> {
  private readonly byId = new Map<string, T>();
  private readonly perOwner = new Map<string, number>();
  private total = 0;

  constructor(private readonly maxPerOwner: number, private readonly maxTotal: number) {}

  /** Takes a slot for `owner` before its session is opened; release it if opening fails. */
  reserve(owner: string): SessionsExhausted | null {
    const held = this.perOwner.get(owner) ?? 0;
    if (held >= this.maxPerOwner) return new SessionsExhausted("principal", this.maxPerOwner);
    if (this.total >= this.maxTotal) return new SessionsExhausted("gateway", this.maxTotal);
    this.perOwner.set(owner, held + 1);
    this.total += 1;
    return null;
  }

  release(owner: string): void {
    const held = this.perOwner.get(owner) ?? 0;
    if (held <= 0) return;
    if (held === 1) this.perOwner.delete(owner);
    else this.perOwner.set(owner, held - 1);
    this.total -= 1;
  }

  /** Records an opened session under its id (its slot was reserved). */
  bind(id: string, entry: T): void {
    this.byId.set(id, entry);
  }

  get(id: string): T | undefined {
    return this.byId.get(id);
  }

  /** Removes a session and frees its owner's slot; undefined if it was already gone. */
  take(id: string): T | undefined {
    const entry = this.byId.get(id);
    if (entry === undefined) return undefined;
    this.byId.delete(id);
    this.release(entry.owner);
    return entry;
  }

  ids(): string[] {
    return [...this.byId.keys()];
  }

  get size(): number {
    return this.byId.size;
  }

  /** Slots held, opened or being opened, by `owner`. */
  held(owner: string): number {
    return this.perOwner.get(owner) ?? 0;
  }
}
