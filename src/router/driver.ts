// The tier seam: every tier (wasm cells, tool processes, containers, microVMs) is one driver.
// A driver plans a session's tools of its tier as plain data (`plan`, pure: what runs where,
// under which limits), opens the session's compartment from that plan (`open`), and is closed
// with the runtime. Probes of a tier are named by the enforcer registry and live in probes/.
// Drivers are registered in one place (router/drivers.ts); the router picks the tier per tool.
import type { Principal } from "../authn/principal.js";
import type { Tier } from "../enforcers.js";
import type { LoadedTool } from "../policy/load-policy.js";
import type { Bind } from "../sandbox/bwrap-plan.js";
import type { SeccompEvent } from "../sandbox/seccomp/supervisor-events.js";
import type { Availability, ToolHost } from "../tier/tool-host.js";

/** How a session's cells are shared: one per session (the default) or one per role. */
export type Granularity = "per-session" | "per-role";

/** What a driver knows of the session it opens a compartment for. */
export interface SessionContext {
  readonly id: string;
  readonly role: string;
  readonly principal: Principal;
  readonly granularity: Granularity;
  /**
   * Signs this session's launch statement for the compartment that will serve it (`cellId`:
   * the cell's id, or null where no cell checks it); the compartment refuses a bad one.
   */
  readonly sign: (cellId: string | null) => string;
  /** Extra read-only binds for every sandbox of the session (probes: the native fixtures). */
  readonly extraRo: readonly Bind[];
  /**
   * The cell program (a path under dist/), default the real cell. Probes run a hostile cell
   * through this seam to show the frame guard; nothing in the real cell misbehaves on request.
   */
  readonly cellMain?: string;
  /** A seccomp supervisor's event from one of the session's sandboxes. */
  readonly onSeccomp: (tier: Tier, tool: string | null, event: SeccompEvent) => void;
}

/** A session's tools of one tier, planned: plain data, printable, testable without a host. */
export interface TierPlan {
  readonly tier: Tier;
  readonly tools: readonly string[];
  readonly data: unknown;
}

export interface TierDriver {
  readonly tier: Tier;
  /** Whether this host runs the tier (checked once, at start). */
  readonly availability: Availability;
  /** Pure: the session's tools of this tier as a plan (digests checked again on the bytes it carries). */
  plan(tools: readonly LoadedTool[], ctx: Pick<SessionContext, "granularity" | "extraRo" | "cellMain">): TierPlan;
  /** The session's compartment for a plan of this driver's. */
  open(plan: TierPlan, ctx: SessionContext): Promise<ToolHost>;
  /** Prepares ahead (warm pools) for a role's tools. */
  warm(tools: readonly LoadedTool[], granularity: Granularity): Promise<void>;
  close(): Promise<void>;
}
