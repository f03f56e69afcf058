// A session's tools across tiers: each tool is served by the host its tier's driver opened
// for the session. A tool whose tier this host does not run still exists for the session, but
// every call of it is refused with TierUnavailable (and audited): it never runs elsewhere.
import type { TierUnavailable } from "../errors.js";
import type { Tier } from "../enforcers.js";
import type { HostCallOptions, Isolation, ResourceFiles, ToolHost } from "../tier/tool-host.js";
import type { CallOutcome } from "../wasm/engine/types.js";
import { ProcessHost } from "../process/process-host.js";
import { ContainerHost } from "../container/container-host.js";

export class SessionHost implements ToolHost {
  constructor(
    /** The compartment each tier's driver opened for this session. */
    private readonly hosts: ReadonlyMap<Tier, ToolHost>,
    /** Tools of a tier this host does not run, and why. */
    private readonly unavailable: ReadonlyMap<string, TierUnavailable> = new Map(),
    /** The runtime's isolation: what a session with no compartment at all is stamped with. */
    private readonly runtimeIsolation: Isolation = "cell",
  ) {}

  get isolation(): Isolation {
    return [...this.hosts.values()].some((h) => h.isolation === "in-process") ? "in-process" : this.runtimeIsolation;
  }

  toolNames(): string[] {
    return [...[...this.hosts.values()].flatMap((h) => h.toolNames()), ...this.unavailable.keys()];
  }

  has(name: string): boolean {
    return this.unavailable.has(name) || [...this.hosts.values()].some((h) => h.has(name));
  }

  call(name: string, input: Uint8Array, opts: HostCallOptions): Promise<CallOutcome> {
    const refused = this.unavailable.get(name);
    if (refused !== undefined) {
      return Promise.resolve({ ok: false, error: refused, enforcer: null, logs: [], denials: [], stats: { fuelUsed: 0, wallUs: 0, outputBytes: 0, memoryBytes: 0 } });
    }
    const host = [...this.hosts.values()].find((h) => h.has(name));
    if (host === undefined) return Promise.reject(new Error(`tool ${name} is not held by this session`));
    return host.call(name, input, opts);
  }

  /** The session's resource roots are Wasm tools' grants: the compartment that binds them serves them. */
  get files(): ResourceFiles | undefined {
    return this.hostOf("wasm")?.files;
  }

  /** The compartment of one tier (probes and tests look inside). */
  hostOf(tier: Tier): ToolHost | null {
    return this.hosts.get(tier) ?? null;
  }

  /** The session's Wasm compartment (a cell, or in-process). */
  get wasmHost(): ToolHost | null {
    return this.hostOf("wasm");
  }

  /** The session's process-tier host (its places and last run, for probes). */
  get processHost(): ProcessHost | null {
    const h = this.hostOf("process");
    return h instanceof ProcessHost ? h : null;
  }

  /** The session's container-tier host (its places and runs, for probes). */
  get containerHost(): ContainerHost | null {
    const h = this.hostOf("container");
    return h instanceof ContainerHost ? h : null;
  }

  async close(): Promise<void> {
    await Promise.all([...this.hosts.values()].map((h) => h.close()));
  }
}
