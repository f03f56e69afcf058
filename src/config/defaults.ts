// Where things live when the command line does not say.
import { homedir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const PACKAGE_ROOT = fileURLToPath(new URL("../../", import.meta.url));
export const EXAMPLE_POLICY = join(PACKAGE_ROOT, "examples", "policy.yaml");

/** cordon's data directory: $CORDON_HOME, else ~/.cordon. Holds no keys in this release. */
export function dataDir(env: NodeJS.ProcessEnv = process.env): string {
  const configured = env["CORDON_HOME"];
  return configured !== undefined && configured !== "" ? configured : join(homedir(), ".cordon");
}

export function defaultAuditPath(env: NodeJS.ProcessEnv = process.env): string {
  return join(dataDir(env), "audit.jsonl");
}

/** The development issuer's and publisher's keys, in the data directory (`cordon init` makes them). */
export const ISSUER_KEY_FILE = "issuer.key";
export const PUBLISHER_KEY_FILE = "publisher.key";
