// A prove report as Markdown, for pasting into a review: the same facts as the HTML page, each
// row's record as its seq, type and hash (the full record is one `cordon audit export` away).
import type { ProveReport } from "./prove-report.js";

/** A table cell: no newline, no unescaped pipe. */
function cell(text: string): string {
  return text.replace(/\\/g, "\\\\").replace(/\|/g, "\\|").replace(/\r?\n/g, " ");
}

function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  return [`| ${header.join(" | ")} |`, `|${header.map(() => "---").join("|")}|`, ...rows.map((r) => `| ${r.map(cell).join(" | ")} |`)].join("\n");
}

export function renderMarkdown(report: ProveReport): string {
  const { summary: s, host } = report;
  const lockState = report.lock === null ? "not checked (--no-strict)" : report.lock.every((l) => l.status === "ok") ? "ok" : "MISMATCH";
  const out = [
    `## cordon prove: ${s.proven}/${s.total} rows proven`,
    "",
    `${report.generatedAt} on \`${host.hostname}\` · policy \`sha256:${report.policy.sha256}\` (profile ${report.policy.profile}, ${report.policy.lines} lines) · isolation ${report.isolation}`,
    "",
    `${s.failed} failed · ${s.unavailable} unavailable · ${s.wishes} wish(es) · runtime lock ${lockState}`,
    "",
    `**Host:** kernel \`${host.kernel}\` (${host.arch}), node ${host.node}; accelerator: ${host.accelerator}`,
    "",
    table(["tier", "here", "layers, or what is missing"], host.tiers.map((t) => [t.tier, t.ok ? "ok" : "unavailable", t.detail])),
    "",
    table(
      ["policy line", "enforcer", "check", "result", "observed", "audit record"],
      report.rows.map((r) => [r.line, `\`${r.enforcer ?? "(none)"}\``, r.check ?? "(none)", r.status, r.detail, r.record === null ? (r.auditSeq === null ? "-" : `seq ${r.auditSeq}`) : `seq ${r.record.seq} ${r.record.type} \`${r.record.hash.slice(0, 16)}\``]),
    ),
  ];
  if (report.lock !== null) out.push("", "**Runtime lock**", "", table(["component", "status", "detail"], report.lock.map((l) => [l.component, l.status, l.detail])));
  return `${out.join("\n")}\n`;
}
