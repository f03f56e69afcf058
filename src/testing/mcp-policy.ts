// Test helpers: a policy directory with tools for what MCP adds (approval, progress, sampling,
// cancellation, content types, an output schema), a resource root and prompts, over the real
// guests (examples/modules) and fixtures (build/fixtures). Test-only.
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sha256Hex } from "../crypto/digest.js";
import { EXAMPLE_POLICY } from "../config/defaults.js";
import { fixturePath } from "../probes/fixtures.js";
import { OK_TOOL_WAT, watToWasm } from "./policy-fixture.js";
import { dirname } from "node:path";

/** A wasi-command that writes `json` to stdout. */
export function printerWat(json: string): string {
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

export const PNG_1X1 = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==";

export interface McpPolicy {
  readonly dir: string;
  readonly path: string;
  /** The resource root's directory (/data), with notes.txt, pic.png, sub/deep.txt and a planted link out. */
  readonly data: string;
  /** A file outside the root the planted link points at. */
  readonly outside: string;
}

const LIMITS = "{ memory: 1MiB, fuel: 100000000, wallClockMs: 2000, inputBytes: 16KiB, outputBytes: 64KiB }";

export async function makeMcpPolicy(): Promise<McpPolicy> {
  const dir = mkdtempSync(join(tmpdir(), "cordon-mcp-policy-"));
  chmodSync(dir, 0o755);
  mkdirSync(join(dir, "modules"));
  const data = join(dir, "data");
  mkdirSync(join(data, "sub"), { recursive: true });
  writeFileSync(join(data, "notes.txt"), "first note\n");
  writeFileSync(join(data, "pic.png"), Buffer.from(PNG_1X1, "base64"));
  writeFileSync(join(data, "sub", "deep.txt"), "deep\n");
  const secret = join(dir, "secret");
  mkdirSync(secret);
  const outside = join(secret, "outside.txt");
  writeFileSync(outside, "OUTSIDE-SECRET");
  symlinkSync(outside, join(data, "link.txt"));
  const modules: Record<string, Uint8Array> = {
    ok: await watToWasm(OK_TOOL_WAT),
    image: await watToWasm(printerWat(JSON.stringify({ content: [{ type: "text", text: "a pixel:" }, { type: "image", data: PNG_1X1, mimeType: "image/png" }] }))),
    audio: await watToWasm(printerWat(JSON.stringify({ content: [{ type: "audio", data: "UklGRiQAAABXQVZF", mimeType: "audio/wav" }] }))),
    typed: await watToWasm(printerWat(JSON.stringify({ count: 3, label: "three" }))),
    mistyped: await watToWasm(printerWat(JSON.stringify({ count: "three" }))),
    ask: new Uint8Array(readFileSync(join(dirname(EXAMPLE_POLICY), "modules", "ask-model.wasm"))),
    spin: new Uint8Array(readFileSync(fixturePath("spin"))),
    echo: new Uint8Array(readFileSync(join(dirname(EXAMPLE_POLICY), "modules", "echo.wasm"))),
    files: new Uint8Array(readFileSync(fixturePath("fs-open"))),
  };
  const ref = (name: string): string => {
    const bytes = modules[name] as Uint8Array;
    writeFileSync(join(dir, "modules", `${name}.wasm`), bytes);
    return `{ path: modules/${name}.wasm, sha256: "${sha256Hex(bytes)}" }`;
  };
  const tool = (name: string, body: string, extra = ""): string => `  ${name}:
    description: ${name} (test)
    module: ${ref(body)}
    abi: wasi-command
    risk: pure-compute
    tier: wasm
    limits: ${LIMITS}
${extra}    input: { type: object }
`;
  const yaml = `version: 1
roles:
  user:
    tools: [approved, formed, image, audio, typed, mistyped, ask, spin, files]
    prompts: [greet]
    resources:
      - mount: /data
        templates:
          - { uriTemplate: "file:///data/sub/{name}", name: sub-file, mimeType: text/plain }
tools:
${tool("approved", "ok", "    approval: required\n")}${tool("formed", "echo", `    approval:
      required: true
      message: "Send {{to}} a note?"
      form:
        type: object
        properties:
          reason: { type: string, maxLength: 64 }
          urgency: { type: string, enum: [low, high], default: low }
        required: [reason]
`)}${tool("image", "image", "    output: { content: [text, image] }\n")}${tool("audio", "audio", "    output: { content: [text, image] }\n")}${tool("typed", "typed", "    output: { schema: { type: object, properties: { count: { type: integer }, label: { type: string } }, required: [count] } }\n")}${tool("mistyped", "mistyped", "    output: { schema: { type: object, properties: { count: { type: integer } }, required: [count] } }\n")}${tool("ask", "ask", "    grants:\n      - { kind: progress, enforcer: cordon-progress, check: progress-ungranted }\n      - { kind: sampling, maxRequests: 1, maxTokens: 64, enforcer: cordon-sampling, check: [sampling-ungranted, sampling-over-budget] }\n")}  spin:
    description: spins until stopped (test)
    module: ${ref("spin")}
    abi: wasi-command
    risk: pure-compute
    tier: wasm
    limits: { memory: 1MiB, fuel: 1000000000000, wallClockMs: 20000, inputBytes: 1KiB, outputBytes: 1KiB }
    input: { type: object }
  files:
    description: opens files in /data (test)
    module: ${ref("files")}
    abi: wasi-command
    risk: file-ops
    tier: wasm
    limits: ${LIMITS}
    grants:
      - { kind: fs.read, path: data, mount: /data, enforcer: wasi-jail, check: fs-escape-dotdot }
    input: { type: object }
prompts:
  greet:
    description: Greets someone
    arguments:
      - { name: who, required: true, completions: [alice, alfred, bob] }
      - { name: mood }
    messages:
      - { role: user, content: { type: text, text: "Say hello to {{who}} in a {{mood}} way." } }
      - { role: user, content: { type: image, mimeType: image/png, data: "${PNG_1X1}" } }
      - { role: user, content: { type: resource, resource: { uri: "note://{{who}}", mimeType: text/plain, text: "About {{who}}." } } }
`;
  const path = join(dir, "policy.yaml");
  writeFileSync(path, yaml);
  return { dir, path, data, outside };
}
