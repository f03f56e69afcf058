// The `serve` and `watch` verbs. `serve --http` and `serve --stdio` share one setup: the audit
// log, the policy (audited if refused), a cell runtime, and a token verifier.
import type { Io, CommonOptions } from "./commands.js";
import { dataDir } from "../config/defaults.js";
import { trustedStart, type TrustedStart, type WitnessFlags } from "./trusted-start.js";
import { UsageError } from "../errors.js";
import { loadTrustAudited } from "../artifacts/load-trust-audited.js";
import type { TokenVerifier } from "../authn/principal.js";
import { createTokenVerifier } from "../authn/verify-token.js";
import type { LoadedPolicy } from "../policy/load-policy.js";
import type { Granularity } from "../runtime/runtime.js";
import { classifyRecord, formatDenial } from "../gateway/classify-record.js";
import { startHttpGateway } from "../gateway/http-gateway.js";
import { serveStdio } from "../gateway/stdio-gateway.js";
import { tailAudit } from "../gateway/tail-audit.js";


export interface ServeOptions extends CommonOptions {
  /** "HOST:PORT" for Streamable HTTP; undefined with `stdio`. */
  readonly http?: string | undefined;
  readonly stdio: boolean;
  readonly role?: string | undefined;
  readonly tokenFile?: string | undefined;
  readonly granularity?: Granularity | undefined;
  /** `--max-connections-per-address N` (HTTP only); every other connection limit keeps its default. */
  readonly maxConnectionsPerAddress?: string | undefined;
  /** Send the audit log's signed checkpoints to this witness. */
  readonly witness?: WitnessFlags | undefined;
}

/** A positive integer flag value, or a usage error naming the flag. */
function positiveFlag(value: string, flag: string): number {
  if (!/^[1-9][0-9]{0,8}$/.test(value)) throw new UsageError(`${flag} must be a positive integer (got ${JSON.stringify(value)})`);
  return Number(value);
}

/** Parses "127.0.0.1:8787" or "[::1]:8787". */
export function parseListen(value: string): { host: string; port: number } {
  const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(value);
  const port = Number(m?.[2]);
  if (m === null || port > 65535) throw new UsageError(`--http needs HOST:PORT, e.g. 127.0.0.1:8787 (got ${JSON.stringify(value)})`);
  return { host: (m[1] ?? "").replace(/^\[|\]$/g, ""), port };
}

/** The policy as a one-role process sees it: that role and its tools only. */
export function restrictToRole(policy: LoadedPolicy, role: string): LoadedPolicy {
  const names = policy.roles.get(role);
  if (names === undefined) return policy;
  return Object.freeze({
    ...policy,
    roles: new Map([[role, names]]),
    tools: new Map([...policy.tools].filter(([name]) => names.includes(name))),
  });
}

async function startTrusted(opts: ServeOptions, restrict: string | null, poolSize: number): Promise<TrustedStart & { readonly verifier: TokenVerifier; readonly issuers: string[] }> {
  const started = await trustedStart({
    policy: opts.policy,
    audit: opts.audit,
    strict: opts.strict,
    isolation: opts.isolation,
    poolSize,
    ...(opts.granularity === undefined ? {} : { granularity: opts.granularity }),
    ...(opts.witness === undefined ? {} : { witness: opts.witness }),
    ...(restrict === null ? {} : { restrict: (p: LoadedPolicy) => restrictToRole(p, restrict) }),
  });
  // Tokens are always verified against the signed trust bundle, --no-strict or not.
  // A refusal is audited and ends the start: the runtime it would have served is closed.
  const bundle = started.bundle ?? (await loadTrustAudited(dataDir(), { append: (e) => started.runtime.record(e) }).catch(async (err: unknown) => {
    await started.runtime.close();
    throw err;
  }));
  const verifier = started.verifier ?? createTokenVerifier(bundle, { roles: new Set(started.policy.roles.keys()) });
  return { ...started, verifier, issuers: [...new Set(bundle.issuers.map((i) => i.issuer))] };
}

function untilSignal(): Promise<string> {
  return new Promise((resolve) => {
    const on = (sig: string) => () => resolve(sig);
    process.once("SIGINT", on("SIGINT"));
    process.once("SIGTERM", on("SIGTERM"));
  });
}

export async function serveCommand(opts: ServeOptions, io: Io): Promise<number> {
  if (opts.stdio === (opts.http !== undefined)) throw new UsageError("serve needs exactly one of --stdio or --http HOST:PORT");
  if (opts.stdio) {
    if (opts.role === undefined || opts.tokenFile === undefined) throw new UsageError("serve --stdio needs --role ROLE and --token-file FILE");
    const { runtime, verifier } = await startTrusted(opts, opts.role, 0);
    try {
      // stdout carries the protocol: nothing else may be written there.
      const gw = await serveStdio({ runtime, role: opts.role, tokenFile: opts.tokenFile, verifier });
      io.err(`cordon: serving role ${opts.role} on stdio (session ${gw.session.id})`);
      await Promise.race([gw.closed, untilSignal().then(() => gw.close())]);
    } finally {
      await runtime.close();
    }
    return 0;
  }
  const { host, port } = parseListen(opts.http ?? "");
  const perAddress = opts.maxConnectionsPerAddress === undefined ? {} : { maxConnectionsPerAddress: positiveFlag(opts.maxConnectionsPerAddress, "--max-connections-per-address") };
  const { runtime, verifier, issuers } = await startTrusted(opts, null, 1);
  try {
    await runtime.warm();
    const gw = await startHttpGateway({ runtime, verifierFor: () => verifier, issuers, host, port, ...perAddress });
    io.out(`cordon: MCP endpoint ${gw.url}\ncordon: resource metadata ${gw.metadataUrl}\ncordon: metrics ${new URL("/metrics", gw.url).href}`);
    await untilSignal();
    await gw.close();
  } finally {
    await runtime.close();
  }
  return 0;
}

/** `cordon watch`: prints each denial and limit hit as it becomes durable in the audit file. */
export async function watchCommand(opts: { audit: string; all: boolean }, io: Io): Promise<number> {
  const controller = new AbortController();
  void untilSignal().then(() => controller.abort());
  io.err(`cordon: watching ${opts.audit} for denials (Ctrl-C to stop)`);
  await tailAudit({
    path: opts.audit,
    fromStart: opts.all,
    signal: controller.signal,
    onRecord: (r) => {
      if (classifyRecord(r) !== "other") io.out(formatDenial(r));
    },
  });
  return 0;
}
