// How every serving command starts (run, prove, serve, up): open the audit log, refuse and
// record keys offered through the environment, then, in strict mode (the default), load the
// pinned trust root and its signed trust bundle and accept only a signed policy with signed
// modules, all checked on the bytes that are then used. --no-strict skips the signatures and
// says so in the audit log; it never happens silently.
import { AuditLog } from "../audit/index.js";
import { policyTrust } from "../artifacts/policy-trust.js";
import { recordEnvKeyOffers } from "../identity/env-key-offers.js";
import { loadTrustAudited } from "../identity/load-trust-audited.js";
import type { TokenVerifier } from "../identity/principal.js";
import type { TrustBundle } from "../identity/trust-bundle.js";
import { createTokenVerifier } from "../identity/verify-token.js";
import type { LoadedPolicy } from "../policy/load-policy.js";
import { Runtime, type Granularity } from "../runtime/runtime.js";
import { loadAudited } from "../artifacts/load-policy-audited.js";
import type { CommonOptions } from "./commands.js";
import { dataDir } from "./defaults.js";

export interface TrustedStart {
  readonly runtime: Runtime;
  readonly policy: LoadedPolicy;
  /** The verified trust bundle (null with --no-strict). */
  readonly bundle: TrustBundle | null;
  /** A verifier over the bundle's issuers for this policy's roles (null with --no-strict). */
  readonly verifier: TokenVerifier | null;
}

export interface StartOptions extends CommonOptions {
  readonly poolSize?: number;
  readonly granularity?: Granularity;
  /** Serve only this role's tools (stdio). */
  readonly restrict?: (policy: LoadedPolicy) => LoadedPolicy;
  readonly env?: Readonly<Record<string, string | undefined>>;
}

export async function trustedStart(opts: StartOptions): Promise<TrustedStart> {
  const audit = await AuditLog.open(opts.audit);
  try {
    await recordEnvKeyOffers(opts.env ?? process.env, audit);
    let bundle: TrustBundle | null = null;
    let trust: ReturnType<typeof policyTrust> | undefined;
    if (opts.strict) {
      bundle = await loadTrustAudited(dataDir(opts.env ?? process.env), audit);
      trust = policyTrust(bundle, dataDir(opts.env ?? process.env));
    } else {
      await audit.append({ type: "trust.skipped", reason: "--no-strict: policy and module signatures are not checked" });
    }
    const loaded = await loadAudited(opts.policy, audit, trust);
    const policy = opts.restrict?.(loaded) ?? loaded;
    const runtime = await Runtime.start({
      policy,
      audit,
      strict: opts.strict,
      isolation: opts.isolation,
      ...(opts.poolSize === undefined ? {} : { poolSize: opts.poolSize }),
      ...(opts.granularity === undefined ? {} : { granularity: opts.granularity }),
      ...(trust?.facts.version === null || trust === undefined ? {} : { signedPolicyVersion: trust.facts.version }),
    });
    // Every role of the policy is known to the verifier; a one-role process then refuses the others by name.
    const verifier = bundle === null ? null : createTokenVerifier(bundle, { roles: new Set(loaded.roles.keys()) });
    return { runtime, policy, bundle, verifier };
  } catch (err) {
    await audit.close();
    throw err;
  }
}
