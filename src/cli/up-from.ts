// `cordon up --from REF`: start from a release in a registry instead of the local example. The
// release is pulled and verified (or, with the registry down, taken from the verified cache,
// audited), laid out under the data directory, and served by the same strict start as `cordon
// up`, which checks every signature again on the bytes it loads. Nothing is signed here: the
// trust is the pinned root's and the bundle's. Tokens are minted for the policy's roles when
// this data directory holds a development issuer key the bundle lists.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { AuditLog } from "../audit/index.js";
import { loadTrustBundle } from "../artifacts/load-trust-bundle.js";
import { dataDir, ISSUER_KEY_FILE } from "../config/defaults.js";
import { loadSigningKey } from "../crypto/keys.js";
import { parsePolicy } from "../policy/load-policy.js";
import { readFileSync } from "node:fs";
import { startFrom } from "../oci/start-from.js";
import type { Granularity } from "../runtime/runtime.js";
import type { CommonOptions, Io } from "./commands.js";
import { progressPrinter } from "./oci-commands.js";
import { serveCommand } from "./serve-command.js";
import type { WitnessFlags } from "./trusted-start.js";
import { mintRoleTokens } from "./up-command.js";
import { publicJwk } from "../authn/mint-token.js";

export interface UpFromOptions extends CommonOptions {
  readonly from: string;
  /** Where the policy's relative grant directories are found on this host. */
  readonly grantsDir: string;
  readonly listen: string;
  readonly granularity: Granularity | undefined;
  readonly witness?: WitnessFlags | undefined;
}

export async function upFromCommand(opts: UpFromOptions, io: Io): Promise<number> {
  const home = dataDir();
  io.err(`cordon: 1/4 fetching and verifying ${opts.from}`);
  const log = await AuditLog.open(opts.audit);
  let started;
  try {
    started = await startFrom({ dataDir: home, reference: opts.from, audit: log, grantsDir: opts.grantsDir, onProgress: progressPrinter(io) });
  } finally {
    await log.close();
  }
  io.err(started.source === "registry"
    ? `cordon: verified ${started.reference} (${started.digest})`
    : `cordon: the registry is unavailable; starting from the verified cache of ${started.digest} (recorded as oci.cache-used)`);
  io.err("cordon: 2/4 tokens for each role");
  const issuerKeyPath = join(home, ISSUER_KEY_FILE);
  const roles = Object.keys(parsePolicy(readFileSync(started.policyPath, "utf8")).spec.roles);
  if (existsSync(issuerKeyPath)) {
    const key = loadSigningKey(issuerKeyPath);
    const jwk = await publicJwk(key.privateKey);
    const issuer = loadTrustBundle({ dataDir: home }).bundle.issuers.find((i) => i.jwks.keys.some((k) => k.x === jwk.x));
    if (issuer !== undefined) await mintRoleTokens({ issuerKeyPath, issuer: issuer.issuer, audience: issuer.audience, roles }, io);
    else io.err(`cordon: ${ISSUER_KEY_FILE} is not an issuer of the trust bundle; bring tokens from your issuer`);
  } else {
    io.err(`cordon: no development issuer key in ${home}; bring tokens from your issuer`);
  }
  io.err("cordon: 3/4 verifying the runtime lock, starting cells; 4/4 serving (Ctrl-C to stop)");
  return serveCommand({ ...opts, policy: started.policyPath, http: opts.listen, stdio: false, granularity: opts.granularity }, io);
}
