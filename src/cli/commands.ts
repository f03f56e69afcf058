// The CLI verbs. Each returns an exit code; output goes through the `io` object so tests can
// run commands without a process.
import { accessSync, constants, existsSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { checkpointPath, verifyAuditFile } from "../audit/index.js";
import { loadTrustedKeyFile } from "../crypto/load-key-file.js";
import { UsageError, type CordonError, type Json } from "../errors.js";
import { loadPolicy } from "../policy/load-policy.js";
import { trustedStart, type TrustedStart } from "./trusted-start.js";
import type { ProveRow } from "../probes/prove.js";
import { runProveReport } from "../report/run-prove.js";
import { renderHtml } from "../report/render-html.js";
import { renderMarkdown } from "../report/render-markdown.js";
import { ReportUnwritable } from "../report/errors.js";
import { exportAudit, exportFormatOf } from "../export/export-audit.js";
import { packageVersion } from "../config/package-version.js";
import type { Isolation } from "../tier/tool-host.js";
import { guestLogged, type GuestLogged } from "../runtime/channels.js";
import type { Runtime } from "../runtime/runtime.js";
import { DEFAULT_RULES, describeRules } from "../sandbox/seccomp/index.js";
import { formatTable } from "./table.js";

export interface Io {
  out(text: string): void;
  err(text: string): void;
}

export interface CommonOptions {
  readonly policy: string;
  readonly audit: string;
  readonly strict: boolean;
  readonly isolation: Isolation;
}

export { loadAudited } from "../artifacts/load-policy-audited.js";

export function policyCheck(opts: { policy: string; strict: boolean }, io: Io): number {
  const policy = loadPolicy(opts.policy);
  const rows = policy.lines.map((l) => [l.text, l.enforcer ?? "(none)", l.checks.join(",") || "(none)", l.status === "wish" ? `WISH: ${l.wishReason ?? ""}` : l.status]);
  io.out(formatTable(["policy line", "enforcer", "check", "status"], rows));
  // Each tool's chain: its risk, the stack that risk demands, the stack its tier gives, and the
  // enforcers of its lines (seed 002's routing, as the loader judged it under the profile).
  const chains = [...policy.tools.values()].map((t) => {
    const enforcers = [...new Set(policy.lines.filter((l) => l.scope.kind === "tool" && l.scope.name === t.name).map((l) => l.enforcer ?? "(none)"))];
    return [t.name, t.risk, t.route.level, `${t.tier}: ${t.route.stack.join(" + ")}`, t.route.weaker === null ? "ok" : `WEAKER (${policy.profile}): ${t.route.weaker}`, enforcers.join(", ")];
  });
  io.out(`\nprofile ${policy.profile}: each tool's risk -> the stack it needs -> the layers its tier gives -> its enforcers`);
  io.out(formatTable(["tool", "risk", "needs", "tier and layers", "verdict", "enforcers"], chains));
  const wishes = policy.lines.filter((l) => l.status === "wish").length;
  io.out(`\n${policy.lines.length} lines, ${wishes} wish(es); policy sha256:${policy.sha256}`);
  return wishes > 0 && opts.strict ? 1 : 0;
}

async function withRuntime<T>(opts: CommonOptions, io: Io, fn: (rt: Runtime, started: TrustedStart) => Promise<T>): Promise<T> {
  const started = await trustedStart(opts);
  const { runtime } = started;
  try {
    return await fn(runtime, started);
  } finally {
    await runtime.close();
  }
}

export async function runTool(opts: CommonOptions & { role: string; tool: string; input: string }, io: Io): Promise<number> {
  const onLog = (message: unknown) => {
    const { tool, line } = message as GuestLogged;
    io.err(`[${tool}] ${line}`);
  };
  guestLogged.subscribe(onLog);
  try {
    return await runOnce(opts, io);
  } finally {
    guestLogged.unsubscribe(onLog);
  }
}

async function runOnce(opts: CommonOptions & { role: string; tool: string; input: string }, io: Io): Promise<number> {
  let input: Json;
  try {
    input = JSON.parse(opts.input) as Json;
  } catch {
    throw new UsageError("the tool input must be a JSON document");
  }
  return withRuntime(opts, io, async (rt) => {
    const session = await rt.openSession(opts.role);
    const result = await session.call(opts.tool, input);
    if (result.ok) {
      io.out(JSON.stringify(result.output, null, 2));
      return 0;
    }
    reportError(result.error, io);
    if ("output" in result.error && result.error.output instanceof Uint8Array && result.error.output.byteLength > 0) {
      io.out(new TextDecoder().decode(result.error.output));
    }
    io.err(`audit seq ${result.auditSeq}`);
    return 1;
  });
}

export interface ProveOptions extends CommonOptions {
  readonly json: boolean;
  /** Also write the report as one self-contained HTML page here. */
  readonly html?: string | undefined;
  /** Also write the report as Markdown here ("-": to stdout, instead of the table). */
  readonly markdown?: string | undefined;
}

export async function proveCommand(opts: ProveOptions, io: Io): Promise<number> {
  if (opts.markdown === "-" && opts.json) throw new UsageError("--json and --markdown - both want stdout: give --markdown a FILE");
  for (const file of [opts.html, opts.markdown]) if (file !== undefined && file !== "-") assertWritable(file);
  const started = await trustedStart(opts);
  const { runtime: rt } = started;
  try {
    const quiet = opts.json || opts.markdown === "-";
    const report = await runProveReport({ ...started, policyPath: opts.policy }, quiet ? undefined : (row) => io.err(`${row.status.padEnd(8)} ${row.line} [${row.check ?? "-"}]`));
    const { rows } = report;
    // One row per locked component of the runtime, from the check that ran at start.
    const locked = report.lock ?? [];
    if (opts.html !== undefined) writeReport(opts.html, renderHtml(report), io);
    if (opts.markdown !== undefined && opts.markdown !== "-") writeReport(opts.markdown, renderMarkdown(report), io);
    if (opts.json) {
      io.out(JSON.stringify({ rows: rows.map(({ line, enforcer, check, tier, status, auditSeq }) => ({ line, enforcer, check, tier, status, auditSeq })), lock: locked }, null, 2));
    } else if (opts.markdown === "-") {
      io.out(renderMarkdown(report));
    } else {
      io.out(renderProveTable(rows));
      if (rt.isolation === "cell") io.out(`\nThe seccomp filter in every cell (the seccomp rows above attack it):\n${renderSeccompTable()}`);
      if (started.lock !== null) {
        io.out(`\nThe runtime lock, verified at start (runtime-lock; ${started.lock.files} files in ${started.lock.ms} ms):`);
        io.out(formatTable(["component", "status", "detail"], locked.map((r) => [r.component, r.status, r.detail])));
      } else {
        io.out("\nThe runtime lock was not checked (--no-strict).");
      }
    }
    return report.summary.ok ? 0 : 1;
  } finally {
    await rt.close();
  }
}

/** Fails before the run, not after it, when a report could not be written. */
function assertWritable(file: string): void {
  try {
    accessSync(dirname(resolve(file)), constants.W_OK);
  } catch (err) {
    throw new ReportUnwritable(file, (err as NodeJS.ErrnoException).code ?? "unknown");
  }
}

/** Writes a report file (mode 0644: a report holds no secret), or fails the command naming it. */
function writeReport(file: string, text: string, io: Io): void {
  try {
    writeFileSync(file, text, { mode: 0o644 });
  } catch (err) {
    throw new ReportUnwritable(file, (err as NodeJS.ErrnoException).code ?? "unknown");
  }
  io.err(`cordon: report written to ${file}`);
}

export function renderProveTable(rows: readonly ProveRow[]): string {
  const table = formatTable(
    ["policy line", "enforcer", "check", "result", "audit seq", "observed"],
    rows.map((r) => [r.line, r.enforcer ?? "(none)", r.check ?? "(none)", r.status, r.auditSeq === null ? "-" : String(r.auditSeq), r.detail]),
  );
  const proven = rows.filter((r) => r.status === "proven").length;
  return `${table}\n\n${proven}/${rows.length} rows proven`;
}

/** The seccomp rule table, as data: what prove shows the filter enforcing. */
export function renderSeccompTable(): string {
  return formatTable(
    ["syscall", "condition", "action", "why"],
    describeRules(DEFAULT_RULES).map((r) => [r.syscall, r.condition, r.action, r.why]),
  );
}

export interface AuditVerifyOptions {
  readonly file: string;
  /** The log's checkpoint public key. */
  readonly key?: string | undefined;
  /** The witness's base URL, or a file of its cosignatures (JSONL). */
  readonly witness?: string | undefined;
  /** The witness's public key. */
  readonly witnessKey?: string | undefined;
}

export async function auditVerify(opts: AuditVerifyOptions, io: Io): Promise<number> {
  if ((opts.witness === undefined) !== (opts.witnessKey === undefined)) throw new UsageError("--witness and --witness-key go together");
  if (opts.witness !== undefined && opts.key === undefined) throw new UsageError("--witness needs --key PUB as well: a cosignature names the log key it checked");
  const trusted = opts.key === undefined ? undefined : await loadTrustedKeyFile(opts.key);
  const witness = opts.witness === undefined || opts.witnessKey === undefined
    ? undefined
    : { source: /^https?:\/\//i.test(opts.witness) ? { url: opts.witness } : { file: opts.witness }, keys: await loadTrustedKeyFile(opts.witnessKey) };
  const verdict = await verifyAuditFile(opts.file, { ...(trusted === undefined ? {} : { trusted }), ...(witness === undefined ? {} : { witness }) });
  if (!verdict.ok) {
    io.out(`TAMPERED: first bad record is seq ${verdict.firstBadSeq} (${verdict.reason})`);
    return 1;
  }
  io.out(`ok: ${verdict.count} records, head seq ${verdict.head?.seq ?? 0} sha256:${verdict.head?.hash ?? "-"}`);
  const cp = verdict.checkpoints;
  if (cp === undefined) {
    if (existsSync(checkpointPath(opts.file))) io.out("note: signed checkpoints were not checked (truncation cannot be ruled out); pass --key PUB");
    return 0;
  }
  if (!cp.ok) {
    io.out(`TAMPERED: ${cp.error.message}`);
    reportError(cp.error, io);
    return 1;
  }
  io.out(`checkpoints: ${cp.checkpoints} signed, the last at seq ${cp.lastSeq}; ${cp.unanchored} record(s) after it are not yet anchored`);
  const w = verdict.witness;
  if (w === undefined) {
    io.out("note: not checked against a witness (the log and its checkpoints cut back together cannot be ruled out); pass --witness URL --witness-key PUB");
    return 0;
  }
  if (!w.ok) {
    // Truncated or rewritten is tampering; a witness that cannot vouch (unreachable, foreign, silent) is a failure to verify.
    const tampered = w.error.code === "ERR_AUDIT_TRUNCATED" || w.error.code === "ERR_AUDIT_WITNESS_MISMATCH";
    io.out(`${tampered ? "TAMPERED" : "NOT VERIFIED"}: ${w.error.message}`);
    reportError(w.error, io);
    return 1;
  }
  io.out(`witness: cosigned seq ${w.witnessedSeq} (${w.cosignatures} cosignature(s) checked), and this log holds it`);
  return 0;
}

/** `cordon audit export`: every record, as the format's JSON lines, on stdout. */
export async function auditExport(opts: { file: string; format: string | undefined }, io: Io): Promise<number> {
  const format = exportFormatOf(opts.format);
  const count = await exportAudit({ file: opts.file, format, version: packageVersion(), write: (line) => io.out(line) });
  io.err(`cordon: exported ${count} records as ${format}`);
  return 0;
}

export function reportError(err: CordonError, io: Io): void {
  io.err(`error ${err.code}: ${err.message}`);
  if (err.hint !== undefined) io.err(`hint: ${err.hint}`);
}
