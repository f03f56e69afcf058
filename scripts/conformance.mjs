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
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
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

// A 1x1 PNG and a 44-byte silent WAV: the smallest real files of each type.
const PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==";
const WAV = Buffer.concat([Buffer.from("RIFF"), Buffer.from([36, 0, 0, 0]), Buffer.from("WAVEfmt "), Buffer.from([16, 0, 0, 0, 1, 0, 1, 0, 0x40, 0x1f, 0, 0, 0x40, 0x1f, 0, 0, 1, 0, 8, 0]), Buffer.from("data"), Buffer.from([0, 0, 0, 0])]).toString("base64");

/** A guest whose output is a content envelope (the tool declares `output.content`). */
const content = (blocks) => printer(JSON.stringify({ content: blocks }));

/** Reports 0, 50 and 100 of 100, about 50 ms apart (the clock grant), then answers. */
const PROGRESS_WAT = `(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "clock_time_get" (func $clock (param i32 i64 i32) (result i32)))
  (import "cordon" "progress" (func $progress (param i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 64) "\\"Progress test completed\\"")
  (func $now (result i64)
    (drop (call $clock (i32.const 1) (i64.const 1000) (i32.const 32)))
    (i64.load (i32.const 32)))
  (func $wait (param $ns i64)
    (local $until i64)
    (local.set $until (i64.add (call $now) (local.get $ns)))
    (loop $spin (br_if $spin (i64.lt_u (call $now) (local.get $until)))))
  (func (export "_start")
    (call $progress (i32.const 0) (i32.const 100))
    (call $wait (i64.const 50000000))
    (call $progress (i32.const 50) (i32.const 100))
    (call $wait (i64.const 50000000))
    (call $progress (i32.const 100) (i32.const 100))
    (i32.store (i32.const 0) (i32.const 64))
    (i32.store (i32.const 4) (i32.const 25))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))`;

const EXAMPLE_MODULES = path.join(ROOT, "examples", "modules");
const module = (name) => ({ bytes: readFileSync(path.join(EXAMPLE_MODULES, `${name}.wasm`)) });

const NO_ARGS = "{ type: object, properties: {}, additionalProperties: false }";

// Each scenario's fixture, as a cordon tool: a real guest (a WAT printer, or an example module)
// with the grants and output declaration it needs. Elicitation scenarios are tools whose
// approval form (in the policy, never in the guest) is the form the scenario expects; the
// guest, cordon's echo, shows what it received: the caller's arguments and the user's answers.
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
  test_image_content: { description: "Returns an image (conformance fixture).", output: "{ content: [image] }", wat: content([{ type: "image", data: PNG, mimeType: "image/png" }]) },
  test_audio_content: { description: "Returns audio (conformance fixture).", output: "{ content: [audio] }", wat: content([{ type: "audio", data: WAV, mimeType: "audio/wav" }]) },
  test_embedded_resource: {
    description: "Returns an embedded resource (conformance fixture).",
    output: "{ content: [resource] }",
    wat: content([{ type: "resource", resource: { uri: "test://embedded-resource", mimeType: "text/plain", text: "This is an embedded resource content." } }]),
  },
  test_multiple_content_types: {
    description: "Returns text, an image and an embedded resource (conformance fixture).",
    output: "{ content: [text, image, resource] }",
    wat: content([
      { type: "text", text: "Multiple content types test:" },
      { type: "image", data: PNG, mimeType: "image/png" },
      { type: "resource", resource: { uri: "test://mixed-content-resource", mimeType: "application/json", text: JSON.stringify({ test: "data", value: 123 }) } },
    ]),
  },
  test_tool_with_progress: {
    description: "Reports its progress three times (conformance fixture; the progress and clock grants).",
    grants: "[{ kind: progress, enforcer: cordon-progress, check: progress-ungranted }, { kind: clock, enforcer: wasi-clock, check: clock-ungranted }]",
    wat: PROGRESS_WAT,
  },
  test_sampling: {
    description: "Asks the client's model (conformance fixture: the ask-model example guest, with the sampling grant).",
    grants: "[{ kind: progress, enforcer: cordon-progress, check: progress-ungranted }, { kind: sampling, maxRequests: 1, maxTokens: 100, enforcer: cordon-sampling, check: [sampling-ungranted, sampling-over-budget] }]",
    input: "{ type: object, properties: { prompt: { type: string, maxLength: 4096 } }, required: [prompt], additionalProperties: false }",
    ...module("ask-model"),
  },
  test_elicitation: {
    description: "Runs only once the user has filled in the form its approval asks (conformance fixture).",
    input: "{ type: object, properties: { message: { type: string, maxLength: 1024 } }, required: [message], additionalProperties: false }",
    approval: `{ required: true, message: "{{message}}", form: { type: object, properties: { username: { type: string, description: "User's response" }, email: { type: string, description: "User's email address" } }, required: [username, email] } }`,
    ...module("echo"),
  },
  test_elicitation_sep1034_defaults: {
    description: "Approval form with a default for every primitive type (conformance fixture, SEP-1034).",
    approval: `{ required: true, message: "Please review your details", form: { type: object, properties: { name: { type: string, default: "John Doe" }, age: { type: integer, default: 30 }, score: { type: number, default: 95.5 }, status: { type: string, enum: [active, inactive, pending], default: active }, verified: { type: boolean, default: true } } } }`,
    ...module("echo"),
  },
  test_elicitation_sep1330_enums: {
    description: "Approval form with every enum variant (conformance fixture, SEP-1330).",
    approval: `{ required: true, message: "Please choose", form: { type: object, properties: {
        untitledSingle: { type: string, enum: [option1, option2, option3] },
        titledSingle: { type: string, oneOf: [{ const: value1, title: First Option }, { const: value2, title: Second Option }, { const: value3, title: Third Option }] },
        legacyEnum: { type: string, enum: [opt1, opt2, opt3], enumNames: [Option One, Option Two, Option Three] },
        untitledMulti: { type: array, items: { type: string, enum: [option1, option2, option3] } },
        titledMulti: { type: array, items: { anyOf: [{ const: value1, title: First Choice }, { const: value2, title: Second Choice }, { const: value3, title: Third Choice }] } } } } }`,
    ...module("echo"),
  },
  // The resource root's grant holder: the file-stats example guest over the fixture files.
  test_fixture_stats: {
    description: "Line, word and byte counts of a fixture file (holds the read grant the test:// resources come from).",
    grants: "[{ kind: fs.read, path: fixtures, mount: /fixtures, enforcer: wasi-jail, check: fs-escape-dotdot }, { kind: env, name: STATS_LABEL, value: conformance, enforcer: wasi-env, check: env-ungranted }]",
    input: "{ type: object, properties: { path: { type: string, maxLength: 255 } }, required: [path], additionalProperties: false }",
    ...module("file-stats"),
  },
};

const RESOURCES = `    resources:
      - mount: /fixtures
        uri: "test://"
        description: Conformance fixture files
        templates:
          - { uriTemplate: "test://template/{id}/data", name: template-data, description: Data for an id, mimeType: application/json }`;

const PROMPTS = `prompts:
  test_simple_prompt:
    description: A simple prompt without arguments
    messages:
      - { role: user, content: { type: text, text: "This is a simple prompt for testing." } }
  test_prompt_with_arguments:
    description: A prompt with two arguments
    arguments:
      - { name: arg1, description: First test argument, required: true, completions: [paris, park, party, test-value] }
      - { name: arg2, description: Second test argument, required: true }
    messages:
      - { role: user, content: { type: text, text: "Prompt with arguments: arg1='{{arg1}}', arg2='{{arg2}}'" } }
  test_prompt_with_embedded_resource:
    description: A prompt embedding a resource
    arguments:
      - { name: resourceUri, description: URI of the resource to embed, required: true }
    messages:
      - { role: user, content: { type: resource, resource: { uri: "{{resourceUri}}", mimeType: text/plain, text: "Embedded resource content for testing." } } }
      - { role: user, content: { type: text, text: "Please process the embedded resource above." } }
  test_prompt_with_image:
    description: A prompt with an image
    messages:
      - { role: user, content: { type: image, mimeType: image/png, data: "${PNG}" } }
      - { role: user, content: { type: text, text: "Please analyze the image above." } }`;

/** The files behind the test:// resources, read through the cell's jail like any grant. */
function fixtureFiles(dir) {
  const root = path.join(dir, "fixtures");
  mkdirSync(path.join(root, "template", "123"), { recursive: true });
  writeFileSync(path.join(root, "static-text"), "This is the content of the static text resource.");
  writeFileSync(path.join(root, "static-binary"), Buffer.from(PNG, "base64"));
  writeFileSync(path.join(root, "watched-resource"), "This resource is watched for changes.");
  writeFileSync(path.join(root, "template", "123", "data"), JSON.stringify({ id: "123", templateTest: true, data: "Data for ID: 123" }));
  for (const d of [dir, root, path.join(root, "template"), path.join(root, "template", "123")]) chmodSync(d, 0o755);
}

async function fixturePolicy(dir) {
  mkdirSync(path.join(dir, "modules"));
  fixtureFiles(dir);
  const tools = [];
  for (const [name, t] of Object.entries(TOOLS)) {
    const bytes = t.bytes ?? (await watToWasm(t.wat));
    writeFileSync(path.join(dir, "modules", `${name}.wasm`), bytes);
    tools.push(`  ${name}:
    description: ${JSON.stringify(t.description)}
    module: { path: modules/${name}.wasm, sha256: "${sha256Hex(bytes)}" }
    abi: wasi-command
    risk: ${t.grants?.includes("fs.read") ? "file-ops" : "pure-compute"}
    tier: wasm
    limits: { memory: 1MiB, fuel: 50000000, wallClockMs: 5000, inputBytes: 4KiB, outputBytes: 64KiB }
    grants: ${t.grants ?? "[]"}
    input: ${t.input ?? NO_ARGS}${t.output === undefined ? "" : `\n    output: ${t.output}`}${t.approval === undefined ? "" : `\n    approval: ${t.approval}`}`);
  }
  const file = path.join(dir, "policy.yaml");
  const roles = `roles:\n  ${ROLE}:\n    tools: [${Object.keys(TOOLS).join(", ")}]\n    prompts: [test_simple_prompt, test_prompt_with_arguments, test_prompt_with_embedded_resource, test_prompt_with_image]\n${RESOURCES}`;
  writeFileSync(file, `version: 1\n${roles}\ntools:\n${tools.join("\n")}\n${PROMPTS}\n`);
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
// Cells run as unprivileged uids: the fixture files' directories must be traversable by them.
chmodSync(work, 0o755);
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
