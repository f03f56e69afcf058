// `cordon witness --listen HOST:PORT --data DIR [--log NAME=PUBKEYFILE ...]`: runs a witness
// (src/audit/witness/) until SIGINT or SIGTERM. It belongs on another host than the control
// planes it witnesses, with its own data directory: its key (created 0600 on first start),
// its state, its own hash-chained log and the evidence of refused forks. With `--log` pins it
// serves exactly those logs under those checkpoint keys; without, it pins each log's key on
// first use. The URL goes to stdout (one line), the rest to stderr.
import type { KeyObject } from "node:crypto";
import { join } from "node:path";
import { UsageError } from "../errors.js";
import { loadPublicKey } from "../crypto/keys.js";
import { LOG_NAME } from "../audit/witness-payload.js";
import { startWitnessServer } from "../audit/witness/serve-witness.js";
import { Witness, WITNESS_KEY_FILE } from "../audit/witness/witness.js";
import { parseListen } from "./serve-command.js";
import type { Io } from "./commands.js";

export interface WitnessCommandOptions {
  readonly listen: string | undefined;
  readonly data: string | undefined;
  /** `NAME=PUBKEYFILE` pins. */
  readonly logs: readonly string[];
  /** Resolves when the witness should stop (default: SIGINT or SIGTERM). */
  readonly until?: Promise<unknown>;
}

/** `NAME=PUBKEYFILE` pins as name → key; a malformed pin or an unusable key file is refused. */
export function parseLogPins(pins: readonly string[]): Map<string, KeyObject> {
  const logs = new Map<string, KeyObject>();
  for (const pin of pins) {
    const at = pin.indexOf("=");
    const name = pin.slice(0, Math.max(0, at));
    if (at < 1 || !LOG_NAME.test(name)) throw new UsageError(`--log needs NAME=PUBKEYFILE, NAME the audit file's basename (got ${JSON.stringify(pin.slice(0, 200))})`);
    if (logs.has(name)) throw new UsageError(`--log ${name} is given twice`);
    logs.set(name, loadPublicKey(pin.slice(at + 1)).publicKey);
  }
  return logs;
}

export async function witnessCommand(opts: WitnessCommandOptions, io: Io): Promise<number> {
  if (opts.listen === undefined || opts.data === undefined) throw new UsageError("witness needs --listen HOST:PORT and --data DIR");
  let listen: { host: string; port: number };
  try {
    listen = parseListen(opts.listen);
  } catch {
    throw new UsageError(`--listen needs HOST:PORT, e.g. 127.0.0.1:8788 (got ${JSON.stringify(opts.listen.slice(0, 200))})`);
  }
  const logs = parseLogPins(opts.logs);
  const witness = await Witness.open({ dataDir: opts.data, logs });
  try {
    const server = await startWitnessServer(witness, listen);
    io.err(`cordon: witness key ${witness.keyid}; control planes trust it with --witness-key ${join(opts.data, `${WITNESS_KEY_FILE}.pub`)}`);
    io.err(logs.size > 0 ? `cordon: witnessing only the configured logs: ${[...logs.keys()].join(", ")}` : "cordon: pinning each log's checkpoint key on first use (pin them with --log NAME=PUBKEYFILE)");
    io.out(server.url);
    await (opts.until ?? untilSignal());
    await server.close();
  } finally {
    await witness.close();
  }
  return 0;
}

function untilSignal(): Promise<string> {
  return new Promise((resolve) => {
    const on = (sig: string) => () => resolve(sig);
    process.once("SIGINT", on("SIGINT"));
    process.once("SIGTERM", on("SIGTERM"));
  });
}
