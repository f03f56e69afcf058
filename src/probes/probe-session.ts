// How probes open sessions: variants of real tools under their real limits, for the local
// operator, always in a cell of their own, with hostile parts swapped in only through the
// runtime's seams (a spoiling launch signer, the probe cell program).
import type { Json } from "../errors.js";
import type { LoadedTool } from "../policy/load-policy.js";
import { cellOf, localPrincipal, type Runtime } from "../runtime/runtime.js";
import type { LaunchSigner } from "../runtime/launch.js";
import type { Session, SessionOffers } from "../runtime/session.js";
import type { Bind } from "../sandbox/bwrap-plan.js";
import type { EnforcerName } from "../enforcers.js";

/** The probe cell program (hostile-cell.ts), under dist/. */
export const HOSTILE_CELL_MAIN = "probes/hostile-cell.js";

export interface ProbeSessionOptions {
  readonly extraRo?: readonly Bind[];
  readonly signer?: LaunchSigner;
  /** Run the probe cell (self-attacks, forged frames) instead of the real one. */
  readonly hostileCell?: boolean;
  /** Resource roots and prompts the session offers (resource probes). */
  readonly offers?: SessionOffers;
}

export function openProbeSession(runtime: Runtime, role: string, tools: readonly LoadedTool[], opts: ProbeSessionOptions = {}): Promise<Session> {
  return runtime.openSessionWith({
    role,
    tools,
    principal: localPrincipal(role),
    granularity: "per-session",
    extraRo: opts.extraRo ?? [],
    ...(opts.signer === undefined ? {} : { signer: opts.signer }),
    ...(opts.hostileCell === true ? { cellMain: HOSTILE_CELL_MAIN } : {}),
    ...(opts.offers === undefined ? {} : { offers: opts.offers }),
  });
}

/** A launch signer whose statements a cell must refuse: a flipped payload bit, or a digest for other bytes. */
export function spoilingSigner(base: LaunchSigner, how: "signature" | "digest"): LaunchSigner {
  return (subject, predicate) => {
    if (how === "digest") {
      const other = subject.map((s) => ({ ...s, digest: { sha256: [...s.digest.sha256].reverse().join("") } }));
      return base(other, predicate);
    }
    const signed = base(subject, predicate);
    const env = JSON.parse(signed.envelope) as { payload: string };
    const payload = Buffer.from(env.payload, "base64");
    payload[payload.length - 2] = (payload[payload.length - 2] ?? 0) ^ 0x01;
    return { ...signed, envelope: JSON.stringify({ ...env, payload: payload.toString("base64") }) };
  };
}

export interface SelftestResult {
  readonly probe: string;
  /** The attack got through. */
  readonly succeeded: boolean;
  readonly errno: number;
  readonly signal: string | null;
  readonly report: Json;
  readonly pidsMaxHits: number;
  readonly oomKills: number;
}

/** Which wall each cell self-attack hits. */
const SELFTEST_ENFORCER: Readonly<Record<string, EnforcerName>> = {
  "socket-inet": "seccomp",
  "connect-unix": "seccomp",
  ptrace: "seccomp",
  mount: "seccomp",
  unshare: "seccomp",
  read: "bwrap-mounts",
  write: "bwrap-mounts",
  environ: "cell-launch",
  fds: "cell-launch",
  "fork-bomb": "cgroup-pids",
  "mem-hog": "cgroup-memory",
};

/**
 * Runs one of the probe cell's self-attacks (the native hostile fixture inside the cell's own
 * sandbox) and records what the wall did. A seccomp wall records itself (the supervisor's live
 * denial record), so then this record names no enforcer; cgroup walls add the kernel's counters.
 */
export async function selftest(runtime: Runtime, session: Session, spec: string): Promise<SelftestResult> {
  const host = cellOf(session.toolHost);
  if (host === null) throw new Error("the probe session has no cell");
  const probe = spec.split(" ")[0] ?? "";
  const enforcer = SELFTEST_ENFORCER[probe];
  if (enforcer === undefined) throw new Error(`unknown selftest ${probe}`);
  const raw = (await host.process.selftest(spec)) as { report?: { succeeded?: boolean; errno?: number } | null; signal?: string | null } | null;
  const events = host.process.cgroup?.events();
  const result: SelftestResult = {
    probe,
    succeeded: raw?.report?.succeeded ?? false,
    errno: raw?.report?.errno ?? 0,
    signal: raw?.signal ?? null,
    report: (raw?.report ?? null),
    pidsMaxHits: events?.pidsMaxHits ?? 0,
    oomKills: events?.oomKills ?? 0,
  };
  await runtime.record({
    type: "sandbox.probed",
    ...(enforcer === "seccomp" ? { probeOf: enforcer } : { enforcer }),
    session: session.id,
    probe,
    succeeded: result.succeeded,
    errno: result.errno,
    signal: result.signal,
    pidsMaxHits: result.pidsMaxHits,
    oomKills: result.oomKills,
  });
  return result;
}
