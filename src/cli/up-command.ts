// `cordon up`, the main job: a development trust setup (cordon init), the example policy and
// tools signed, a token per role with ready-to-paste client configuration, and the MCP gateway
// on loopback HTTP with /metrics. `cordon init` is the first step alone.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { UsageError } from "../errors.js";
import { RuntimeLockMismatch } from "../lock/errors.js";
import { loadSigningKey } from "../crypto/keys.js";
import { mintToken } from "../authn/mint-token.js";
import { writeFileAtomic } from "../crypto/write-atomic.js";
import { parseListen, serveCommand } from "./serve-command.js";
import type { Granularity } from "../runtime/runtime.js";
import type { CommonOptions, Io } from "./commands.js";
import { dataDir, PACKAGE_ROOT } from "../config/defaults.js";
import { devInit, type DevInit } from "./dev-init.js";
import type { WitnessFlags } from "./trusted-start.js";
import { loadPolicy } from "../policy/load-policy.js";

export const DEFAULT_LISTEN = "127.0.0.1:8787";
const TOKEN_TTL_SEC = 24 * 3600;

export function granularityOf(value: string | undefined): Granularity | undefined {
  if (value === undefined || value === "per-session" || value === "per-role") return value;
  throw new UsageError(`--granularity is per-session or per-role (got ${JSON.stringify(value)})`);
}

function audienceFor(listen: string): string {
  const { host, port } = parseListen(listen);
  return `http://${host.includes(":") ? `[${host}]` : host}:${port}/mcp`;
}

export async function initCommand(opts: { policy: string; listen: string }, io: Io): Promise<number> {
  const init = await devInit({ dataDir: dataDir(), policyPath: opts.policy, audience: audienceFor(opts.listen), packageRoot: PACKAGE_ROOT });
  report(init, io);
  return 0;
}

function report(init: DevInit, io: Io): void {
  io.err(`cordon: trust root pinned in ${dataDir()} (${init.createdKeys ? "new keys" : "existing keys"}); issuer ${init.issuer}, audience ${init.audience}`);
  io.err(`cordon: signed the policy (version ${init.policyVersion}) and ${init.signed - 1} modules/scripts`);
  io.err(init.lockedComponents === null ? "cordon: runtime lock kept (verified at every start)" : `cordon: locked the runtime: ${init.lockedComponents} components (verified at every start)`);
}

export async function upCommand(opts: CommonOptions & { listen: string; granularity: Granularity | undefined; witness?: WitnessFlags | undefined }, io: Io): Promise<number> {
  io.err("cordon: 1/4 development trust: root, token issuer and publisher keys");
  const init = await devInit({ dataDir: dataDir(), policyPath: opts.policy, audience: audienceFor(opts.listen), packageRoot: PACKAGE_ROOT });
  report(init, io);
  io.err("cordon: 2/4 tokens for each role");
  const issuerKey = loadSigningKey(init.issuerKeyPath).privateKey;
  const roles = [...loadPolicy(opts.policy).roles.keys()];
  const tokenDir = join(dataDir(), "tokens");
  mkdirSync(tokenDir, { recursive: true, mode: 0o700 });
  const cli = join(PACKAGE_ROOT, "dist", "cli", "main.js");
  const lines: string[] = [];
  const servers: Record<string, unknown> = {};
  for (const role of roles) {
    const token = await mintToken({ privateKey: issuerKey, issuer: init.issuer, audience: init.audience, subject: `dev-${role}`, role, ttlSec: TOKEN_TTL_SEC, typ: "at+jwt" });
    const file = join(tokenDir, `${role}.jwt`);
    writeFileAtomic(file, token, 0o600);
    lines.push(
      `role ${role}: token in ${file}`,
      `  npx @modelcontextprotocol/inspector --cli ${init.audience} --transport http --header "Authorization: Bearer $(cat ${file})" --method tools/list`,
    );
    servers[`cordon-${role}`] = { command: process.execPath, args: [cli, "serve", "--stdio", "--role", role, "--token-file", file] };
  }
  io.out(lines.join("\n"));
  io.out(`\nstdio clients (mcpServers):\n${JSON.stringify({ mcpServers: servers }, null, 2)}`);
  if (opts.witness === undefined) {
    // Not started here on purpose: a witness in this process and data directory would be cut back along with the log.
    io.err(`cordon: audit checkpoints are not witnessed; to close that gap run a witness elsewhere (another host, or at least another user):\n  node ${cli} witness --listen 127.0.0.1:8788 --data ~/cordon-witness\n  then: node ${cli} up --witness http://127.0.0.1:8788 --witness-key ~/cordon-witness/witness.key.pub`);
  } else {
    io.err(`cordon: witnessing audit checkpoints at ${opts.witness.url}`);
  }
  io.err("cordon: 3/4 verifying the runtime lock, starting cells; 4/4 serving (Ctrl-C to stop)");
  try {
    return await serveCommand({ ...opts, http: opts.listen, stdio: false, granularity: opts.granularity }, io);
  } catch (err) {
    if (err instanceof RuntimeLockMismatch) {
      io.err(`cordon: this installation changed since it was locked. If you changed it on purpose, re-lock it:\n  node ${cli} lock --key ${join(dataDir(), "publisher.key")} --out ${join(dataDir(), "runtime.lock.json")}`);
    }
    throw err;
  }
}
