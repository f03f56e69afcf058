// The `serve` and `watch` verbs. `serve --http` and `serve --stdio` share one setup: the audit
// log, the policy (audited if refused), a cell runtime, and a token verifier.
import { createPublicKey, type KeyObject } from "node:crypto";
import { readFileSync } from "node:fs";
import { AuditLog } from "../audit/index.js";
import type { Io, CommonOptions } from "../cli/commands.js";
import { loadAudited } from "../cli/commands.js";
import { UsageError } from "../errors.js";
import type { TokenVerifier } from "../identity/principal.js";
import type { LoadedPolicy } from "../policy/load-policy.js";
import { Runtime } from "../runtime/runtime.js";
import { classifyRecord, formatDenial } from "./classify-record.js";
import { startHttpGateway } from "./http-gateway.js";
import { createInterimVerifier } from "./interim-verifier.js";
import { serveStdio } from "./stdio-gateway.js";
import { tailAudit } from "./tail-audit.js";

/** The audience stdio tokens carry (there is no URL to name). */
export const STDIO_AUDIENCE = "urn:cordon:stdio";

export interface ServeOptions extends CommonOptions {
  /** "HOST:PORT" for Streamable HTTP; undefined with `stdio`. */
  readonly http?: string | undefined;
  readonly stdio: boolean;
  readonly role?: string | undefined;
  readonly tokenFile?: string | undefined;
  readonly issuer?: string | undefined;
  /** INTERIM: the issuer's Ed25519 public key (PEM), until signed trust bundles land. */
  readonly issuerKey?: string | undefined;
  readonly audience?: string | undefined;
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

function verifierFactory(opts: ServeOptions): { issuers: string[]; verifierFor: (audience: string) => TokenVerifier } {
  if (opts.issuer === undefined || opts.issuerKey === undefined) {
    throw new UsageError("serve needs --issuer URL and --issuer-key FILE (the issuer's Ed25519 public key, PEM)");
  }
  let pem: string;
  try {
    pem = readFileSync(opts.issuerKey, "utf8");
  } catch (err) {
    throw new UsageError(`cannot read --issuer-key ${opts.issuerKey}: ${(err as NodeJS.ErrnoException).code ?? "read failed"}`);
  }
  let publicKey: KeyObject;
  try {
    publicKey = createPublicKey(pem);
  } catch {
    throw new UsageError(`--issuer-key ${opts.issuerKey} is not a PEM public key`);
  }
  if (publicKey.asymmetricKeyType !== "ed25519") throw new UsageError("--issuer-key must be an Ed25519 public key");
  const issuer = opts.issuer;
  return { issuers: [issuer], verifierFor: (audience) => createInterimVerifier({ issuer, publicKey, audience }) };
}

async function startRuntime(opts: ServeOptions, restrict: string | null, poolSize: number): Promise<Runtime> {
  const audit = await AuditLog.open(opts.audit);
  try {
    const loaded = await loadAudited(opts.policy, audit);
    const policy = restrict === null ? loaded : restrictToRole(loaded, restrict);
    return await Runtime.start({ policy, audit, strict: opts.strict, isolation: opts.isolation, poolSize });
  } catch (err) {
    await audit.close();
    throw err;
  }
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
  const { issuers, verifierFor } = verifierFactory(opts);
  if (opts.stdio) {
    if (opts.role === undefined || opts.tokenFile === undefined) throw new UsageError("serve --stdio needs --role ROLE and --token-file FILE");
    const runtime = await startRuntime(opts, opts.role, 0);
    try {
      // stdout carries the protocol: nothing else may be written there.
      const gw = await serveStdio({ runtime, role: opts.role, tokenFile: opts.tokenFile, verifier: verifierFor(opts.audience ?? STDIO_AUDIENCE) });
      io.err(`cordon: serving role ${opts.role} on stdio (session ${gw.session.id})`);
      await Promise.race([gw.closed, untilSignal().then(() => gw.close())]);
    } finally {
      await runtime.close();
    }
    return 0;
  }
  const { host, port } = parseListen(opts.http ?? "");
  const runtime = await startRuntime(opts, null, 1);
  try {
    const gw = await startHttpGateway({ runtime, verifierFor, issuers, host, port });
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
