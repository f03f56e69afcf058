// A session's launch statement, as data (pure), and the signer seam: the runtime signs with its
// per-boot key; a probe hands in a signer that spoils the statement, through the same seam, so
// nothing in the production path tampers on request.
import { principalDigest, signLaunch, type LaunchKey, type SignedLaunch } from "../attest/launch-statement.js";
import type { LaunchPredicate, LaunchSubject } from "../attest/launch-format.js";
import type { Principal } from "../authn/principal.js";
import type { LoadedTool } from "../policy/load-policy.js";
import type { Granularity } from "../router/driver.js";

export type LaunchSigner = (subject: readonly LaunchSubject[], predicate: LaunchPredicate) => SignedLaunch;

export function keySigner(key: LaunchKey): LaunchSigner {
  return (subject, predicate) => signLaunch(subject, predicate, key);
}

export interface LaunchFacts {
  readonly session: string;
  readonly role: string;
  readonly principal: Principal;
  readonly tools: readonly LoadedTool[];
  readonly policySha256: string;
  /** "cell" (OS-sandboxed) or "in-process". */
  readonly tier: "cell" | "in-process";
  readonly granularity: Granularity;
  readonly runtimeLockSha256: string | null;
  readonly cellId: string | null;
  readonly launchedAt: string;
}

/** The statement's subjects (each Wasm module's digest) and predicate (everything else it binds). */
export function launchOf(f: LaunchFacts): { subject: LaunchSubject[]; predicate: LaunchPredicate } {
  return {
    subject: f.tools.flatMap((t) => (t.tier === "wasm" ? [{ name: t.name, digest: { sha256: t.moduleSha256 } }] : [])),
    predicate: {
      cellId: f.cellId,
      session: f.session,
      principalDigest: principalDigest(f.principal),
      role: f.role,
      policySha256: f.policySha256,
      tier: f.tier,
      granularity: f.granularity,
      limits: Object.fromEntries(f.tools.map((t) => [t.name, { ...t.limits }])),
      scripts: f.tools.flatMap((t) => (t.tier === "process" && t.command.script !== null ? [{ name: t.name, digest: { sha256: t.command.script.sha256 } }] : [])),
      runtimeLockSha256: f.runtimeLockSha256,
      launchedAt: f.launchedAt,
    },
  };
}
