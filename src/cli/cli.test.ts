// End-to-end through the real `cordon` binary and the bundled example policy.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { it } from "node:test";
import { fileURLToPath } from "node:url";
import { makePolicyDir, policyYaml } from "../testing/policy-fixture.js";
import { describeWithCells } from "../testing/host.js";

const MAIN = fileURLToPath(new URL("./main.js", import.meta.url));

function cordon(args: string[], home: string, env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [MAIN, ...args], { encoding: "utf8", env: { PATH: process.env["PATH"] ?? "", CORDON_HOME: home, ...env }, timeout: 600_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** A fresh CORDON_HOME with the dev trust set up and the example policy signed (`cordon init`). */
function signedHome(): string {
  const home = mkdtempSync(join(tmpdir(), "cordon-cli-"));
  const r = cordon(["init"], home);
  assert.equal(r.code, 0, r.err);
  return home;
}

function records(home: string): Array<Record<string, unknown>> {
  return readFileSync(join(home, "audit.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
}

describeWithCells("cordon CLI on the example policy", () => {
  it("prove: every row of the example policy is proven on this host, each with its own audit record", () => {
    const home = signedHome();
    const r = cordon(["prove", "--json"], home);
    assert.equal(r.code, 0, r.err + r.out);
    const { rows, lock } = JSON.parse(r.out) as { rows: Array<{ line: string; enforcer: string; check: string; status: string; auditSeq: number }>; lock: Array<{ component: string; status: string }> };
    assert.ok(lock.length > 20 && lock.every((c) => c.status === "ok"), "one row per locked component, all ok");
    assert.ok(lock.some((c) => c.component === "node") && lock.some((c) => c.component === "sandbox:bwrap"));
    assert.ok(rows.length >= 40, `only ${rows.length} rows`);
    const log = records(home);
    for (const row of rows) {
      assert.equal(row.status, "proven", row.line);
      const evidence = log.find((rec) => rec["seq"] === row.auditSeq);
      assert.equal(evidence?.["enforcer"], row.enforcer, `${row.line}: audit seq ${row.auditSeq} must name ${row.enforcer}`);
    }
    const checks = new Set(rows.map((row) => row.check));
    for (const probe of ["fs-escape-dotdot", "fs-escape-absolute", "fs-escape-symlink-file", "fs-escape-symlink-dir", "fs-race-swap", "fs-write-readonly", "env-ungranted", "import-ungranted", "memory-grow-bomb", "fuel-spin", "deadline-spin", "deep-recursion", "output-flood", "module-oversized", "other-role-tool", "cell-socket-inet", "cell-ptrace", "cell-mount", "cell-unshare", "cell-read-shadow", "cell-environ", "cell-fds", "cell-fork-bomb", "cell-mem-hog", "cell-forge-session", "cell-leftovers", "launch-tampered", "launch-mismatch", "script-tampered", "proc-socket-inet", "proc-connect", "proc-ptrace", "proc-mount", "proc-unshare", "proc-read-shadow", "proc-read-home", "proc-write-system", "proc-write-readonly", "proc-environ", "proc-fds", "proc-fork-bomb", "proc-mem-hog", "proc-timeout", "proc-output-flood", "proc-leftovers", "image-tampered", "ctr-mount", "ctr-socket-inet", "ctr-loopback", "ctr-setuid", "ctr-runtime-isolation", "ctr-leftovers", "ctr-fork-bomb", "ctr-mem-hog",
      "token-forged-signature", "token-alg-none", "token-alg-none-case", "token-hs256-public-key", "token-embedded-jwk", "token-jku-canary", "token-kid-path", "token-kid-oversized", "token-wrong-iss", "token-wrong-aud", "token-expired", "token-nbf-future", "token-id-token", "gateway-no-token", "gateway-foreign-origin", "gateway-foreign-session", "gateway-session-cap", "trust-bundle-tampered", "policy-tampered", "signed-module-tampered", "policy-rollback", "module-swap-race", "key-env-offered", "audit-edited", "audit-truncated", "audit-rewritten", "lock-file-tampered"]) {
      assert.ok(checks.has(probe), `probe ${probe} did not run`);
    }
    assert.equal(cordon(["audit", "verify"], home).code, 0);
  });

  it("run: a process-tier tool works over the shared data; attest show prints the session's verified launch statement", () => {
    const home = signedHome();
    const r = cordon(["run", "--role", "operator", "file-ops", '{"op":"wc","path":"/data/poem.txt"}'], home);
    assert.equal(r.code, 0, r.err + r.out);
    assert.deepEqual(JSON.parse(r.out), { path: "/data/poem.txt", lines: 4, words: 29, chars: 139 });
    const session = String(records(home).find((rec) => rec["type"] === "session.attested")?.["session"]);
    const shown = cordon(["attest", "show", session.slice(0, 8)], home);
    assert.equal(shown.code, 0, shown.err);
    const doc = JSON.parse(shown.out) as { session: string; statement: { predicate: { session: string; role: string; scripts: Array<{ name: string }> }; subject: Array<{ name: string }> } };
    assert.equal(doc.statement.predicate.session, session);
    assert.equal(doc.statement.predicate.role, "operator");
    assert.deepEqual(doc.statement.subject.map((x) => x.name).sort(), ["ask-model", "file-stats", "notes", "text-stats"]);
    assert.deepEqual(doc.statement.predicate.scripts.map((x) => x.name), ["file-ops", "file-write"]);
    assert.equal(cordon(["attest", "show", "00000000"], home).code, 1);
  });

  it("run: a role's tool works, another role's tool is not found and audited, bad JSON is a usage error", () => {
    const home = signedHome();
    const ok = cordon(["run", "--role", "analyst", "text-stats", '{"text":"one two three"}'], home);
    assert.equal(ok.code, 0, ok.err);
    assert.equal((JSON.parse(ok.out) as { words: number }).words, 3);
    const denied = cordon(["run", "--role", "analyst", "file-stats", '{"path":"poem.txt"}'], home);
    assert.equal(denied.code, 1);
    assert.match(denied.err, /ERR_TOOL_NOT_FOUND/);
    const denials = records(home).filter((rec) => rec["type"] === "call.denied");
    assert.equal(denials.length, 1);
    assert.equal(denials[0]?.["enforcer"], "role-toolset");
    assert.equal(denials[0]?.["tool"], "file-stats");
    const bad = cordon(["run", "--role", "analyst", "text-stats", "{not json"], home);
    assert.equal(bad.code, 2);
    assert.match(bad.err, /ERR_USAGE/);
    const flag = cordon(["run", "--bogus"], home);
    assert.equal(flag.code, 2);
  });

  it("prove --insecure-in-process shows the missing OS-sandbox layer and exits non-zero", () => {
    const home = signedHome();
    const r = cordon(["prove", "--json", "--insecure-in-process"], home);
    assert.equal(r.code, 1);
    const { rows } = JSON.parse(r.out) as { rows: Array<{ line: string; status: string }> };
    const tier = rows.filter((row) => row.line.startsWith("tier wasm:"));
    assert.ok(tier.length >= 8 && tier.every((row) => row.status === "unavailable"));
    const unstamped = records(home).filter((rec) => typeof rec["isolation"] !== "string" || !rec["isolation"].startsWith("in-process"));
    assert.deepEqual(unstamped, [], "every record must show the missing layer");
  });

  it("a policy whose module digest does not match is refused before anything runs, and audited", async () => {
    const home = mkdtempSync(join(tmpdir(), "cordon-cli-"));
    const p = await makePolicyDir();
    const path = p.write(policyYaml("0".repeat(64)));
    const r = cordon(["run", "--no-strict", "--policy", path, "--role", "reader", "tool", "{}"], home);
    assert.equal(r.code, 1);
    assert.match(r.err, /ERR_POLICY_INVALID/);
    const recs = records(home).filter((x) => x["type"] !== "trust.skipped" && x["type"] !== "audit.unanchored");
    assert.equal(recs.length, 1);
    assert.equal(recs[0]?.["type"], "policy.refused");
    assert.equal(recs[0]?.["enforcer"], "module-digest");
  });

  it("strict mode: an unsigned policy, a tampered signed one and a home without a trust root are refused and audited", async () => {
    const p = await makePolicyDir();
    const unsigned = p.write(policyYaml(p.moduleSha256));
    const home = signedHome();
    const r = cordon(["run", "--policy", unsigned, "--role", "reader", "tool", "{}"], home);
    assert.equal(r.code, 1);
    assert.match(r.err, /ERR_SIGNATURE_INVALID/);
    assert.deepEqual(records(home).map((x) => [x["type"], x["enforcer"]]).at(-1), ["policy.refused", "artifact-signature"]);
    const bare = mkdtempSync(join(tmpdir(), "cordon-cli-"));
    const none = cordon(["run", "--role", "analyst", "text-stats", '{"text":"a"}'], bare);
    assert.equal(none.code, 1);
    assert.deepEqual(records(bare).map((x) => [x["type"], x["enforcer"]]), [["audit.unanchored", undefined], ["trust.refused", "trust-bundle"]]);
    const bareServe = mkdtempSync(join(tmpdir(), "cordon-cli-"));
    const serveBare = cordon(["serve", "--http", "127.0.0.1:0", "--no-strict"], bareServe);
    assert.equal(serveBare.code, 1, "without a trust root the gateway does not serve, --no-strict or not");
    assert.deepEqual(records(bareServe).filter((x) => x["type"] === "trust.refused").map((x) => x["enforcer"]), ["trust-bundle"]);
    const withEnv = cordon(["run", "--role", "analyst", "text-stats", '{"text":"a"}'], home, { CORDON_SIGNING_KEY: "-----BEGIN PRIVATE KEY-----" });
    assert.equal(withEnv.code, 0, withEnv.err);
    const offered = records(home).find((x) => x["type"] === "key.env-ignored");
    assert.deepEqual(offered?.["variables"], ["CORDON_SIGNING_KEY"]);
    assert.ok(!readFileSync(join(home, "audit.jsonl"), "utf8").includes("BEGIN PRIVATE KEY"), "a key offered through env never reaches the log");
    const lockPath = join(home, "runtime.lock.json");
    const lockEnv = JSON.parse(readFileSync(lockPath, "utf8")) as { payload: string };
    const payload = Buffer.from(lockEnv.payload, "base64");
    payload[payload.length >> 1] = (payload[payload.length >> 1] ?? 0) ^ 1;
    writeFileSync(lockPath, JSON.stringify({ ...lockEnv, payload: payload.toString("base64") }));
    const tampered = cordon(["run", "--role", "analyst", "text-stats", '{"text":"a"}'], home);
    assert.equal(tampered.code, 1);
    assert.match(tampered.err, /ERR_SIGNATURE_INVALID/);
    assert.deepEqual(records(home).map((x) => [x["type"], x["enforcer"]]).at(-1), ["runtime.refused", "runtime-lock"]);
  });

  it("audit verify names the first bad record of an edited log", () => {
    const home = signedHome();
    cordon(["run", "--role", "analyst", "text-stats", '{"text":"a"}'], home);
    const path = join(home, "audit.jsonl");
    const lines = readFileSync(path, "utf8").split("\n");
    const at = lines.findIndex((l) => l.includes('"role":"analyst"'));
    lines[at] = (lines[at] ?? "").replace('"role":"analyst"', '"role":"admin"');
    writeFileSync(path, lines.join("\n"));
    const r = cordon(["audit", "verify", path], home);
    assert.equal(r.code, 1);
    assert.match(r.out, new RegExp(`first bad record is seq ${at + 1}`));
  });

  it("policy check: prints the enforcer table, and exits 1 on a wish in strict mode", () => {
    const home = mkdtempSync(join(tmpdir(), "cordon-cli-"));
    const r = cordon(["policy", "check"], home);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /wasi-jail/);
    assert.match(r.out, /0 wish\(es\)/);
  });
});
