// `cordon prove`: for every line of the policy, run each of its checks (a hostile probe) on
// this host, and accept the line only if the probe was stopped AND exactly one audit record
// naming the line's enforcer appeared. Wishes and unavailable tiers are rows too, never skips.
// Given the trust a strict start verified, the runtime's own lines (runtime-lines.ts) follow the
// policy's: token checks, signed artifacts, the gateway's guards, the audit chain, the lock.
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CordonError } from "../errors.js";
import { mountTmpfs, unmountTmpfs } from "../sandbox/tmpfs.js";
import type { PolicyLine } from "../policy/lines.js";
import type { Runtime } from "../runtime/runtime.js";
import { PROBES } from "./registry.js";
import { runtimeLines } from "./runtime-lines.js";
import type { Probe, ProbeOutcome, TrustContext } from "./types.js";

export type RowStatus = "proven" | "failed" | "unavailable" | "wish";

export interface ProveRow {
  readonly line: string;
  readonly enforcer: string | null;
  readonly check: string | null;
  readonly tier: string;
  readonly status: RowStatus;
  readonly auditSeq: number | null;
  readonly detail: string;
}

/** Why runtime rows cannot run without a verified trust bundle. */
export const NO_TRUST_REASON = "no verified trust bundle (--no-strict): run strict (cordon init sets up a development trust root)";

async function proveCheck(runtime: Runtime, line: PolicyLine, check: string, probes: ReadonlyMap<string, Probe>, trust: TrustContext | null): Promise<Omit<ProveRow, "line" | "enforcer" | "check" | "tier">> {
  const probe = probes.get(check);
  if (probe === undefined) return { status: "failed", auditSeq: null, detail: `no probe '${check}' in this build` };
  if (line.scope.kind === "runtime" && trust === null) return { status: "unavailable", auditSeq: null, detail: NO_TRUST_REASON };
  const tool = line.scope.kind === "tool" ? runtime.policy.tools.get(line.scope.name) : undefined;
  // Tier lines, and a process tool's lines other than its input checks (made before any
  // process runs), need the OS sandbox: without it they cannot be shown firing.
  const controlPlaneOnly = line.subject === "input.schema" || line.subject === "limits.input";
  const osSandboxed = line.scope.kind === "tier" || ((tool?.tier === "process" || tool?.tier === "container") && !controlPlaneOnly);
  if (osSandboxed && runtime.isolation !== "cell") {
    return { status: "unavailable", auditSeq: null, detail: "in-process: this layer is missing (no cell, no OS sandbox)" };
  }
  // A container line on a host without the container tier (not root, no runtime): shown, never run.
  const containerLine = line.tier === "container" || tool?.tier === "container";
  const containers = runtime.driverOf("container")?.availability;
  if (containerLine && !controlPlaneOnly && containers !== undefined && !containers.ok) {
    return { status: "unavailable", auditSeq: null, detail: `the container tier is unavailable here: ${containers.missing}` };
  }
  const before = runtime.audit.head?.seq ?? 0;
  const tmp = mkdtempSync(join(tmpdir(), "cordon-probe-"));
  // A writable grant must be a capped, noexec filesystem (disk-quota, noexec-mounts): the
  // probe's throwaway tree is one, where this host lets cordon mount it.
  const capped = process.getuid?.() === 0 ? tryMountProbeTmpfs(tmp) : false;
  // Cells run as unprivileged uids: the probe's throwaway tree must be traversable by them.
  chmodSync(tmp, 0o755);
  let outcome: ProbeOutcome;
  try {
    const role = line.scope.kind === "role" ? line.scope.name : undefined;
    outcome = await probe({ runtime, line, tool, role, tmp, ...(line.scope.kind === "runtime" && trust !== null ? { trust } : {}) });
  } catch (err) {
    const code = err instanceof CordonError ? err.code : "probe crashed";
    outcome = { stopped: false, detail: `probe error: ${code}: ${(err as Error).message}` };
  } finally {
    // A lazy unmount drops the tmpfs and all it holds; then the empty mount point goes.
    if (capped) unmountTmpfs(tmp);
    rmSync(tmp, { recursive: true, force: true });
  }
  const evidence = runtime.audit.recordsAfter(before).filter((r) => r.enforcer === line.enforcer);
  const first = evidence[0];
  if (outcome.unavailable !== undefined) return { status: evidence.length === 0 ? "unavailable" : "failed", auditSeq: first?.seq ?? null, detail: outcome.unavailable };
  if (!outcome.stopped) return { status: "failed", auditSeq: first?.seq ?? null, detail: outcome.detail };
  if (evidence.length !== 1 || first === undefined) {
    return { status: "failed", auditSeq: first?.seq ?? null, detail: `${outcome.detail}; expected exactly 1 audit record naming ${line.enforcer}, found ${evidence.length}` };
  }
  const weaker = tool?.route.weaker ?? null;
  return { status: "proven", auditSeq: first.seq, detail: weaker === null ? outcome.detail : `[local-dev, weaker than its risk demands: ${weaker}] ${outcome.detail}` };
}

/** Size of each probe's throwaway tmpfs (no larger than the smallest limits.disk a probe meets in practice). */
const PROBE_TMPFS_BYTES = 16 * 1024 * 1024;

function tryMountProbeTmpfs(dir: string): boolean {
  try {
    mountTmpfs(dir, { sizeBytes: PROBE_TMPFS_BYTES, inodes: 4096, uid: 0, gid: 0, exec: false });
    return true;
  } catch {
    return false;
  }
}

/**
 * Runs every check of the policy's lines and, when `trust` is given, of the runtime's own lines:
 * with a TrustContext they run against it; with null (a --no-strict start) they are rows with
 * status `unavailable` and the reason. Omitted, only the policy's lines are proven.
 */
export async function prove(runtime: Runtime, onRow?: (row: ProveRow) => void, probes: ReadonlyMap<string, Probe> = PROBES, trust?: TrustContext | null): Promise<ProveRow[]> {
  const rows: ProveRow[] = [];
  const lines = trust === undefined ? runtime.policy.lines : [...runtime.policy.lines, ...runtimeLines()];
  for (const line of lines) {
    const base = { line: line.text, enforcer: line.enforcer, tier: line.tier };
    const checks = line.status === "wish" ? [] : line.checks;
    if (line.status === "wish" || checks.length === 0) {
      const row = { ...base, check: line.checks[0] ?? null, status: "wish" as const, auditSeq: null, detail: line.wishReason ?? "no check" };
      rows.push(row);
      onRow?.(row);
      continue;
    }
    for (const check of checks) {
      const result = await proveCheck(runtime, line, check, probes, trust ?? null);
      const row = { ...base, check, ...result };
      await runtime.record({ type: "probe.ran", probe: check, line: line.text, probeOf: line.enforcer, status: row.status, evidenceSeq: row.auditSeq });
      rows.push(row);
      onRow?.(row);
    }
  }
  return rows;
}
