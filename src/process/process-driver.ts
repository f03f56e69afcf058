// The process tier's driver: a session's native tools, each call in a fresh sandbox and cgroup
// of the host's OS sandbox (process-host.ts). The plan is the tools, each script's digest checked
// again before the session may run it. Without the OS sandbox the tier is unavailable: its tools
// exist, and every call is refused, never run unsandboxed.
import { verifyDigest } from "../crypto/digest.js";
import type { LoadedTool, ProcessTool } from "../policy/load-policy.js";
import type { OsSandbox } from "../sandbox/os-sandbox.js";
import type { SessionContext, TierDriver, TierPlan } from "../router/driver.js";
import type { Availability, ToolHost } from "../tier/tool-host.js";
import { ProcessHost } from "./process-host.js";

export class ProcessDriver implements TierDriver {
  readonly tier = "process";
  readonly availability: Availability;

  constructor(private readonly sandbox: OsSandbox | null) {
    this.availability =
      sandbox === null
        ? { ok: false, missing: "no OS sandbox (bubblewrap, seccomp, cgroups) on this host: process tools never run unsandboxed" }
        : { ok: true, layers: ["os-sandbox", "seccomp"], detail: { ...sandbox.layers } };
  }

  plan(tools: readonly LoadedTool[], ctx: Pick<SessionContext, "extraRo">): TierPlan {
    const own = tools.filter((t): t is ProcessTool => t.tier === "process");
    for (const t of own) if (t.command.script !== null) verifyDigest(t.command.script.bytes, t.command.script.sha256, t.command.script.path);
    return { tier: "process", tools: own.map((t) => t.name), data: { tools: own, extraRo: ctx.extraRo } };
  }

  open(plan: TierPlan, ctx: SessionContext): Promise<ToolHost> {
    if (this.sandbox === null) return Promise.reject(new Error("the process tier is unavailable"));
    const { tools } = plan.data as { tools: readonly ProcessTool[] };
    return Promise.resolve(new ProcessHost(new Map(tools.map((t) => [t.name, t])), this.sandbox, { extraRo: ctx.extraRo, onSeccomp: (tool, e) => ctx.onSeccomp("process", tool, e) }));
  }

  warm(): Promise<void> {
    return Promise.resolve();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
