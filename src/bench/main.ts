// `npm run bench`: cordon's benchmark. Prints the tables and writes bench-results/bench.json.
// Not a test: nothing here asserts; a missed target or a baseline that cannot run is reported.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { CELL_NODE_FLAGS } from "../cell/cell-plan.js";
import { WasmCell } from "../wasm/engine/wasm-cell.js";
import { benchEchoExtism, benchEchoNodeWasi } from "./baseline-cases.js";
import { EXTISM_LIMITATION } from "./baselines/extism.js";
import { writeBenchPolicy } from "./bench-policy.js";
import { benchEchoCell, benchEchoSession } from "./call-cases.js";
import { benchCheckpoints } from "./checkpoint-cases.js";
import { benchBareBwrap, benchIdleCellMemory, benchSessionStart } from "./cell-cases.js";
import { sessionsPerGiB } from "./density.js";
import { benchFuel, cpuBurnSubject, loopSubject } from "./fuel-cases.js";
import { benchCallGranularity } from "./granularity-call-case.js";
import { benchGateway } from "./gateway-cases.js";
import { benchIdentity } from "./identity-cases.js";
import { benchIpcFloor } from "./ipc-floor.js";
import { buildLoop, GUEST_NAMES, loadGuest, REPO_ROOT, type Guest, type GuestName } from "./guests.js";
import { benchCompile, benchInstantiate, benchInstrument, benchReactor } from "./load-cases.js";
import { benchLockVerify } from "./lock-cases.js";
import { settle } from "./measure.js";
import { benchIdleNodeFloor } from "./memory-floor.js";
import { benchPerRoleMemory, benchPerRoleStart, SESSION_COUNTS } from "./per-role-cases.js";
import { benchDocument, formatReport, loadAverage, machineFacts, type RunFacts } from "./report.js";
import type { Row } from "./rows.js";
import { benchSrt } from "./srt-baseline.js";
import { benchSeccompSupervision } from "./seccomp-cases.js";
import { benchContainers } from "./container-cases.js";

import { benchDistribution } from "./oci-cases.js";
const NOTES = [
  "Every figure is wall time from process.hrtime.bigint() around one call, after a warm-up; p50/p99 are nearest-rank percentiles.",
  "cordon rows run the instrumented (fuel-metered, memory-capped) module; baselines run the original bytes compiled once.",
  "node:wasi needs real file descriptors for stdio, so its per-call time includes writing the stdin file, opening stdin/stdout, reading stdout back and closing them.",
  EXTISM_LIMITATION,
  "Compile times defeat V8's compiled-module cache with a unique trailing custom section per iteration.",
  "Fuel ratios: metered WasmCell.call vs the original bytes on cordon's WasiHost (same host, same stdin, no instrumentation), interleaved runs, output checked equal. N is calibrated so one metered run takes about 150 ms. On a busy machine (see load average) min/min is the steadier figure.",
  "tight-loop is the worst case for metering (two cheap adds per iteration, so the fuel check dominates); mul-loop, the loop of fuel-overhead.test.ts, is latency-bound on its multiply-rotate chain, which hides the check.",
  "Cell rows run as root (cgroups); each session start includes the memory audit log's records. Bare bwrap rows are a floor: no seccomp, no cgroup, no launcher, no frame socket. srt runs the same /bin/true under its own bwrap, seccomp helper and network proxies.",
  `Cells run node with --max-old-space-size=64 --disallow-code-generation-from-strings ${CELL_NODE_FLAGS.join(" ")} (CELL_NODE_FLAGS in src/cell/cell-plan.ts says which other V8 flags were measured and why they were left out). The floor row is what node costs idle under bwrap before cordon loads anything.`,
  "p99 of the fresh-instance cases is dominated by V8 garbage collection and releasing per-instance Wasm memories (mark-compacts show under --trace-gc); the mean includes that amortised cost, p50 does not.",
  "Gateway rows: the load generator is a forked process (keep-alive node:http, or the SDK's Client where named); this process holds only the runtime and the gateway, so its CPU and memory are theirs. Tokens are minted by a test issuer and verified by cordon's verifier; the mixed loads add a fault lane (trap, deadline loop, OOM-killed process) and refused tokens and session hijacks, each checked against its audit record.",
  "Container rows run as root: cordon's cold call includes its cgroup (created, joined, read, removed), the bundle, cordon-launch as the seccomp supervisor, the runtime, cordon-seccomp-exec installing the filter, the answer and the deletion; the bare rows are the runtime alone with a minimal bundle (no user namespace, seccomp, cgroup or limits). Each iteration runs one of each, interleaved.",
  "Slowloris rows: a second forked process holds 500 connections (127.0.0.2-127.0.0.11, 50 per address, under the default per-address cap of 64) sending one header byte per second, reopening each one the gateway cuts at its 10 s header clock; the measuring client calls from 127.0.0.1, one call at a time, before, during (13 s) and after.",
];

function progress(what: string): void {
  process.stderr.write(`bench: ${what}\n`);
}

async function run(): Promise<void> {
  const startedAt = process.hrtime.bigint();
  const timestamp = new Date().toISOString();
  const machine = machineFacts();
  if (process.argv.includes("--containers")) {
    // Only the container section (node dist/bench/main.js --containers).
    const rows = await benchContainers(progress);
    const facts: RunFacts = { timestamp, seconds: Number(process.hrtime.bigint() - startedAt) / 1e9, loadAverageAtEnd: loadAverage() };
    console.log(formatReport(machine, facts, rows, NOTES));
    return;
  }
  const guests = new Map<GuestName, Guest>(GUEST_NAMES.map((n) => [n, loadGuest(n)]));
  const guest = (n: GuestName) => guests.get(n) as Guest;
  for (const g of guests.values()) progress(`${g.name} from ${g.path} (${g.bytes.length} B)`);
  const loops = [await buildLoop("tight-loop"), await buildLoop("mul-loop")];
  const bench = writeBenchPolicy({ echo: guest("echo"), notes: guest("notes"), cpuBound: [guest("cpu-burn"), ...loops] });
  const rows: Row[] = [];
  const cell = new WasmCell(bench.templates());
  try {
    progress("echo through WasmCell.call");
    rows.push(benchEchoCell(cell));
    await settle();
    progress("echo through Session.call (memory and file audit)");
    rows.push(...(await benchEchoSession(bench)));
    await settle();
    progress("echo under node:wasi");
    rows.push(...benchEchoNodeWasi(guest("echo")));
    await settle();
    progress("echo under Extism");
    rows.push(...(await benchEchoExtism(guest("echo"))));
    await settle();
    progress("notes reactor");
    rows.push(benchReactor(cell));
    await settle();
    const all = [...guests.values()];
    progress("instrument, compile, instantiate");
    rows.push(...benchInstrument(all), ...benchCompile(all), ...benchInstantiate([guest("echo"), guest("text-stats")]));
    await settle();
    progress("fuel overhead: cpu-burn (calibrating N)");
    rows.push(...(await benchFuel(cell, cpuBurnSubject(guest("cpu-burn")))));
    for (const loop of loops) {
      progress(`fuel overhead: ${loop.name} (calibrating N)`);
      rows.push(...(await benchFuel(cell, loopSubject(loop))));
    }
    await settle();
    progress("cells: session start (no pool, warm pool)");
    rows.push(...(await benchSessionStart(bench)));
    await settle();
    progress("cells: idle cell memory, and idle node under bare bwrap (the floor)");
    rows.push(...(await benchIdleCellMemory(bench)));
    rows.push(...(await benchIdleNodeFloor()));
    await settle();
    progress("cells: per-role session start");
    rows.push(...(await benchPerRoleStart(bench)));
    await settle();
    progress("cells: one call in-process, per-session cell, per-role cell (interleaved)");
    rows.push(...(await benchCallGranularity(bench)));
    rows.push(...(await benchIpcFloor()));
    await settle();
    progress(`cells: per-role cell memory with ${SESSION_COUNTS.join(", ")} sessions`);
    rows.push(...(await benchPerRoleMemory(bench)));
    rows.push(...sessionsPerGiB(rows));
    await settle();
    progress("cells: bare bwrap and srt baselines");
    const bwrapRows = await benchBareBwrap();
    rows.push(...bwrapRows);
    const bwrapTrue = bwrapRows.find((r) => r.id === "cells.bwrap.true");
    rows.push(...(await benchSrt(bwrapTrue?.kind === "timing" ? bwrapTrue.stats : undefined)));
    await settle();
    progress("cells: the cost of recording every seccomp denial (supervised vs plain filter)");
    rows.push(...benchSeccompSupervision());
    await settle();
    progress("identity: token verification, signed artifacts");
    rows.push(...(await benchIdentity()));
    progress("integrity: audit checkpoint overhead, runtime lock verification");
    rows.push(...(await benchCheckpoints()), ...(await benchLockVerify(REPO_ROOT)));
    await settle();
    rows.push(...(await benchGateway(progress)));
    await settle();
    progress("distribution: pull and verify from a loopback registry, cold and cached, against skopeo copy");
    rows.push(...(await benchDistribution()));
    rows.push(...(await benchContainers(progress)));
  } finally {
    cell.close();
    bench.remove();
  }
  const facts: RunFacts = { timestamp, seconds: Number(process.hrtime.bigint() - startedAt) / 1e9, loadAverageAtEnd: loadAverage() };
  console.log(formatReport(machine, facts, rows, NOTES));
  const dir = join(REPO_ROOT, "bench-results");
  mkdirSync(dir, { recursive: true });
  const file = join(dir, "bench.json");
  writeFileSync(file, `${JSON.stringify(benchDocument(machine, facts, rows, NOTES), null, 2)}\n`);
  console.log(`\nwrote ${file}`);
}

await run();
