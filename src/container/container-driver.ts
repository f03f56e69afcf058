// The container tier's driver: a session's container tools, each call in a fresh OCI container
// (container-host.ts) started by cordon itself under crun or runsc. The plan is the tools with
// their runtime and image digest, each script's digest checked again. The tier needs root, the
// OS sandbox's helpers (cordon-launch as the seccomp supervisor, cordon-seccomp-exec as the
// container's entry point) and at least one runtime binary; each runtime is then probed with a
// real container on its first call, and a tool whose runtime fails is refused, never moved.
import { existsSync } from "node:fs";
import { verifyDigest } from "../crypto/digest.js";
import type { Bind } from "../sandbox/bwrap-plan.js";
import type { SeccompRule } from "../sandbox/seccomp/rules.js";
import type { ContainerTool, LoadedTool } from "../policy/load-policy.js";
import { cgroupParentFor } from "../sandbox/cgroups/control-plane.js";
import type { OsSandbox } from "../sandbox/os-sandbox.js";
import type { SessionContext, TierDriver, TierPlan } from "../router/driver.js";
import type { Availability, Layer, ToolHost } from "../tier/tool-host.js";
import { ContainerHost } from "./container-host.js";
import { ContainerTier, type ContainerTierOptions } from "./container-tier.js";
import { RUNTIME_BINS } from "./runtime-host.js";

export interface ContainerDriverOptions {
  /** Warm containers kept per crun tool. */
  readonly poolSize?: number;
  readonly store?: string;
  readonly onRecord?: ContainerTierOptions["onRecord"];
}

export class ContainerDriver implements TierDriver {
  readonly tier = "container";
  readonly availability: Availability;
  /** The tier's runtimes, images and pools (null when unavailable). */
  readonly containers: ContainerTier | null;

  constructor(private readonly sandbox: OsSandbox | null, opts: ContainerDriverOptions = {}) {
    const runtimes = Object.entries(RUNTIME_BINS).filter(([, bin]) => existsSync(bin)).map(([name]) => name);
    const missing =
      sandbox === null ? "no OS sandbox helpers (cordon-launch, cordon-seccomp-exec) on this host"
      : process.getuid?.() !== 0 ? "cordon is not root: it starts the OCI runtime itself, mapping container root to an unprivileged uid"
      : runtimes.length === 0 ? "neither crun nor runsc is installed (scripts/setup.sh installs both)"
      : null;
    this.availability = missing === null ? { ok: true, layers: ["container", "os-sandbox", "seccomp", ...(runtimes.includes("runsc") ? (["gvisor"] as const) : [])], detail: { runtimes } } : { ok: false, missing };
    this.containers =
      missing === null && sandbox !== null
        ? new ContainerTier({
            launcher: sandbox.launcher,
            seccompExec: sandbox.seccompExec,
            allocUid: () => sandbox.allocUid(),
            cgroupParent: cgroupParentFor(),
            poolSize: opts.poolSize ?? 0,
            ...(opts.store === undefined ? {} : { store: opts.store }),
            ...(opts.onRecord === undefined ? {} : { onRecord: opts.onRecord }),
          })
        : null;
  }

  /** The layers a call of `tool` crosses here: crun's container under cordon's seccomp, or gVisor's kernel under its OCI filter. */
  layersFor(tool: ContainerTool): readonly Layer[] {
    return tool.runtime === "runsc" ? ["container", "gvisor", "seccomp"] : ["container", "os-sandbox", "seccomp"];
  }

  plan(tools: readonly LoadedTool[]): TierPlan {
    const own = tools.filter((t): t is ContainerTool => t.tier === "container");
    for (const t of own) if (t.command.script !== null) verifyDigest(t.command.script.bytes, t.command.script.sha256, t.command.script.path);
    return { tier: "container", tools: own.map((t) => t.name), data: { tools: own, runtimes: own.map((t) => ({ tool: t.name, runtime: t.runtime, image: t.image.sha256 })) } };
  }

  open(plan: TierPlan, ctx: SessionContext): Promise<ToolHost> {
    if (this.containers === null || this.sandbox === null) return Promise.reject(new Error("the container tier is unavailable"));
    const sandbox = this.sandbox;
    const { tools } = plan.data as { tools: readonly ContainerTool[] };
    const extraRo = ctx.extraRo.length > 0 ? { extraRo: ctx.extraRo } : {};
    return Promise.resolve(new ContainerHost(new Map(tools.map((t) => [t.name, t])), this.containers, () => sandbox.allocUid(), { ...extraRo, onSeccomp: (tool, e) => ctx.onSeccomp("container", tool, e) }));
  }

  /**
   * Probes only: a host for one tool with a reduced rule table, to show the next wall on its own
   * (the network namespace with seccomp's socket rules lifted). Never used for a session.
   */
  probeHost(tool: ContainerTool, opts: { readonly extraRo: readonly Bind[]; readonly rules: readonly SeccompRule[] }): ContainerHost {
    if (this.containers === null || this.sandbox === null) throw new Error("the container tier is unavailable");
    const sandbox = this.sandbox;
    return new ContainerHost(new Map([[tool.name, tool]]), this.containers, () => sandbox.allocUid(), { extraRo: opts.extraRo, rules: opts.rules, warm: false });
  }

  /** Fills the warm pool for a role's first crun tool. */
  async warm(tools: readonly LoadedTool[]): Promise<void> {
    const own = tools.filter((t): t is ContainerTool => t.tier === "container");
    const first = own.find((t) => t.runtime === "crun");
    if (this.containers === null || first === undefined) return;
    this.containers.fill(first, own);
    await this.containers.settled();
  }

  async close(): Promise<void> {
    await this.containers?.close();
  }
}
