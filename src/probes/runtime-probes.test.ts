// The runtime rows of `cordon prove` (identity, gateway, supply chain, audit, lock) against a
// real development trust setup made by `cordon init` in a temporary CORDON_HOME.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import type { AuditRecord } from "../audit/index.js";
import { EXAMPLE_POLICY } from "../config/defaults.js";
import { trustedStart, type TrustedStart } from "../cli/trusted-start.js";
import type { Principal } from "../authn/principal.js";
import { ENFORCERS } from "../enforcers.js";
import { NO_TRUST_REASON, prove, type ProveRow } from "./prove.js";
import { PROBES } from "./registry.js";
import { runtimeLines } from "./runtime-lines.js";
import type { Probe, TrustContext } from "./types.js";

const MAIN = fileURLToPath(new URL("../cli/main.js", import.meta.url));
const RUNTIME_CHECKS = new Set(runtimeLines().flatMap((l) => l.checks));
/** Only the runtime rows' probes: the policy's own rows are covered by the CLI test. */
const RUNTIME_PROBES: ReadonlyMap<string, Probe> = new Map([...PROBES].filter(([id]) => RUNTIME_CHECKS.has(id)));

function runtimeRows(rows: readonly ProveRow[]): ProveRow[] {
  return rows.filter((r) => r.line.startsWith("runtime "));
}

describe("cordon prove's runtime rows on a development trust setup", () => {
  let home = "";
  let started: TrustedStart;
  let trust: TrustContext;

  before(async () => {
    home = mkdtempSync(join(tmpdir(), "cordon-prove-runtime-"));
    const init = spawnSync(process.execPath, [MAIN, "init"], { encoding: "utf8", env: { PATH: process.env["PATH"] ?? "", CORDON_HOME: home } });
    assert.equal(init.status, 0, init.stderr);
    started = await trustedStart({ policy: EXAMPLE_POLICY, audit: join(home, "audit.jsonl"), strict: true, isolation: "in-process", env: { CORDON_HOME: home } });
    assert.ok(started.bundle !== null && started.verifier !== null);
    trust = { bundle: started.bundle, verifier: started.verifier, dataDir: home };
  });

  after(async () => {
    await started.runtime.close();
  });

  it("every runtime probe is registered, and every registered enforcer's probes exist", () => {
    for (const e of ENFORCERS) for (const ids of Object.values(e.probes)) for (const id of ids) assert.ok(PROBES.has(id), `${e.name}: no probe ${id}`);
    const lines = runtimeLines();
    assert.ok(lines.every((l) => l.scope.kind === "runtime" && l.status === "enforced" && l.checks.length > 0 && l.tier === "control-plane"));
    const enforcers = new Set(lines.map((l) => l.enforcer));
    for (const name of ["authn-token", "origin-check", "session-binding", "session-limits", "connection-limits", "key-source", "artifact-signature", "trust-bundle", "audit-chain", "audit-checkpoint", "audit-witness", "runtime-lock"]) {
      assert.ok(enforcers.has(name), `no runtime line for ${name}`);
    }
  });

  it("proves every runtime row, each with exactly one audit record of its own naming its enforcer", async () => {
    const rows = runtimeRows(await prove(started.runtime, undefined, RUNTIME_PROBES, trust));
    assert.deepEqual(new Set(rows.map((r) => r.check)), RUNTIME_CHECKS);
    const log = new Map<number, AuditRecord>(started.runtime.audit.recordsAfter(0).map((r) => [r.seq, r]));
    const seqs = new Set<number>();
    for (const row of rows) {
      assert.equal(row.status, "proven", `${row.check}: ${row.detail}`);
      assert.ok(row.auditSeq !== null && !seqs.has(row.auditSeq), `${row.check}: its evidence must be its own record`);
      seqs.add(row.auditSeq);
      assert.equal(log.get(row.auditSeq)?.enforcer, row.enforcer, row.check ?? "");
    }
    const jku = rows.find((r) => r.check === "token-jku-canary");
    assert.match(jku?.detail ?? "", /saw 0 connection/);
    // The witness rows: both files cut back are caught only by the witness; a fork is refused by it.
    assert.match(rows.find((r) => r.check === "audit-witness-truncated")?.detail ?? "", /verify alone\); the witness cosigned seq 8: ERR_AUDIT_TRUNCATED/);
    assert.equal(log.get(rows.find((r) => r.check === "audit-witness-truncated")?.auditSeq ?? -1)?.code, "ERR_AUDIT_TRUNCATED");
    const fork = log.get(rows.find((r) => r.check === "audit-witness-fork")?.auditSeq ?? -1);
    assert.deepEqual([fork?.type, fork?.code], ["witness.refused", "ERR_AUDIT_WITNESS_FORK"]);
    const lock = log.get(rows.find((r) => r.check === "lock-file-tampered")?.auditSeq ?? -1);
    assert.equal(lock?.["file"], "dist/cli/main.js");
    // No key offered through the environment reaches the log, and no token does.
    const text = JSON.stringify([...log.values()]);
    assert.ok(!text.includes("PRIVATE KEY") && !/eyJ[A-Za-z0-9_-]{20,}\./.test(text));
  });

  it("without a verified trust bundle (--no-strict) shows every runtime row as unavailable, with the reason", async () => {
    const rows = runtimeRows(await prove(started.runtime, undefined, RUNTIME_PROBES, null));
    assert.deepEqual(new Set(rows.map((r) => r.check)), RUNTIME_CHECKS);
    assert.ok(rows.every((r) => r.status === "unavailable" && r.detail === NO_TRUST_REASON));
    // Omitted altogether (a library caller proving a policy only), there are no runtime rows.
    assert.deepEqual(runtimeRows(await prove(started.runtime, undefined, new Map())), []);
  });

  it("rows that need the development issuer or publisher key are unavailable without them, naming the missing key", async () => {
    const bare = mkdtempSync(join(tmpdir(), "cordon-prove-bare-"));
    cpSync(home, bare, { recursive: true });
    rmSync(join(bare, "issuer.key"));
    rmSync(join(bare, "publisher.key"));
    const needKeys = ["token-wrong-iss", "token-wrong-aud", "token-expired", "token-nbf-future", "token-id-token", "token-lifetime-excessive", "token-exp-huge", "gateway-foreign-session", "gateway-session-cap", "gateway-slow-body", "policy-rollback"];
    const probes = new Map([...PROBES].filter(([id]) => needKeys.includes(id)));
    const rows = runtimeRows(await prove(started.runtime, undefined, probes, { ...trust, dataDir: bare })).filter((r) => needKeys.includes(r.check ?? ""));
    assert.equal(rows.length, needKeys.length);
    for (const row of rows) {
      assert.equal(row.status, "unavailable", row.check ?? "");
      assert.match(row.detail, row.check === "policy-rollback" ? /publisher\.key/ : /issuer\.key/);
    }
  });

  it("fails the token rows when the verifier accepts anything, and the gateway row still refuses a request without a token", async () => {
    const lax = (token: string): Promise<Principal> => Promise.resolve({ subject: "anyone", role: "analyst", tenant: null, issuer: "x", tokenDigest: token.slice(0, 4), expiresAt: 0 });
    const ids = ["token-forged-signature", "token-alg-none", "token-jku-canary", "token-expired", "gateway-no-token"];
    const rows = runtimeRows(await prove(started.runtime, undefined, new Map([...PROBES].filter(([id]) => ids.includes(id))), { ...trust, verifier: lax }));
    const status: Record<string, string> = Object.fromEntries(rows.filter((r) => ids.includes(r.check ?? "")).map((r) => [r.check ?? "", r.status]));
    assert.deepEqual(status, { "token-forged-signature": "failed", "token-alg-none": "failed", "token-jku-canary": "failed", "token-expired": "failed", "gateway-no-token": "proven" });
  });
});
