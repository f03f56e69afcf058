import assert from "node:assert/strict";
import { test } from "node:test";
import type { AuditRecord } from "../audit/index.js";
import type { ProveRow } from "../probes/prove.js";
import { acceleratorOf, hostFacts } from "./host-facts.js";
import { buildProveReport } from "./prove-report.js";
import { renderHtml } from "./render-html.js";
import { renderMarkdown } from "./render-markdown.js";

const record = (seq: number, extra: Record<string, string> = {}): AuditRecord =>
  Object.freeze({ type: "sandbox.denied", enforcer: "seccomp", seq, time: "2026-01-01T00:00:00.000Z", prev: "0".repeat(64), hash: `${seq}`.padStart(64, "a"), ...extra });

const ROWS: ProveRow[] = [
  { line: "tool echo: syscalls <script>alert(1)</script>", enforcer: "seccomp", check: "seccomp-ptrace", tier: "wasm", status: "proven", auditSeq: 7, detail: "killed | EPERM" },
  { line: "tool fetch: network none", enforcer: "netns", check: "net-connect", tier: "process", status: "failed", auditSeq: null, detail: "connected" },
  { line: "tier container", enforcer: "crun", check: "ctr-escape", tier: "container", status: "unavailable", auditSeq: null, detail: "no crun" },
  { line: "tool x: fuel", enforcer: null, check: null, tier: "wasm", status: "wish", auditSeq: null, detail: "no enforcer" },
];

function report(lock: { component: string; status: "ok" | "mismatch"; detail: string }[] | null = [{ component: "dist", status: "ok", detail: "412 files" }]) {
  return buildProveReport({
    now: new Date("2026-01-02T03:04:05.000Z"),
    policy: { path: "examples/policy.yaml", sha256: "ff".repeat(32), profile: "team", lines: 4 },
    isolation: "cell",
    host: hostFacts([{ tier: "wasm", ok: true, detail: "wasm + os-sandbox + seccomp" }, { tier: "microvm", ok: false, detail: "no /dev/kvm" }], { exists: () => false, readWrite: () => false }),
    rows: ROWS,
    records: new Map([[7, record(7, { note: "<img src=x onerror=alert(2)>" })]]),
    lock: lock,
  });
}

void test("the report joins each row to its record and counts outcomes; one failure is not ok", () => {
  const r = report();
  assert.equal(r.rows[0]?.record?.seq, 7);
  assert.equal(r.rows[1]?.record, null);
  assert.deepEqual(r.summary, { proven: 1, total: 4, failed: 1, unavailable: 1, wishes: 1, ok: false });
  const allProven = buildProveReport({ ...{ now: new Date(), policy: r.policy, isolation: "cell", host: r.host, records: new Map(), lock: null }, rows: [ROWS[0]!] });
  assert.equal(allProven.summary.ok, true);
  const badLock = buildProveReport({ now: new Date(), policy: r.policy, isolation: "cell", host: r.host, records: new Map(), lock: [{ component: "dist", status: "mismatch", detail: "x" }] as never, rows: [ROWS[0]!] });
  assert.equal(badLock.summary.ok, false);
});

void test("HTML: self-contained and inert (a CSP with no script or remote source), every value escaped", () => {
  const html = renderHtml(report());
  assert.match(html, /<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">/);
  assert.ok(!/<script/i.test(html.replace(/&lt;script&gt;/g, "")), "no script element");
  assert.ok(!/(src|href)=["']?https?:/i.test(html), "no external resource");
  assert.ok(html.includes("&lt;script&gt;alert(1)&lt;/script&gt;"));
  assert.ok(html.includes("&lt;img src=x onerror=alert(2)&gt;"));
  assert.ok(!html.includes("<img"));
  for (const r of ROWS) assert.ok(html.includes(`<td class="${r.status}">${r.status}</td>`), r.status);
  assert.ok(html.includes('id="seq-7"') && html.includes("&quot;enforcer&quot;: &quot;seccomp&quot;"), "the record is on the page");
  assert.ok(html.includes("none: no /dev/kvm"), "the accelerator fact");
  assert.ok(html.includes("no /dev/kvm</td>") && html.includes("wasm + os-sandbox + seccomp"), "the tiers");
  assert.ok(html.includes("<td>dist</td>"), "the lock");
  assert.ok(html.includes("1/4 rows proven"));
});

void test("HTML without a lock says it was not checked", () => {
  assert.ok(renderHtml(report(null)).includes("The runtime lock was not checked"));
});

void test("Markdown: one table row per prove row, pipes and newlines cannot break the table", () => {
  const md = renderMarkdown(report());
  const rowLines = md.split("\n").filter((l) => l.startsWith("| tool") || l.startsWith("| tier container"));
  assert.equal(rowLines.length, 4);
  assert.ok(md.includes("killed \\| EPERM"));
  assert.ok(md.includes("seq 7 sandbox.denied"));
  assert.ok(md.includes("runtime lock ok"));
  assert.ok(md.startsWith("## cordon prove: 1/4 rows proven"));
});

void test("the accelerator is probed: absent, present but closed, present and usable", () => {
  assert.match(acceleratorOf({ exists: () => false, readWrite: () => false }), /^none: no \/dev\/kvm/);
  assert.match(acceleratorOf({ exists: () => true, readWrite: () => false }), /^none: \/dev\/kvm present but not read-write/);
  assert.match(acceleratorOf({ exists: () => true, readWrite: () => true }), /^kvm:/);
});
