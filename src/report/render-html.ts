// A prove report as one self-contained HTML page: no script, no external resource (its own
// Content-Security-Policy says so), every value escaped. Opens from a file or an email.
import type { ProveReport, ReportRow } from "./prove-report.js";
import { escapeHtml as h } from "./escape-html.js";

const STYLE = `
body{font:14px/1.45 system-ui,sans-serif;margin:2rem;color:#1d1d1f;background:#fff}
h1{font-size:1.4rem;margin:0 0 .25rem}h2{font-size:1.1rem;margin:2rem 0 .5rem}
table{border-collapse:collapse;width:100%}th,td{border-bottom:1px solid #ddd;padding:.3rem .5rem;text-align:left;vertical-align:top}
th{background:#f4f4f6;font-weight:600}code,pre{font:12px/1.4 ui-monospace,monospace}
pre{white-space:pre-wrap;word-break:break-all;background:#f7f7f9;padding:.5rem;margin:.25rem 0}
.proven,.ok{color:#0a7a2f;font-weight:600}.failed,.mismatch,.missing{color:#b00020;font-weight:600}
.unavailable{color:#8a5a00;font-weight:600}.wish{color:#666;font-weight:600}
.summary{font-size:1.05rem;padding:.5rem .75rem;border-radius:4px;display:inline-block}
.summary.good{background:#e7f6ec}.summary.bad{background:#fdecee}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem}dt{font-weight:600}dd{margin:0}
details summary{cursor:pointer;color:#0645ad}`;

function statusCell(status: string): string {
  return `<td class="${h(status)}">${h(status)}</td>`;
}

function recordCell(r: ReportRow): string {
  if (r.record === null) return `<td>${r.auditSeq === null ? "-" : `seq ${r.auditSeq} (not in this run's view)`}</td>`;
  return `<td id="seq-${r.record.seq}"><details><summary>seq ${r.record.seq} · ${h(r.record.type)}</summary><pre>${h(JSON.stringify(r.record, null, 2))}</pre></details></td>`;
}

export function renderHtml(report: ProveReport): string {
  const { summary: s, host } = report;
  const rows = report.rows
    .map((r) => `<tr><td>${h(r.line)}</td><td><code>${h(r.enforcer ?? "(none)")}</code></td><td><code>${h(r.check ?? "(none)")}</code></td><td>${h(r.tier)}</td>${statusCell(r.status)}<td>${h(r.detail)}</td>${recordCell(r)}</tr>`)
    .join("\n");
  const tiers = host.tiers.map((t) => `<tr><td>${h(t.tier)}</td>${statusCell(t.ok ? "ok" : "unavailable")}<td>${h(t.detail)}</td></tr>`).join("\n");
  const lock =
    report.lock === null
      ? "<p>The runtime lock was not checked (--no-strict).</p>"
      : `<table><thead><tr><th>component</th><th>status</th><th>detail</th></tr></thead><tbody>${report.lock.map((l) => `<tr><td>${h(l.component)}</td>${statusCell(l.status)}<td>${h(l.detail)}</td></tr>`).join("\n")}</tbody></table>`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width,initial-scale=1">
<title>cordon prove: ${s.proven}/${s.total} proven on ${h(host.hostname)}</title>
<style>${STYLE}</style></head><body>
<h1>cordon prove</h1>
<p>${h(report.generatedAt)} · policy <code>sha256:${h(report.policy.sha256)}</code> (${h(report.policy.path)}, profile ${h(report.policy.profile)}, ${report.policy.lines} lines) · isolation ${h(report.isolation)}</p>
<p class="summary ${s.ok ? "good" : "bad"}">${s.proven}/${s.total} rows proven · ${s.failed} failed · ${s.unavailable} unavailable · ${s.wishes} wish(es) · lock ${report.lock === null ? "not checked" : report.lock.every((l) => l.status === "ok") ? "ok" : "MISMATCH"}</p>
<h2>Host</h2>
<dl><dt>host</dt><dd>${h(host.hostname)} (${h(host.arch)})</dd><dt>kernel</dt><dd>${h(host.kernel)} <code>${h(host.kernelVersion)}</code></dd><dt>node</dt><dd>${h(host.node)}</dd><dt>accelerator</dt><dd>${h(host.accelerator)}</dd></dl>
<table><thead><tr><th>tier</th><th>here</th><th>layers, or what is missing</th></tr></thead><tbody>${tiers}</tbody></table>
<h2>Policy lines, their enforcers and what happened</h2>
<table><thead><tr><th>policy line</th><th>enforcer</th><th>check</th><th>tier</th><th>result</th><th>observed</th><th>audit record</th></tr></thead>
<tbody>
${rows}
</tbody></table>
<h2>Runtime lock</h2>
${lock}
</body></html>
`;
}
