// Probes for the wasi-jail enforcer: escapes by `..`, absolute path, planted symlinks, a
// rename race, and writes into a read-only grant. Each runs the real tool's grant shape
// (mount point, writability) over a throwaway directory, never over the user's data.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import type { Grant } from "../types/tool.js";
import { loadFixture } from "./fixtures.js";
import type { Probe, ProbeEnv, ProbeOutcome } from "./types.js";
import { callVariant, describe, refusalOf, requireTool, requireWasmTool, variant } from "./variant.js";

/** Where an uncapped directory is made: the host's temporary directory, on its own disk (or a tmpfs sized for the host). */
const UNCAPPED_PARENT = tmpdir();

const SECRET = "OUTSIDE-SECRET-7f3a";
const RACE_ITERATIONS = 10_000;

interface Jail {
  readonly root: string;
  readonly outside: string;
  readonly grant: Grant;
}

function makeJail(env: ProbeEnv): Jail {
  const line = env.line;
  const tool = requireWasmTool(env);
  const original = line.grantIndex === undefined ? undefined : tool.grants[line.grantIndex];
  if (original === undefined || (original.kind !== "fs.read" && original.kind !== "fs.write")) {
    throw new Error(`line '${line.text}' is not a filesystem grant`);
  }
  const root = join(env.tmp, "jail");
  const outside = join(env.tmp, "outside");
  mkdirSync(root);
  mkdirSync(outside);
  writeFileSync(join(outside, "secret.txt"), SECRET);
  writeFileSync(join(root, "inside.txt"), "inside");
  return { root, outside, grant: { kind: original.kind, hostPath: root, mount: original.mount } };
}

/** ENOTCAPABLE or ELOOP: the errnos only the jail gives for these attempts. */
const JAIL_ERRNOS = new Set(["76", "32"]);

async function openAttempt(env: ProbeEnv, jail: Jail, request: string): Promise<{ leaked: boolean; jailed: boolean; detail: string }> {
  const tool = variant(requireWasmTool(env), { bytes: loadFixture("fs-open"), grants: [jail.grant] });
  const result = await callVariant(env, tool, request);
  const shown = result.ok ? JSON.stringify(result.output) : "";
  const exitOutput = !result.ok && "output" in result.error ? new TextDecoder().decode(result.error.output as Uint8Array) : "";
  const leaked = shown.includes(SECRET) || exitOutput.includes(SECRET);
  const errno = /"errno":(\d+)/.exec(exitOutput)?.[1];
  const how = errno === undefined ? describe(result) : `guest got errno ${errno}${errno === "76" ? " (ENOTCAPABLE)" : errno === "32" ? " (ELOOP)" : ""}`;
  return { leaked, jailed: errno !== undefined && JAIL_ERRNOS.has(errno), detail: `${request.split(" ")[0]} ${request.split(" ")[1] ?? ""} refused: ${how}` };
}

function escapeProbe(makeRequest: (jail: Jail) => string, plant?: (jail: Jail) => void): Probe {
  return async (env) => {
    const jail = makeJail(env);
    plant?.(jail);
    const { leaked, jailed, detail } = await openAttempt(env, jail, makeRequest(jail));
    const outsideFiles = readdirSync(jail.outside);
    const untouched = outsideFiles.length === 1 && readFileSync(join(jail.outside, "secret.txt"), "utf8") === SECRET;
    return { stopped: jailed && !leaked && untouched, detail: leaked ? "LEAKED the outside secret" : detail };
  };
}

/** Reads (or, for a writable grant, creates) through the escape, so both directions are tried. */
function verb(jail: Jail): string {
  return jail.grant.kind === "fs.write" ? "write" : "read";
}

export const fsEscapeDotdot = escapeProbe((j) => `${verb(j)} ../outside/secret.txt`);
export const fsEscapeAbsolute = escapeProbe((j) => `${verb(j)} ${join(j.outside, "secret.txt")}`);
export const fsEscapeSymlinkFile = escapeProbe(
  (j) => `${verb(j)} link-file`,
  (j) => symlinkSync(join(j.outside, "secret.txt"), join(j.root, "link-file")),
);
export const fsEscapeSymlinkDir = escapeProbe(
  (j) => `${verb(j)} link-dir/secret.txt`,
  (j) => symlinkSync(j.outside, join(j.root, "link-dir")),
);

export const fsWriteReadonly: Probe = async (env) => {
  const jail = makeJail(env);
  const { jailed, detail } = await openAttempt(env, jail, "write inside.txt");
  const unchanged = readFileSync(join(jail.root, "inside.txt"), "utf8") === "inside";
  const nothingNew = readdirSync(jail.root).sort().join(",") === "inside.txt";
  return { stopped: jailed && unchanged && nothingNew, detail: unchanged ? detail : "host file CHANGED" };
};

async function race(env: ProbeEnv, mode: "read" | "create"): Promise<ProbeOutcome> {
  const jail = makeJail(env);
  mkdirSync(join(jail.root, ".sub-real"));
  writeFileSync(join(jail.root, ".sub-real", "secret.txt"), "inside");
  symlinkSync(jail.outside, join(jail.root, ".sub-link"));
  const stop = new SharedArrayBuffer(4);
  const worker = new Worker(new URL("./swap-worker.js", import.meta.url), { workerData: { root: jail.root, stop } });
  const swapsDone = new Promise<number>((resolve, reject) => {
    worker.once("message", (n: number) => resolve(n));
    worker.once("error", reject);
  });
  await new Promise((r) => setTimeout(r, 5));
  const racer = variant(requireWasmTool(env), { bytes: loadFixture("fs-race"), grants: [jail.grant] });
  // This probe is about the jail: thousands of opens must not be cut short by the tool's
  // deadline or fuel, which have probes of their own.
  const tool = { ...racer, limits: { ...racer.limits, wallClockMs: 120_000 } };
  const request = mode === "read" ? `${RACE_ITERATIONS}` : `c ${RACE_ITERATIONS}`;
  let result;
  try {
    result = await callVariant(env, tool, request, { fuelOverride: Number.MAX_SAFE_INTEGER });
  } finally {
    Atomics.store(new Int32Array(stop), 0, 1);
  }
  const swaps = await swapsDone;
  await worker.terminate();
  const outsideFiles = readdirSync(jail.outside).filter((f) => f !== "secret.txt");
  const counts = result.ok ? (result.output as { leaks?: number; ok?: number; denied?: number }) : {};
  const leaks = (counts.leaks ?? 0) + outsideFiles.length;
  const interleaved = (counts.ok ?? 0) > 0 && (counts.denied ?? 0) > 0;
  return {
    stopped: result.ok && leaks === 0 && interleaved,
    detail: `${RACE_ITERATIONS} opens during ${swaps} swaps: ok=${counts.ok ?? "?"} denied=${counts.denied ?? "?"} leaks=${leaks}${interleaved ? "" : " (race did not interleave)"}`,
  };
}

export const fsRaceSwap: Probe = (env) => race(env, "read");
export const fsRaceCreate: Probe = (env) => race(env, "create");

/**
 * A writable grant on a directory the kernel does not cap (the host's own disk): the session is
 * refused before the tool runs, under disk-quota.
 */
export const fsWriteUncapped: Probe = async (env) => {
  const tool = requireTool(env);
  const uncapped = mkdtempSync(join(UNCAPPED_PARENT, "cordon-probe-uncapped-"));
  try {
    const grants = tool.grants.map((g) => (g.kind === "fs.write" ? { ...g, hostPath: uncapped } : g));
    const err = await refusalOf(env, Object.freeze({ ...tool, grants }));
    const stopped = err?.code === "ERR_GRANT_UNCAPPED" && readdirSync(uncapped).length === 0;
    return { stopped, detail: stopped ? "a writable grant on an uncapped filesystem is refused at session open" : `not refused (${err?.code ?? "opened"})` };
  } finally {
    rmSync(uncapped, { recursive: true, force: true });
  }
};
