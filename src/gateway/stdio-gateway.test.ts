// End to end over real stdio: the SDK's Client spawns `cordon serve --stdio` (dist/cli/main.js).
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { after, before, it } from "node:test";
import { fileURLToPath } from "node:url";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { ErrorCode, McpError } from "@modelcontextprotocol/sdk/types.js";
import { verifyAuditFile, type AuditRecord } from "../audit/index.js";
import type { Runtime } from "../runtime/runtime.js";
import { tokenDigest as digestToken } from "../authn/verify-token.js";
import { DEV_ISSUER } from "../cli/dev-init.js";
import { loadSigningKey } from "../crypto/keys.js";
import { mintToken } from "../authn/mint-token.js";
import { makeIssuer, startCellRuntime, verifierFor, writeTokenFile } from "./gateway.fixture.js";
import { serveStdio, stdioMessages } from "./stdio-gateway.js";
import { describeWithCells } from "../testing/host.js";

/** The audience `cordon init` puts in the dev trust bundle (the default listen address). */
const AUDIENCE = "http://127.0.0.1:8787/mcp";

const MAIN = fileURLToPath(new URL("../cli/main.js", import.meta.url));

function readRecords(path: string): AuditRecord[] {
  return readFileSync(path, "utf8").split("\n").filter((l) => l !== "").map((l) => JSON.parse(l) as AuditRecord);
}

function run(args: string[], home: string): Promise<{ code: number | null; stderr: string; stdout: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [MAIN, ...args], { stdio: ["pipe", "pipe", "pipe"], env: { PATH: process.env["PATH"] ?? "", CORDON_HOME: home } });
    let stderr = "";
    let stdout = "";
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    child.on("close", (code) => resolve({ code, stderr, stdout }));
    child.stdin.end();
  });
}

describeWithCells("stdio gateway (cordon serve --stdio)", () => {
  let dir: string;
  let home: string;
  const args = (role: string, tokenFile: string, audit: string) => ["serve", "--stdio", "--role", role, "--token-file", tokenFile, "--audit", audit];
  /** A token from the dev issuer `cordon init` made, minted `ageSec` ago. */
  const mint = (claims: { role: string; aud?: string }, ageSec = 0) =>
    mintToken({
      privateKey: loadSigningKey(join(home, "issuer.key")).privateKey,
      issuer: DEV_ISSUER,
      audience: claims.aud ?? AUDIENCE,
      subject: "agent-1",
      role: claims.role,
      ttlSec: 600,
      typ: "at+jwt",
      now: () => Date.now() - ageSec * 1000,
    });

  before(() => {
    dir = mkdtempSync(join(tmpdir(), "cordon-stdio-"));
    home = join(dir, "home");
    const init = spawnSync(process.execPath, [MAIN, "init"], { env: { PATH: process.env["PATH"] ?? "", CORDON_HOME: home }, encoding: "utf8" });
    assert.equal(init.status, 0, init.stderr);
  });

  it("each role lists exactly its tools, calls succeed, another role's tool is not found; the session ends with stdin", async () => {
    for (const [role, tools] of [["analyst", ["ask-model", "notes", "text-stats"]], ["operator", ["ask-model", "build-test", "build-test-gvisor", "file-ops", "file-stats", "file-write", "notes", "text-stats"]]] as const) {
      const audit = join(dir, `${role}.jsonl`);
      const token = await mint({ role });
      const transport = new StdioClientTransport({ command: process.execPath, args: [MAIN, ...args(role, writeTokenFile(token), audit)], stderr: "pipe", env: { PATH: process.env["PATH"] ?? "", CORDON_HOME: home } });
      const client = new Client({ name: "stdio-e2e", version: "1" });
      await client.connect(transport);
      assert.deepEqual((await client.listTools()).tools.map((t) => t.name).sort(), tools);
      const r = await client.callTool({ name: "text-stats", arguments: { text: "over stdio" } });
      assert.equal((r.structuredContent as { words: number }).words, 2);
      if (role === "analyst") {
        await assert.rejects(client.callTool({ name: "file-stats", arguments: { path: "poem.txt" } }), (e: unknown) => e instanceof McpError && e.code === Number(ErrorCode.InvalidParams));
      }
      await client.close();
      const verdict = await verifyAuditFile(audit);
      assert.ok(verdict.ok);
      const records = readRecords(audit);
      const opened = records.find((x) => x.type === "session.opened");
      assert.deepEqual([...(opened?.["tools"] as string[])].sort(), tools);
      assert.ok(!readFileSync(audit, "utf8").includes(token), "the token reached the audit log");
      assert.deepEqual(records.filter((x) => x.type === "session.closed").map((x) => [x.enforcer, x["reason"]]), [["reaper", "closed"]]);
    }
  });

  it("a bad token, or a token of another role, exits 1 after exactly one authn.denied record", async () => {
    const cases: [string, string, string, string][] = [
      ["expired", "analyst", await mint({ role: "analyst" }, 700), "ERR_AUTHN_TOKEN_EXPIRED"],
      ["other audience", "analyst", await mint({ role: "analyst", aud: "https://elsewhere.example/mcp" }), "ERR_AUTHN_AUDIENCE_MISMATCH"],
      ["other role", "operator", await mint({ role: "analyst" }), "ERR_AUTHN_ROLE_MISMATCH"],
      ["empty file", "analyst", "", "ERR_AUTHN_TOKEN_MISSING"],
    ];
    for (const [name, role, token, code] of cases) {
      const audit = join(dir, `bad-${name.replace(/ /g, "-")}.jsonl`);
      const r = await run(args(role, writeTokenFile(token), audit), home);
      assert.equal(r.code, 1, `${name}: ${r.stderr}`);
      assert.match(r.stderr, new RegExp(code), name);
      assert.equal(r.stdout, "", name);
      const denied = readRecords(audit).filter((x) => x.type === "authn.denied");
      assert.equal(denied.length, 1, name);
      assert.deepEqual([denied[0]?.enforcer, denied[0]?.code, denied[0]?.["transport"]], ["authn-token", code, "stdio"]);
      assert.equal(denied[0]?.["tokenDigest"], token === "" ? null : digestToken(token));
      assert.ok(!readRecords(audit).some((x) => x.type === "session.opened"), name);
    }
  });

  it("refuses a token file others can read, a symlink, or a missing one", async () => {
    const token = await mint({ role: "analyst" });
    const audit = join(dir, "file.jsonl");
    const r = await run(args("analyst", writeTokenFile(token, 0o644), audit), home);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /ERR_GATEWAY_TOKEN_FILE_UNUSABLE/);
    const missing = await run(args("analyst", join(dir, "nope"), audit), home);
    assert.match(missing.stderr, /ERR_GATEWAY_TOKEN_FILE_UNUSABLE/);
    assert.ok(!r.stderr.includes(token) && !missing.stderr.includes(token));
  });
});

describeWithCells("serveStdio", () => {
  let runtime: Runtime;
  before(async () => ({ runtime } = await startCellRuntime()));
  after(async () => runtime.close());

  it("ends the session when the token expires", async () => {
    const { audit } = { audit: runtime.audit };
    const iss = makeIssuer();
    const token = await iss.mint({ aud: AUDIENCE });
    const stdin = new PassThrough();
    const stdout = new PassThrough();
    const seq = audit.head?.seq ?? 0;
    const gw = await serveStdio({
      runtime,
      role: "analyst",
      tokenFile: writeTokenFile(token),
      verifier: verifierFor(iss)(AUDIENCE),
      stdin,
      stdout,
      now: () => Date.now() + 3_600_000,
    });
    await gw.closed;
    assert.ok(gw.session.ended);
    const closed = audit.recordsAfter(seq).filter((x) => x.type === "session.closed");
    assert.deepEqual(closed.map((x) => x["reason"]), ["lifetime"]);
  });
});

describeWithCells("stdio: what is not one JSON-RPC message", () => {
  let runtime: Runtime;
  before(async () => ({ runtime } = await startCellRuntime()));
  after(async () => runtime.close());

  it("answers -32700 for non-JSON and -32600 (id null) for JSON that is no message, a batch included, and keeps serving", async () => {
    const iss = makeIssuer();
    const stdin = new PassThrough();
    const stdout = new PassThrough();
    const lines: unknown[] = [];
    let text = "";
    stdout.on("data", (c: Buffer) => {
      text += c.toString("utf8");
      for (let nl = text.indexOf("\n"); nl !== -1; nl = text.indexOf("\n")) {
        lines.push(JSON.parse(text.slice(0, nl)) as unknown);
        text = text.slice(nl + 1);
      }
    });
    const gw = await serveStdio({ runtime, role: "analyst", tokenFile: writeTokenFile(await iss.mint({ aud: AUDIENCE })), verifier: verifierFor(iss)(AUDIENCE), stdin, stdout });
    const answerTo = async (id: number) => {
      for (let i = 0; i < 500; i++) {
        const found = lines.find((l) => (l as { id?: unknown }).id === id);
        if (found !== undefined) return found;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      assert.fail(`no answer to ${id}`);
    };
    try {
      stdin.write(`${JSON.stringify({ jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "t", version: "1" } } })}\n`);
      await answerTo(1);
      stdin.write('{"jsonrpc":"2.0","method":"notifications/initialized"}\n');
      const invalid = [
        "[]",
        '[{"jsonrpc":"2.0","id":2,"method":"ping"}]',
        '{"jsonrpc":"2.0","id":null,"method":"ping"}',
        '{"jsonrpc":"2.0","id":1.5,"method":"ping"}',
        '{"jsonrpc":"2.0","id":{},"method":"ping"}',
        '{"jsonrpc":"2.0","id":true,"method":"ping"}',
        '{"jsonrpc":"1.0","id":3,"method":"ping"}',
        '{"jsonrpc":"2.0","id":4,"method":7}',
        '{"jsonrpc":"2.0","id":5}',
        '"ping"',
      ];
      const notJson = ["{", "nul", '{"jsonrpc":"2.0",'];
      // A line over the 1 MiB cap, sent in pieces, is skipped to its newline without being buffered.
      const huge = `{"jsonrpc":"2.0","id":6,"method":"ping","params":{"pad":"${"x".repeat(600 * 1024)}`;
      stdin.write(`${invalid.join("\n")}\n${notJson.join("\n")}\n`);
      stdin.write(Buffer.concat([Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), Buffer.from("\r\n\n   \n")]));
      stdin.write(huge);
      stdin.write(huge);
      stdin.write('"}}\n{"jsonrpc":"2.0","id":7,"method":"ping"}\n');
      // A client's answer and a notification are accepted and answer nothing.
      stdin.write('{"jsonrpc":"2.0","id":99,"result":{}}\n{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":98}}\n');
      assert.deepEqual(await answerTo(7), { jsonrpc: "2.0", id: 7, result: {} });
      const errors = lines.filter((l) => (l as { id?: unknown }).id === null) as { error: { code: number; data?: { code: string } } }[];
      assert.deepEqual(errors.map((e) => e.error.code), [...invalid.map(() => -32600), ...notJson.map(() => -32700), -32700, -32600]);
      assert.equal(errors.at(-1)?.error.data?.code, "ERR_GATEWAY_MESSAGE_TOO_LARGE");
      assert.ok(!lines.some((l) => [2, 3, 4, 5, 6, 99].includes((l as { id?: number }).id ?? -1)), "nothing invalid reached the server");
    } finally {
      await gw.close();
    }
  });

  it("stdioMessages passes valid lines through unchanged, split across chunks", async () => {
    const input = new PassThrough();
    const answers: object[] = [];
    const out = stdioMessages(input, (a) => answers.push(a), 64);
    let passed = "";
    out.on("data", (c: Buffer) => (passed += c.toString()));
    input.write('{"jsonrpc":"2.0",');
    input.write('"id":1,"method":"ping"}\r\n{"jsonrpc":"2.0","method":"x"}\n');
    input.end();
    await new Promise((resolve) => out.on("end", resolve));
    assert.equal(passed, '{"jsonrpc":"2.0","id":1,"method":"ping"}\n{"jsonrpc":"2.0","method":"x"}\n');
    assert.deepEqual(answers, []);
  });
});
