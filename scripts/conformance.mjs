#!/usr/bin/env node
// Runs the MCP conformance suite (@modelcontextprotocol/conformance, server scenarios) against
// a real cordon HTTP gateway serving a conformance fixture role, and prints the pass count.
//
// The suite cannot send a bearer token, so a small loopback proxy in front of the gateway adds
// one (minted for the fixture role, audience = the gateway's resource URI). The proxy forwards
// Host and Origin unchanged, so the suite's DNS-rebinding scenario reaches the gateway's check.
//
// Failures cordon has by design are listed in scripts/conformance-baseline.yml; the exit code is
// the suite's: 0 unless a scenario outside the baseline fails (or one inside it starts passing).
//
// usage: node scripts/conformance.mjs [--suite active|all] [--scenario NAME] [--json]
// Needs a build (npm run build) and, for cells, bwrap + cgroups (as the tests do).

import { spawn } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { request, createServer } from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { SignJWT } from "jose";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const dist = (p) => import(path.join(ROOT, "dist", p));

const { values } = parseArgs({ options: { suite: { type: "string", default: "active" }, scenario: { type: "string" }, json: { type: "boolean", default: false } } });

const { AuditLog } = await dist("audit/index.js");
const { loadPolicy } = await dist("policy/load-policy.js");
const { Runtime } = await dist("runtime/runtime.js");
const { watToWasm } = await dist("testing/policy-fixture.js");
const { sha256Hex } = await dist("crypto/digest.js");
const { startHttpGateway } = await dist("gateway/http-gateway.js");
const { parseTrustBundle } = await dist("artifacts/trust-bundle.js");
const { createTokenVerifier } = await dist("authn/verify-token.js");

const ISSUER = "https://conformance.cordon.invalid";
const ROLE = "conformance";

/** A wasi-command that writes `json` to stdout. */
function printer(json) {
  const escaped = json.replace(/\\/g, "\\\\").replace(/"/g, '\\"');
  return `(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 64) "${escaped}")
  (func (export "_start")
    (i32.store (i32.const 0) (i32.const 64))
    (i32.store (i32.const 4) (i32.const ${Buffer.byteLength(json)}))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))`;
}

const TOOLS = {
  test_simple_text: { description: "Returns a fixed text (conformance fixture).", wat: printer(JSON.stringify("This is a simple text response for testing.")) },
  test_tool_with_logging: {
    description: "Logs three lines, then answers (conformance fixture; needs the log grant).",
    grants: "[{ kind: log, enforcer: cordon-log, check: log-ungranted }]",
    wat: `(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "cordon" "log" (func $log (param i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 64) "Tool execution started")
  (data (i32.const 96) "Tool processing data")
  (data (i32.const 128) "Tool execution completed")
  (data (i32.const 160) "\\"Logging test completed\\"")
  (func (export "_start")
    (call $log (i32.const 64) (i32.const 22))
    (call $log (i32.const 96) (i32.const 20))
    (call $log (i32.const 128) (i32.const 24))
    (i32.store (i32.const 0) (i32.const 160))
    (i32.store (i32.const 4) (i32.const 24))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))`,
  },
  test_error_handling: { description: "Always fails: the guest traps (conformance fixture).", wat: "(module (memory (export \"memory\") 1) (func $explode unreachable) (func (export \"_start\") (call $explode)))" },
};

async function fixturePolicy(dir) {
  mkdirSync(path.join(dir, "modules"));
  const tools = [];
  for (const [name, t] of Object.entries(TOOLS)) {
    const bytes = await watToWasm(t.wat);
    writeFileSync(path.join(dir, "modules", `${name}.wasm`), bytes);
    tools.push(`  ${name}:
    description: ${JSON.stringify(t.description)}
    module: { path: modules/${name}.wasm, sha256: "${sha256Hex(bytes)}" }
    abi: wasi-command
    risk: pure-compute
    tier: wasm
    limits: { memory: 1MiB, fuel: 10000000, wallClockMs: 500, inputBytes: 4KiB, outputBytes: 4KiB }
    grants: ${t.grants ?? "[]"}
    input: { type: object, properties: {}, additionalProperties: false }`);
  }
  const file = path.join(dir, "policy.yaml");
  writeFileSync(file, `version: 1\nroles:\n  ${ROLE}:\n    tools: [${Object.keys(TOOLS).join(", ")}]\ntools:\n${tools.join("\n")}\n`);
  return file;
}

/** Forwards everything to `target`, adding the bearer token when the client sent none. */
function startProxy(target, token) {
  const upstream = new URL(target);
  const server = createServer((req, res) => {
    const headers = { ...req.headers };
    headers.authorization ??= `Bearer ${token}`;
    const out = request({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    out.on("error", () => res.destroy());
    req.pipe(out);
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}

function runSuite(url, outDir) {
  const args = ["--import", path.join(ROOT, "scripts", "conformance-node20.mjs"), path.join(ROOT, "node_modules", "@modelcontextprotocol", "conformance", "dist", "index.js"), "server", "--url", url, "-o", outDir, "--expected-failures", path.join(ROOT, "scripts", "conformance-baseline.yml")];
  if (values.scenario !== undefined) args.push("--scenario", values.scenario);
  else args.push("--suite", values.suite);
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { cwd: outDir, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (c) => (out += c));
    child.stderr.on("data", (c) => (out += c));
    child.on("close", (code) => resolve({ code, out }));
  });
}

function collectChecks(dir) {
  const results = [];
  const walk = (d) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name === "checks.json") results.push({ scenario: path.basename(d), checks: JSON.parse(readFileSync(p, "utf8")) });
    }
  };
  walk(dir);
  return results;
}

const work = mkdtempSync(path.join(tmpdir(), "cordon-conformance-"));
const policyDir = path.join(work, "policy");
mkdirSync(policyDir);
const audit = await AuditLog.open(path.join(work, "audit.jsonl"));
const runtime = await Runtime.start({ policy: loadPolicy(await fixturePolicy(policyDir)), audit, isolation: "cell", poolSize: 2 });
const { publicKey, privateKey } = generateKeyPairSync("ed25519");
const gw = await startHttpGateway({
  runtime,
  issuers: [ISSUER],
  port: 0,
  maxSessionsPerPrincipal: 64,
  // cordon's own verifier over a one-issuer trust bundle: the suite's token is checked like any other.
  verifierFor: (audience) =>
    createTokenVerifier(
      parseTrustBundle(Buffer.from(JSON.stringify({
        version: 1,
        issuers: [{ issuer: ISSUER, audience, algorithms: ["EdDSA"], jwks: { keys: [{ ...publicKey.export({ format: "jwk" }), kid: "conformance", alg: "EdDSA", use: "sig" }] }, roleClaim: "role", requireTyp: "at+jwt", maxTokenAgeSec: 86400, clockSkewSec: 30 }],
        policySigners: [],
        moduleSigners: [],
      }))),
      { roles: new Set([ROLE]) },
    ),
});
const now = Math.floor(Date.now() / 1000);
const token = await new SignJWT({ sub: "conformance-suite", role: ROLE }).setProtectedHeader({ alg: "EdDSA", typ: "at+jwt", kid: "conformance" }).setIssuer(ISSUER).setAudience(gw.url).setIssuedAt(now).setExpirationTime(now + 3600).sign(privateKey);
const proxy = await startProxy(gw.url, token);
const url = `http://localhost:${proxy.address().port}/mcp`;

const outDir = path.join(work, "results");
mkdirSync(outDir);
const { code, out } = await runSuite(url, outDir);
proxy.close();
await gw.close();
await runtime.close();

const scenarios = collectChecks(outDir);
const checks = scenarios.flatMap((s) => s.checks.map((c) => ({ scenario: s.scenario, ...c })));
const scored = checks.filter((c) => c.status === "SUCCESS" || c.status === "FAILURE");
const passed = scored.filter((c) => c.status === "SUCCESS");
const failed = scored.filter((c) => c.status === "FAILURE");
const warnings = checks.filter((c) => c.status === "WARNING");
if (values.json) {
  process.stdout.write(`${JSON.stringify({ passed: passed.length, total: scored.length, warnings: warnings.length, failed: failed.map((c) => ({ id: c.id, error: c.errorMessage ?? null })) }, null, 2)}\n`);
} else {
  process.stdout.write(out.trim() === "" ? "" : `${out.trim()}\n\n`);
  for (const c of failed) process.stdout.write(`FAIL ${c.id}: ${(c.errorMessage ?? "").slice(0, 200)}\n`);
  for (const c of warnings) process.stdout.write(`WARN ${c.id}: ${(c.errorMessage ?? "").slice(0, 200)}\n`);
  process.stdout.write(`\nconformance: ${passed.length}/${scored.length} checks passed (${warnings.length} warnings; suite exit ${code}); results in ${outDir}\n`);
}
process.exitCode = code ?? 1;
