// Import vetting: before a module is instantiated, every import must be something cordon
// provides AND something the tool's grants cover. Otherwise the module is refused at load,
// naming the import and the enforcer that gates it.
import { ImportUngranted } from "../../errors.js";
import type { Grant } from "../../types/tool.js";
import { WASI_IMPORT_NEEDS } from "../wasi/index.js";
import type { EnforcerName } from "../../enforcers.js";

export interface ModuleImport {
  readonly module: string;
  readonly name: string;
  readonly kind: string;
}

type Need = "base" | "fs" | "env" | "clock" | "random" | "log" | "progress" | "sampling" | "never";

/** The enforcer that refuses an import needing this grant. */
export const ENFORCER_FOR_NEED: Readonly<Record<Exclude<Need, "base">, EnforcerName>> = {
  fs: "wasi-jail",
  env: "wasi-env",
  clock: "wasi-clock",
  random: "wasi-random",
  log: "cordon-log",
  progress: "cordon-progress",
  sampling: "cordon-sampling",
  never: "wasm-import-vetting",
};

function needOf(imp: ModuleImport): Need {
  if (imp.kind !== "function") return "never";
  if (imp.module === "wasi_snapshot_preview1") return WASI_IMPORT_NEEDS.get(imp.name) ?? "never";
  if (imp.module === "cordon" && imp.name === "log") return "log";
  if (imp.module === "cordon" && imp.name === "progress") return "progress";
  if (imp.module === "cordon" && imp.name === "sample") return "sampling";
  if (imp.module === "env" && imp.name === "abort") return "base";
  return "never";
}

function granted(need: Need, grants: readonly Grant[]): boolean {
  switch (need) {
    case "base":
      return true;
    case "never":
      return false;
    case "fs":
      return grants.some((g) => g.kind === "fs.read" || g.kind === "fs.write");
    case "env":
    case "clock":
    case "random":
    case "log":
    case "progress":
    case "sampling":
      return grants.some((g) => g.kind === need);
  }
}

export class ImportRefused extends ImportUngranted {
  constructor(module: string, name: string, needs: string | null, readonly enforcer: EnforcerName) {
    super(module, name, needs);
  }
}

/** Throws ImportRefused (with the gating enforcer) for the first import the grants do not cover. */
export function vetImports(imports: readonly ModuleImport[], grants: readonly Grant[]): void {
  for (const imp of imports) {
    const need = needOf(imp);
    if (!granted(need, grants)) {
      const enforcer = need === "base" ? "wasm-import-vetting" : ENFORCER_FOR_NEED[need];
      throw new ImportRefused(imp.module, imp.name, need === "never" ? null : need, enforcer);
    }
  }
}
