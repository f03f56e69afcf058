// The floor under an idle cell: node itself, idling on a timer with the cell's V8 flags, under
// bare bubblewrap (no seccomp, no cgroup, no cordon code). An idle cell cannot be smaller.
import { spawn } from "node:child_process";
import { CELL_NODE_FLAGS } from "../cell/cell-plan.js";
import { BARE_BWRAP } from "./cell-cases.js";
import { descendants, IDLE_READ_MS, mb, measurePids, memoryData, memoryDetail } from "./cell-memory.js";
import { settle } from "./measure.js";
import { failedRow, type Row } from "./rows.js";

const NOBODY = 65534;

export async function benchIdleNodeFloor(): Promise<Row[]> {
  const base = { id: "cells.floor.idle-node", section: "cells", label: "floor: idle node (a timer, the cell's flags) under bare bwrap" } as const;
  if (!process.execPath.startsWith("/usr/")) return [failedRow(base, new Error(`node at ${process.execPath} is outside the /usr bind`))];
  const argv = [process.execPath, "--max-old-space-size=64", "--disallow-code-generation-from-strings", ...CELL_NODE_FLAGS, "-e", "setInterval(() => {}, 1 << 30)"];
  const id = process.getuid?.() === 0 ? { uid: NOBODY, gid: NOBODY } : {};
  const child = spawn("bwrap", [...BARE_BWRAP, ...argv], { ...id, stdio: ["ignore", "ignore", "pipe"], shell: false });
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<string>((resolve) => child.on("close", (code, signal) => resolve(`exited ${code ?? signal}`)));
  const failedToStart = new Promise<string>((resolve) => child.on("error", (err) => resolve(err.message)));
  try {
    const early = await Promise.race([settle(IDLE_READ_MS).then(() => null), exited, failedToStart]);
    if (early !== null || child.pid === undefined) throw new Error(`bwrap node ${early ?? "did not start"}: ${stderr.trim().slice(0, 200)}`);
    const m = measurePids([child.pid, ...descendants(child.pid)]);
    const value = mb(m.rssBytes);
    return [
      {
        ...base,
        kind: "value",
        value,
        unit: "MB",
        detail: memoryDetail(m),
        data: memoryData(m),
        note: `${IDLE_READ_MS / 1000} s after start, as the cells; the bwrap processes plus node running nothing but a timer. Most of node's RSS is its own binary's code and read-only data pages, which every cell maps from the same page cache`,
      },
    ];
  } catch (err) {
    return [failedRow(base, err)];
  } finally {
    child.kill("SIGKILL");
    await Promise.race([exited, settle(2000)]);
  }
}
