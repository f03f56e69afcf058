// Test and probe helpers: a real witness on a free loopback port in a throwaway directory,
// a fetch that can be switched off (an outage), and a log checkpointed through the witness.
import { generateKeyPairSync, type KeyObject } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { keyId, type SigningKey } from "../../crypto/dsse.js";
import { AuditLog } from "../audit-log.js";
import { Checkpointer } from "../checkpoint.js";
import type { Fetch } from "../witness-client.js";
import { startWitnessServer, type WitnessServer } from "./serve-witness.js";
import { Witness, type WitnessOptions } from "./witness.js";

export interface TestWitness {
  readonly witness: Witness;
  readonly server: WitnessServer;
  readonly url: string;
  readonly dataDir: string;
  /** The witness's key, as `--witness-key` gives it: keyid → public key. */
  readonly keys: ReadonlyMap<string, KeyObject>;
  close(): Promise<void>;
}

export async function startTestWitness(opts: Partial<WitnessOptions> = {}, dataDir = mkdtempSync(join(tmpdir(), "cordon-witness-"))): Promise<TestWitness> {
  const witness = await Witness.open({ dataDir, ...opts });
  const server = await startWitnessServer(witness, { host: "127.0.0.1", port: 0 });
  return {
    witness,
    server,
    url: server.url,
    dataDir,
    keys: new Map([[witness.keyid, witness.publicKey]]),
    close: async () => {
      await server.close();
      await witness.close();
    },
  };
}

export function freshSigningKey(): { key: SigningKey; trusted: ReadonlyMap<string, KeyObject> } {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  const keyid = keyId(publicKey);
  return { key: { keyid, privateKey }, trusted: new Map([[keyid, publicKey]]) };
}

/** A fetch that fails like a refused connection while `down` is true. */
export function switchableFetch(): { fetch: Fetch; down: boolean } {
  const state: { fetch: Fetch; down: boolean } = { down: false, fetch: globalThis.fetch };
  state.fetch = (input, init) =>
    state.down ? Promise.reject(new TypeError("fetch failed", { cause: Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" }) })) : fetch(input, init);
  return state;
}

/**
 * Writes `records` records to a new log at `path`, checkpointed every `every` records (and at
 * close) with `key`, each checkpoint witnessed by the witness at `url`. Resolves once closed.
 */
export async function writeWitnessedLog(path: string, key: SigningKey, url: string, keys: ReadonlyMap<string, KeyObject>, records: number, every: number): Promise<void> {
  const log = await AuditLog.open(path);
  const cp = await Checkpointer.start(log, { auditPath: path, key, everyRecords: every, startTimer: () => () => undefined, witness: { url, keys } });
  for (let i = 1; i <= records; i++) {
    await log.append({ type: "call.allowed", enforcer: "role-toolset", tool: "text-stats", inputBytes: i });
    // Each checkpoint reaches the witness before the next records: a witness sees every one.
    if (i % every === 0) {
      await cp.checkpoint();
      await cp.anchor?.idle();
    }
  }
  await log.close();
  await cp.close();
}
