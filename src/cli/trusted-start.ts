// How every serving command starts (run, prove, serve, up): open the audit log, refuse and
// record keys offered through the environment, then, in strict mode (the default), load the
// pinned trust root and its signed trust bundle and accept only a signed policy with signed
// modules, all checked on the bytes that are then used. --no-strict skips the signatures and
// says so in the audit log; it never happens silently.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { AuditLog, type AuditEvent } from "../audit/index.js";
import { Checkpointer } from "../audit/checkpoint.js";
import { sha256Hex } from "../crypto/digest.js";
import { loadSigningKeyFile, loadTrustedKeyFile } from "../crypto/load-key-file.js";
import { parseWitnessUrl } from "../audit/witness-client.js";
import { readEnvelopeFile } from "../artifacts/load-trust-bundle.js";
import { assertRuntimeLock, type RuntimeLockResult } from "../lock/verify-lock.js";
import { CHECKPOINT_KEY_FILE, RUNTIME_LOCK_FILE } from "./dev-init.js";
import { policyTrust } from "../artifacts/policy-trust.js";
import { recordEnvKeyOffers } from "../artifacts/env-key-offers.js";
import { loadTrustAudited } from "../artifacts/load-trust-audited.js";
import type { TokenVerifier } from "../authn/principal.js";
import type { TrustBundle } from "../artifacts/trust-bundle.js";
import { createTokenVerifier } from "../authn/verify-token.js";
import type { LoadedPolicy } from "../policy/load-policy.js";
import { IN_PROCESS_STAMP, Runtime, type Granularity } from "../runtime/runtime.js";
import { CordonError, UsageError } from "../errors.js";
import { errorFields } from "../audit/fields.js";
import { loadAudited } from "../artifacts/load-policy-audited.js";
import type { CommonOptions } from "./commands.js";
import { dataDir, PACKAGE_ROOT } from "../config/defaults.js";

export interface TrustedStart {
  /** The runtime lock check at start (null with --no-strict). */
  readonly lock: RuntimeLockResult | null;
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
  /** Send every signed checkpoint to this witness (`--witness URL --witness-key PUB`). */
  readonly witness?: WitnessFlags;
}

/** `--witness URL --witness-key PUB`, as given. */
export interface WitnessFlags {
  readonly url: string;
  readonly keyFile: string;
}

export async function trustedStart(opts: StartOptions): Promise<TrustedStart> {
  const log = await AuditLog.open(opts.audit);
  // Before the runtime exists, records still carry its stamp: in-process, the missing layer.
  const audit = { append: (e: AuditEvent) => log.append({ ...e, ...(opts.isolation === "in-process" ? IN_PROCESS_STAMP : {}) }) };
  let checkpointer: Checkpointer | null = null;
  try {
    await recordEnvKeyOffers(opts.env ?? process.env, audit);
    const home = dataDir(opts.env ?? process.env);
    // Checkpoints of the audit file, signed with the control plane's checkpoint key if it has one.
    const checkpointKey = join(home, CHECKPOINT_KEY_FILE);
    if (opts.witness !== undefined && !existsSync(checkpointKey)) throw new UsageError(`--witness needs signed checkpoints: no ${CHECKPOINT_KEY_FILE} in ${home} (cordon init makes one)`);
    const witness = opts.witness === undefined ? undefined : { url: parseWitnessUrl(opts.witness.url).href, keys: await loadTrustedKeyFile(opts.witness.keyFile) };
    checkpointer = existsSync(checkpointKey)
      ? await Checkpointer.start(log, { auditPath: opts.audit, key: await loadSigningKeyFile(checkpointKey), ...(witness === undefined ? {} : { witness }) })
      : null;
    // Never silently: without the key the log has its hash chain but no signed anchors.
    if (checkpointer === null) await audit.append({ type: "audit.unanchored", reason: "no checkpoint key in cordon's data directory (cordon init makes one)" });
    const started = checkpointer;
    let bundle: TrustBundle | null = null;
    let trust: ReturnType<typeof policyTrust> | undefined;
    if (opts.strict) {
      bundle = await loadTrustAudited(home, audit);
      trust = policyTrust(bundle, home);
    } else {
      await audit.append({ type: "trust.skipped", reason: "--no-strict: policy and module signatures are not checked" });
    }
    let lock: RuntimeLockResult | null = null;
    let lockSha256: string | null = null;
    if (bundle !== null) {
      // The runtime itself, hash-locked: refuse to serve on any difference, naming the file.
      const lockPath = join(home, RUNTIME_LOCK_FILE);
      try {
        const envelope = readEnvelopeFile(lockPath);
        lock = await assertRuntimeLock(envelope, bundle.policySigners, PACKAGE_ROOT);
        lockSha256 = sha256Hex(envelope);
      } catch (err) {
        if (err instanceof CordonError) await audit.append({ type: "runtime.refused", enforcer: "runtime-lock", ...errorFields(err) });
        throw err;
      }
      await audit.append({ type: "runtime.verified", enforcer: "runtime-lock", lockSha256, components: lock.components.length, files: lock.files, ms: lock.ms });
    }
    const loaded = await loadAudited(opts.policy, audit, trust);
    const policy = opts.restrict?.(loaded) ?? loaded;
    const runtime = await Runtime.start({
      policy,
      audit: log,
      strict: opts.strict,
      isolation: opts.isolation,
      ...(opts.poolSize === undefined ? {} : { poolSize: opts.poolSize }),
      ...(opts.granularity === undefined ? {} : { granularity: opts.granularity }),
      ...(trust?.facts.version === null || trust === undefined ? {} : { signedPolicyVersion: trust.facts.version }),
      ...(lockSha256 === null ? {} : { runtimeLockSha256: lockSha256 }),
      ...(started === null ? {} : { afterClose: () => started.close() }),
    });
    // Every role of the policy is known to the verifier; a one-role process then refuses the others by name.
    const verifier = bundle === null ? null : createTokenVerifier(bundle, { roles: new Set(loaded.roles.keys()) });
    return { runtime, policy, bundle, verifier, lock };
  } catch (err) {
    await log.close();
    await checkpointer?.close();
    throw err;
  }
}
