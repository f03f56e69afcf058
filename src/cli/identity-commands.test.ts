// The identity verbs through the real `cordon` binary.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { loadTrustBundle } from "../artifacts/load-trust-bundle.js";
import { createTokenVerifier } from "../authn/verify-token.js";

const MAIN = fileURLToPath(new URL("../cli/main.js", import.meta.url));

function cordon(args: string[], home: string, extraEnv: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [MAIN, ...args], { encoding: "utf8", env: { PATH: process.env["PATH"] ?? "", CORDON_HOME: home, ...extraEnv }, timeout: 60_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe("cordon keys / sign / verify / trust / token", () => {
  it("creates keys, signs and verifies a file, refuses it once tampered, and reports usage errors", () => {
    const home = mkdtempSync(join(tmpdir(), "cordon-idcli-"));
    const key = join(home, "signer.key");
    const made = cordon(["keys", "init", "--key", key], home);
    assert.equal(made.code, 0, made.err);
    assert.match(made.out, /keyid [0-9a-f]{64}/);
    assert.equal(statSync(key).mode & 0o777, 0o600);
    const again = cordon(["keys", "init", "--key", key], home);
    assert.equal(again.code, 1);
    assert.match(again.err, /ERR_KEY_UNUSABLE/);

    const file = join(home, "policy.yaml");
    writeFileSync(file, "version: 1\n");
    assert.equal(cordon(["sign", file, "--key", key, "--kind", "policy", "--artifact-version", "2"], home).code, 0);
    const ok = cordon(["verify", file, "--key", `${key}.pub`, "--kind", "policy"], home);
    assert.equal(ok.code, 0, ok.err);
    assert.match(ok.out, /policy version 2/);
    assert.equal(cordon(["verify", file, "--key", `${key}.pub`, "--kind", "module"], home).code, 1);
    writeFileSync(file, "version: 2\n");
    const bad = cordon(["verify", file, "--key", `${key}.pub`], home);
    assert.equal(bad.code, 1);
    assert.match(bad.err, /ERR_SIGNATURE_INVALID/);

    assert.equal(cordon(["sign", file], home).code, 2);
    assert.equal(cordon(["sign", file, "--key", key, "--artifact-version", "-1"], home).code, 2);
    assert.equal(cordon(["trust", "frobnicate"], home).code, 2);
    assert.equal(cordon(["verify", file, "--bogus"], home).code, 2);
  });

  it("trust init pins a root and signs a bundle; trust show and verify --kind policy use it; token mint yields a verifiable token", async () => {
    const home = mkdtempSync(join(tmpdir(), "cordon-idcli-"));
    assert.equal(cordon(["keys", "init", "--key", join(home, "issuer.key")], home).code, 0);
    assert.equal(cordon(["keys", "init", "--key", join(home, "policy.key")], home).code, 0);
    const input = join(home, "bundle.yaml");
    writeFileSync(input, [
      "version: 1",
      "issuers:",
      "  - issuer: https://cordon.local",
      "    audience: https://cordon.local/mcp",
      "    algorithms: [EdDSA]",
      "    keyFiles: [issuer.key.pub]",
      "    requireTyp: at+jwt",
      "    maxTokenAgeSec: 3600",
      "    clockSkewSec: 30",
      "policySigners: [{ keyFile: policy.key.pub }]",
      "moduleSigners: []",
      "",
    ].join("\n"));
    const init = cordon(["trust", "init", "--input", input], home);
    assert.equal(init.code, 0, init.err);
    const show = cordon(["trust", "show", "--json"], home);
    assert.equal(show.code, 0, show.err);
    const shown = JSON.parse(show.out) as { version: number; policySigners: string[]; issuers: Array<{ issuer: string }> };
    assert.equal(shown.version, 1);
    assert.equal(shown.policySigners.length, 1);
    assert.equal(shown.issuers[0]?.issuer, "https://cordon.local");

    const file = join(home, "policy.yaml");
    writeFileSync(file, "version: 1\n");
    assert.equal(cordon(["sign", file, "--key", join(home, "policy.key"), "--kind", "policy"], home).code, 0);
    assert.equal(cordon(["verify", file, "--kind", "policy"], home).code, 0);
    assert.equal(cordon(["verify", file, "--kind", "module"], home).code, 1, "a policy signer is not a module signer");

    const minted = cordon(["token", "mint", "--issuer-key", join(home, "issuer.key"), "--role", "analyst", "--sub", "dev", "--ttl", "600"], home);
    assert.equal(minted.code, 0, minted.err);
    const verify = createTokenVerifier(loadTrustBundle({ dataDir: home }).bundle, { roles: new Set(["analyst"]) });
    const principal = await verify(minted.out.trim());
    assert.deepEqual([principal.subject, principal.role, principal.issuer], ["dev", "analyst", "https://cordon.local"]);

    // The issuer's maxTokenAgeSec (3600 here) caps --ttl: a longer token would only be refused.
    const tooLong = cordon(["token", "mint", "--issuer-key", join(home, "issuer.key"), "--role", "analyst", "--sub", "dev", "--ttl", "3601"], home);
    assert.equal(tooLong.code, 2, tooLong.err);
    assert.match(tooLong.err, /maximum token lifetime of 3600 s/);
    assert.equal(tooLong.out, "");
    const foreign = cordon(["token", "mint", "--issuer-key", join(home, "issuer.key"), "--role", "analyst", "--sub", "dev", "--iss", "https://elsewhere.example", "--aud", "https://elsewhere.example/mcp", "--ttl", "86401"], home);
    assert.equal(foreign.code, 2, "a foreign issuer gets the schema's cap of 86400 s");
    const longest = cordon(["token", "mint", "--issuer-key", join(home, "issuer.key"), "--role", "analyst", "--sub", "dev", "--ttl", "3600"], home);
    assert.equal(longest.code, 0, longest.err);
    assert.equal((await verify(longest.out.trim())).subject, "dev");
  });

  it("ignores a trust root or key offered through the environment and records the names, not the values, once", () => {
    const home = mkdtempSync(join(tmpdir(), "cordon-idcli-"));
    const offered = "-----BEGIN PUBLIC KEY-----ATTACKERROOT";
    const r = cordon(["trust", "show"], home, { CORDON_TRUST_ROOT: offered, CORDON_SIGNING_KEY: "hunter2-secret" });
    assert.equal(r.code, 1, "with no pinned root, the environment's offer must not make trust show succeed");
    assert.match(r.err, /ignored CORDON_SIGNING_KEY, CORDON_TRUST_ROOT/);
    assert.match(r.err, /ERR_KEY_UNUSABLE/);
    const audit = readFileSync(join(home, "audit.jsonl"), "utf8");
    const records = audit.trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
    const ignored = records.filter((rec) => rec["type"] === "key.env-ignored");
    assert.equal(ignored.length, 1);
    assert.deepEqual(ignored[0]?.["variables"], ["CORDON_SIGNING_KEY", "CORDON_TRUST_ROOT"]);
    assert.ok(!audit.includes("ATTACKERROOT") && !audit.includes("hunter2"));
    assert.equal(cordon(["audit", "verify"], home).code, 0);
  });
});
