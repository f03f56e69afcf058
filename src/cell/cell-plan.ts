// What a cell's sandbox contains, as data: node, cordon's compiled code, the native probe
// fixture, and the role's grant directories (read-only or writable as granted). Nothing else
// of the host: no home, no /etc beyond the loader's files, no host /proc, no secrets.
import { join } from "node:path";
import { buildSandboxPlan, runtimeBinds, type Bind, type SandboxPlan, type SupervisedSeccomp } from "../sandbox/bwrap-plan.js";
import type { Grant } from "../types/tool.js";
import type { ToolTemplate } from "../wasm/engine/types.js";

export const CELL_ROOT = "/cordon";
/** uid/gid the cell sees itself as, inside its user namespace. */
export const CELL_INNER_ID = 1000;

export interface CellLayout {
  readonly binds: readonly Bind[];
  /** The same templates with fs grants pointing at their in-cell mount paths. */
  readonly templates: readonly ToolTemplate[];
}

/** Gives each distinct granted host directory one in-cell path, /grants/N. */
export function layoutCell(templates: readonly ToolTemplate[]): CellLayout {
  const byHost = new Map<string, { guest: string; writable: boolean }>();
  for (const t of templates) {
    for (const g of t.grants) {
      if (g.kind !== "fs.read" && g.kind !== "fs.write") continue;
      const seen = byHost.get(g.hostPath);
      const writable = g.kind === "fs.write" || (seen?.writable ?? false);
      byHost.set(g.hostPath, { guest: seen?.guest ?? `/grants/${byHost.size}`, writable });
    }
  }
  const remap = (g: Grant): Grant =>
    g.kind === "fs.read" || g.kind === "fs.write" ? { ...g, hostPath: byHost.get(g.hostPath)?.guest ?? "/nonexistent" } : g;
  return {
    binds: [...byHost].map(([host, v]) => ({ host, guest: v.guest, writable: v.writable })),
    templates: templates.map((t) => ({ ...t, grants: t.grants.map(remap) })),
  };
}

/**
 * Node/V8 flags for the cell beyond the heap cap. `--max-semi-space-size=2` (MiB) stops the young
 * generation growing under load: a cell that has served a few thousand calls holds ~64 MB RSS
 * instead of ~79, at no measurable cost per call. Measured and left out: `--optimize-for-size`
 * (-1 MB idle, +5-12% per call), `--single-threaded` (-1-2 MB idle, +3-6% per call, ~10 ms
 * slower cold start), `--max-semi-space-size=1` (+4% per call), `--v8-pool-size`, `--max-lazy`,
 * `--wasm-lazy-compilation`, `--no-opt` (-2 MB, +15% per call). `--jitless` and `--lite-mode`
 * turn Wasm off. An idle cell's floor is node itself: `node -e` with a timer holds ~40 MB RSS,
 * ~31 MB of it the node binary's code pages (shared between cells through the page cache).
 */
export const CELL_NODE_FLAGS: readonly string[] = ["--max-semi-space-size=2"];


/**
 * `cellArgs` reach the cell on its command line, apart from the frame pipe: its id and the
 * control plane's launch public key, against which it checks each session's launch statement.
 */
export function cellPlan(opts: { packageRoot: string; nodePath: string; binds: readonly Bind[]; seccomp: SupervisedSeccomp | null; heapMiB: number; cellArgs?: readonly string[]; main?: string }): SandboxPlan {
  const binds: Bind[] = [
    { host: join(opts.packageRoot, "dist"), guest: `${CELL_ROOT}/dist`, writable: false },
    { host: join(opts.packageRoot, "package.json"), guest: `${CELL_ROOT}/package.json`, writable: false },
    { host: join(opts.packageRoot, "build", "native"), guest: `${CELL_ROOT}/native`, writable: false },
    ...opts.binds,
  ];
  return buildSandboxPlan(
    {
      argv: [opts.nodePath, `--max-old-space-size=${opts.heapMiB}`, "--disallow-code-generation-from-strings", ...CELL_NODE_FLAGS, `${CELL_ROOT}/dist/${opts.main ?? "cell/main.js"}`, ...(opts.cellArgs ?? [])],
      binds,
      env: {},
      uid: CELL_INNER_ID,
      gid: CELL_INNER_ID,
      seccomp: opts.seccomp,
      cwd: "/tmp",
      hostname: "cell",
    },
    { extraRo: runtimeBinds(opts.nodePath) },
  );
}
