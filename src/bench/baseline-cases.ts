// The echo call under other hosts, in the same run: node:wasi and the Extism JS SDK. A baseline
// that cannot run becomes a failed row carrying its error.
import { EXTISM_LIMITATION, loadExtism, type ExtismHost } from "./baselines/extism.js";
import { NodeWasiRunner } from "./baselines/node-wasi.js";
import { ECHO_INPUT, ECHO_JSON } from "./call-cases.js";
import type { Guest } from "./guests.js";
import { timeAsync, timeSync, type Plan } from "./measure.js";
import { failedRow, type Row } from "./rows.js";

const NODE_WASI_PLAN: Plan = { warmup: 300, iterations: 3000 };
const EXTISM_PLAN: Plan = { warmup: 300, iterations: 3000 };

export function benchEchoNodeWasi(echo: Guest): Row[] {
  const base = { id: "call.echo.node-wasi", section: "call", label: "node:wasi (original bytes, fresh instance)" } as const;
  const stdioBase = { id: "call.echo.node-wasi.stdio-only", section: "call", label: "node:wasi: its stdio file I/O alone (part of the row above)" } as const;
  let runner: NodeWasiRunner | undefined;
  try {
    runner = new NodeWasiRunner(new WebAssembly.Module(echo.bytes), "echo");
    const r = runner;
    const out = new TextDecoder().decode(r.run(ECHO_INPUT));
    if (out !== ECHO_JSON) throw new Error(`echo under node:wasi returned ${JSON.stringify(out)}`);
    const stats = timeSync(NODE_WASI_PLAN, () => void r.run(ECHO_INPUT));
    const stdio = timeSync(NODE_WASI_PLAN, () => void r.stdioOnly(ECHO_INPUT));
    return [
      {
        ...base,
        kind: "timing",
        stats,
        note: "includes per-call file I/O node:wasi needs for stdio: write stdin file, open stdin + stdout fds, read stdout back, close",
      },
      { ...stdioBase, kind: "timing", stats: stdio, note: "the same file I/O with no WASI and no instance: subtract it to see node:wasi's own cost" },
    ];
  } catch (err) {
    return [failedRow(base, err)];
  } finally {
    runner?.close();
  }
}

export async function benchEchoExtism(echo: Guest): Promise<Row[]> {
  const rows: Row[] = [];
  const fresh = { id: "call.echo.extism.fresh", section: "call", label: "Extism JS SDK (fresh plugin per call)" } as const;
  let extism: ExtismHost;
  try {
    extism = await loadExtism(new WebAssembly.Module(echo.bytes));
  } catch (err) {
    return [failedRow({ ...fresh, note: "the Extism baseline could not be set up (SDK import or module compile)" }, err)];
  }
  try {
    const stats = await timeAsync(EXTISM_PLAN, () => extism.freshCall());
    rows.push({ ...fresh, kind: "timing", stats, note: EXTISM_LIMITATION });
  } catch (err) {
    rows.push(failedRow({ ...fresh, note: EXTISM_LIMITATION }, err));
  }
  const reused = { id: "call.echo.extism.reused", section: "call", label: "Extism JS SDK (one plugin reused, _start again)" } as const;
  try {
    const plugin = await extism.reusedPlugin();
    try {
      const stats = await timeAsync(EXTISM_PLAN, () => plugin.call());
      rows.push({ ...reused, kind: "timing", stats, note: "not a fresh instance: guest state carries over; SDK per-call overhead only" });
    } finally {
      await plugin.close();
    }
  } catch (err) {
    rows.push(failedRow(reused, err));
  }
  return rows;
}
