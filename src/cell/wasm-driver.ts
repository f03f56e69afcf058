// The wasm tier's driver: a session's Wasm tools in a sandboxed cell of its own (per-session),
// in its role's cell (per-role), or, for development only, inside this process. The plan is the
// tools' templates, each module's digest checked again on the very bytes the cell will get.
import { verifyDigest } from "../crypto/digest.js";
import type { LoadedTool } from "../policy/load-policy.js";
import type { Granularity, SessionContext, TierDriver, TierPlan } from "../router/driver.js";
import type { Availability, ToolHost } from "../tier/tool-host.js";
import type { ToolTemplate } from "../wasm/engine/types.js";
import type { CellFactory } from "./cell-factory.js";
import { CellHost, InProcessHost, RoleCellHost } from "./cell-hosts.js";

/** The real cell program, under dist/. */
export const CELL_MAIN = "cell/main.js";

export interface WasmPlanData {
  readonly templates: readonly ToolTemplate[];
  readonly granularity: Granularity;
  readonly cellMain: string;
}

/** The Wasm tools' templates, each module's digest checked again on the bytes sent. */
export function templatesOf(tools: readonly LoadedTool[]): ToolTemplate[] {
  return tools.flatMap((tool) => {
    if (tool.tier !== "wasm") return [];
    const bytes = verifyDigest(tool.moduleBytes, tool.moduleSha256, tool.modulePath);
    return [{ name: tool.name, abi: tool.abi, moduleBytes: bytes, limits: tool.limits, grants: tool.grants }];
  });
}

export class WasmDriver implements TierDriver {
  readonly tier = "wasm";
  readonly availability: Availability;

  /** `cells` null: development only, guest code in this process (every record says so). */
  constructor(
    private readonly cells: CellFactory | null,
    private readonly onLog: (session: string, tool: string, line: string) => void,
  ) {
    this.availability =
      cells === null
        ? { ok: true, layers: ["wasm", "in-process"], detail: { isolation: "in-process: no OS sandbox" } }
        : { ok: true, layers: ["wasm", "os-sandbox", "seccomp"], detail: { ...cells.layers } };
  }

  plan(tools: readonly LoadedTool[], ctx: Pick<SessionContext, "granularity" | "cellMain">): TierPlan {
    const templates = templatesOf(tools);
    const data: WasmPlanData = { templates, granularity: ctx.granularity, cellMain: ctx.cellMain ?? CELL_MAIN };
    return { tier: "wasm", tools: templates.map((t) => t.name), data };
  }

  async open(plan: TierPlan, ctx: SessionContext): Promise<ToolHost> {
    const { templates, granularity, cellMain } = plan.data as WasmPlanData;
    const onLog = (tool: string, line: string) => this.onLog(ctx.id, tool, line);
    if (this.cells === null) return new InProcessHost(templates, onLog);
    const grants = new Map(templates.map((t) => [t.name, t.grants]));
    if (granularity === "per-role") {
      const cell = await this.cells.roleCell(templates, cellMain);
      await cell.open(ctx.id, ctx.sign(cell.id));
      return new RoleCellHost(cell, ctx.id, [...(cell.tools ?? [])], onLog, grants);
    }
    const { cell, tools } = await this.cells.assign(ctx.id, templates, ctx.sign, cellMain);
    return new CellHost(cell, tools, onLog, grants);
  }

  async warm(tools: readonly LoadedTool[], granularity: Granularity): Promise<void> {
    if (this.cells === null) return;
    const templates = templatesOf(tools);
    if (granularity === "per-role") await this.cells.roleCell(templates);
    else await this.cells.warm(templates);
  }

  /** The cell factory, when cells are in use (the runtime's reaper and probes look at cells). */
  get factory(): CellFactory | null {
    return this.cells;
  }

  async close(): Promise<void> {
    await this.cells?.close();
  }
}
