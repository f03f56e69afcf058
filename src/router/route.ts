// The router: which tier's driver serves each of a session's tools, given what this host runs.
// Pure: (tools, the drivers' availability) -> per-tier groups, and the tools whose tier this host
// cannot run (they exist for the session; every call of them is refused, never run elsewhere).
import { TierUnavailable } from "../errors.js";
import type { Tier } from "../enforcers.js";
import type { LoadedTool } from "../policy/load-policy.js";
import type { Availability } from "../tier/tool-host.js";

export interface SessionRoute {
  /** Tools per tier whose driver runs here, in the session's tool order. */
  readonly byTier: ReadonlyMap<Tier, readonly LoadedTool[]>;
  readonly unavailable: ReadonlyMap<string, TierUnavailable>;
}

export function routeSession(tools: readonly LoadedTool[], availability: (tier: Tier) => Availability | undefined): SessionRoute {
  const byTier = new Map<Tier, LoadedTool[]>();
  const unavailable = new Map<string, TierUnavailable>();
  for (const tool of tools) {
    const a = availability(tool.tier);
    if (a === undefined) unavailable.set(tool.name, new TierUnavailable(tool.tier, `no ${tool.tier} driver in this build`));
    else if (!a.ok) unavailable.set(tool.name, new TierUnavailable(tool.tier, a.missing));
    else byTier.set(tool.tier, [...(byTier.get(tool.tier) ?? []), tool]);
  }
  return { byTier, unavailable };
}
