#!/usr/bin/env node
// cordon's command line. Parses flags once, then hands typed options to a verb.
import { parseArgs } from "node:util";
import { CordonError, UsageError } from "../errors.js";
import { auditExport, auditVerify, policyCheck, proveCommand, reportError, runTool, type Io } from "./commands.js";
import { attestShow } from "./attest-show.js";
import { DEFAULT_LISTEN, granularityOf, initCommand, upCommand } from "./up-command.js";
import { defaultAuditPath, EXAMPLE_POLICY, PACKAGE_ROOT } from "../config/defaults.js";
import { lockCommand, lockVerifyCommand, sbomCommand } from "./lock-commands.js";
import { IDENTITY_USAGE, IDENTITY_VERBS, identityMain } from "./identity-commands.js";
import { serveCommand, watchCommand } from "./serve-command.js";
import type { WitnessFlags } from "./trusted-start.js";
import { witnessCommand } from "./witness-command.js";
import { publishCommand, pullCommand } from "./oci-commands.js";
import { upFromCommand } from "./up-from.js";

const USAGE = `usage:
  cordon run [--policy P] [--audit F] --role R TOOL [JSON]   run one tool call as role R
  cordon prove [--policy P] [--audit F] [--json] [--html FILE] [--markdown FILE|-]
                                                             run every probe for every policy line; --html writes one
                                                             self-contained page (lines, enforcers, results, records, host, lock)
  cordon policy check [FILE] [--no-strict]                   validate a policy, print its enforcer table
  cordon audit verify [FILE] [--key PUB] [--witness URL|FILE --witness-key PUB]
                                                             check the audit chain, name the first bad record; with --key,
                                                             also its signed checkpoints (truncation, rewrite); with --witness,
                                                             that the log holds the witness's latest cosigned checkpoint (the
                                                             log and its checkpoints cut back together). Exit 1 on any failure
  cordon audit export [FILE] --format ocsf|otel              stream the records as OCSF 1.3 events or OTLP/JSON log records (one
                                                             JSON document a line), seq and hash kept, secrets never; stops at the
                                                             first record that breaks the chain (exit 1)
  cordon witness --listen HOST:PORT --data DIR [--log NAME=PUB ...]
                                                             run a witness (on another host): cosigns each log's checkpoints
                                                             while they stay consistent; its key is DIR/witness.key (made 0600).
                                                             With --log, only those logs under those keys; else pinned on first use
  cordon lock --key KEY [--out FILE]                         sign a hash lock of this runtime (default: cordon.lock.json
                                                             in the package root); KEY is an Ed25519 PKCS#8 PEM, mode 0600
  cordon lock verify --key PUB [--lock FILE] [--json]        check the runtime against its lock, one row per component
  cordon sbom [--out FILE]                                   CycloneDX 1.5 SBOM of the runtime (npm packages, node, sandbox binaries)
  cordon attest show SESSION [--audit F]                     print a session's signed launch statement, verified
${IDENTITY_USAGE}
  cordon up [--http HOST:PORT] [--granularity per-session|per-role] [--witness URL --witness-key PUB]
                                                             the main job: dev trust, signed examples, tokens, HTTP gateway
  cordon up --from REGISTRY/REPO@sha256:DIGEST [--grants-dir DIR] [--http HOST:PORT]
                                                             start from a release pulled from an OCI registry (verified; from the
                                                             verified cache when the registry is down); DIR (default: the current
                                                             directory) holds the policy's relative grant folders
  cordon publish REGISTRY/REPO[:TAG] [--policy P]            push the signed policy, its modules and scripts, the trust bundle and
                                                             their Sigstore signatures as OCI artifacts; prints REPO@sha256:DIGEST
  cordon pull REGISTRY/REPO@sha256:DIGEST|:TAG [--repin]     fetch and verify a release into the data directory's cache; a tag is
                                                             pinned on first pull and refused if it moves (--repin follows it)
                                                             (registry credentials: $CORDON_HOME/registry-auth.json, mode 0600)
  cordon init [--http HOST:PORT]                             create the dev trust root, issuer and publisher keys; sign the policy
  cordon serve --http HOST:PORT [--granularity G] [--max-connections-per-address N]
                                                             serve every role over Streamable HTTP (tokens from the trust bundle);
                                                             N (default 64): raise it behind a reverse proxy
  (serve, up) --witness URL --witness-key PUB                send every signed audit checkpoint to that witness; an outage is
                                                             recorded (audit.witness-unreachable) and shown on /metrics
  cordon serve --stdio --role R --token-file F               serve one role's session on stdio
  cordon watch [--audit F] [--all]                           stream denials and limit hits as they are recorded
Without --policy, the bundled example policy is used. --no-strict lets a policy with wishes load.
--insecure-in-process (development only) runs guest Wasm inside this process instead of a
sandboxed cell; every audit record and the prove table then show the missing layer.`;

const io: Io = {
  out: (t) => process.stdout.write(`${t}\n`),
  err: (t) => process.stderr.write(`${t}\n`),
};

async function main(argv: string[]): Promise<number> {
  if (argv[0] !== undefined && IDENTITY_VERBS.has(argv[0])) return identityMain(argv, io);
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      policy: { type: "string" },
      audit: { type: "string" },
      role: { type: "string" },
      json: { type: "boolean", default: false },
      html: { type: "string" },
      markdown: { type: "string" },
      format: { type: "string" },
      key: { type: "string" },
      out: { type: "string" },
      lock: { type: "string" },
      "no-strict": { type: "boolean", default: false },
      "insecure-in-process": { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
      http: { type: "string" },
      stdio: { type: "boolean", default: false },
      "token-file": { type: "string" },
      granularity: { type: "string" },
      "max-connections-per-address": { type: "string" },
      all: { type: "boolean", default: false },
      witness: { type: "string" },
      "witness-key": { type: "string" },
      listen: { type: "string" },
      data: { type: "string" },
      log: { type: "string", multiple: true },
      from: { type: "string" },
      repin: { type: "boolean", default: false },
      "grants-dir": { type: "string" },
    },
  });
  const [verb, ...rest] = positionals;
  if (values.help || verb === undefined) {
    io.out(USAGE);
    return verb === undefined && !values.help ? 2 : 0;
  }
  const common = {
    policy: values.policy ?? EXAMPLE_POLICY,
    audit: values.audit ?? defaultAuditPath(),
    strict: !values["no-strict"],
    isolation: values["insecure-in-process"] ? ("in-process" as const) : ("cell" as const),
  };
  switch (verb) {
    case "run": {
      const [tool, input] = rest;
      if (values.role === undefined || tool === undefined) throw new UsageError("run needs --role ROLE and a TOOL name");
      return runTool({ ...common, role: values.role, tool, input: input ?? "{}" }, io);
    }
    case "prove":
      return proveCommand({ ...common, json: values.json, html: values.html, markdown: values.markdown }, io);
    case "policy":
      if (rest[0] !== "check") throw new UsageError("unknown policy verb; try: cordon policy check FILE");
      return policyCheck({ policy: rest[1] ?? common.policy, strict: common.strict }, io);
    case "audit":
      if (rest[0] === "export") return auditExport({ file: rest[1] ?? common.audit, format: values.format }, io);
      if (rest[0] !== "verify") throw new UsageError("unknown audit verb; try: cordon audit verify FILE, or cordon audit export FILE --format ocsf|otel");
      return auditVerify({ file: rest[1] ?? common.audit, key: values.key, witness: values.witness, witnessKey: values["witness-key"] }, io);
    case "lock":
      if (values.key === undefined) throw new UsageError("lock needs --key KEY (lock verify: --key PUB)");
      if (rest[0] === "verify") return lockVerifyCommand({ packageRoot: PACKAGE_ROOT, key: values.key, lock: values.lock, json: values.json }, io);
      if (rest[0] !== undefined) throw new UsageError("unknown lock verb; try: cordon lock --key KEY, or cordon lock verify --key PUB");
      return lockCommand({ packageRoot: PACKAGE_ROOT, key: values.key, out: values.out }, io);
    case "sbom":
      return sbomCommand({ packageRoot: PACKAGE_ROOT, out: values.out }, io);
    case "attest":
      if (rest[0] !== "show" || rest[1] === undefined) throw new UsageError("try: cordon attest show SESSION [--audit FILE]");
      return attestShow({ file: common.audit, session: rest[1] }, io);
    case "witness":
      return witnessCommand({ listen: values.listen, data: values.data, logs: values.log ?? [] }, io);
    case "serve":
      return serveCommand({ ...common, witness: witnessFlags(values.witness, values["witness-key"]), http: values.http, stdio: values.stdio, role: values.role, tokenFile: values["token-file"], granularity: granularityOf(values.granularity), maxConnectionsPerAddress: values["max-connections-per-address"] }, io);
    case "init":
      return initCommand({ policy: common.policy, listen: values.http ?? DEFAULT_LISTEN }, io);
    case "publish":
      if (rest[0] === undefined) throw new UsageError("publish needs a reference: REGISTRY/REPOSITORY[:TAG]");
      return publishCommand({ reference: rest[0], policy: common.policy, audit: common.audit }, io);
    case "pull":
      if (rest[0] === undefined) throw new UsageError("pull needs a reference: REGISTRY/REPOSITORY@sha256:DIGEST (or :TAG)");
      return pullCommand({ reference: rest[0], audit: common.audit, repin: values.repin }, io);
    case "up":
      if (values.from !== undefined) {
        if (values.policy !== undefined) throw new UsageError("--from and --policy exclude each other: the policy comes from the release");
        return upFromCommand({ ...common, from: values.from, grantsDir: values["grants-dir"] ?? process.cwd(), witness: witnessFlags(values.witness, values["witness-key"]), listen: values.http ?? DEFAULT_LISTEN, granularity: granularityOf(values.granularity) }, io);
      }
      return upCommand({ ...common, witness: witnessFlags(values.witness, values["witness-key"]), listen: values.http ?? DEFAULT_LISTEN, granularity: granularityOf(values.granularity) }, io);
    case "watch":
      return watchCommand({ audit: common.audit, all: values.all }, io);
    default:
      throw new UsageError(`unknown command '${verb}'`);
  }
}

/** `--witness URL --witness-key PUB` for serve and up: both or neither. */
function witnessFlags(url: string | undefined, keyFile: string | undefined): WitnessFlags | undefined {
  if (url === undefined && keyFile === undefined) return undefined;
  if (url === undefined || keyFile === undefined) throw new UsageError("--witness URL and --witness-key PUB go together");
  return { url, keyFile };
}

// A command whose work never settled (its event loop ran dry with an answer still awaited) did
// not do its job: it must not exit 0.
let settled = false;
process.on("exit", () => {
  if (settled) return;
  process.stderr.write("error ERR_COMMAND_UNFINISHED: the command ended before it finished its work\n");
  process.exitCode = 70;
});

main(process.argv.slice(2)).then(
  (code) => {
    settled = true;
    process.exitCode = code;
  },
  (err: unknown) => {
    settled = true;
    if (err instanceof CordonError) {
      reportError(err, io);
      process.exitCode = err instanceof UsageError ? 2 : 1;
    } else if (err instanceof Error && "code" in err && typeof err.code === "string" && err.code.startsWith("ERR_PARSE_ARGS")) {
      io.err(`error ERR_USAGE: ${err.message}\n${USAGE}`);
      process.exitCode = 2;
    } else {
      io.err(`internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      process.exitCode = 70;
    }
  },
);
