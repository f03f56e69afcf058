// Test helpers: write a policy and a tiny module into a temp directory.
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import wabt from "wabt";
import { sha256Hex } from "../crypto/digest.js";

export async function watToWasm(text: string): Promise<Uint8Array> {
  const w = await wabt();
  const mod = w.parseWat("t.wat", text);
  try {
    return new Uint8Array(mod.toBinary({ write_debug_names: true }).buffer);
  } finally {
    mod.destroy();
  }
}

/** A wasi-command that echoes `{"ok":true}` to stdout. */
export const OK_TOOL_WAT = `(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "{\\"ok\\":true}")
  (func (export "_start")
    (i32.store (i32.const 0) (i32.const 16))
    (i32.store (i32.const 4) (i32.const 11))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))`;

export interface PolicyDir {
  readonly dir: string;
  readonly policyPath: string;
  readonly moduleSha256: string;
  write(yaml: string): string;
}

export async function makePolicyDir(moduleWat: string = OK_TOOL_WAT): Promise<PolicyDir> {
  const dir = mkdtempSync(join(tmpdir(), "cordon-policy-test-"));
  mkdirSync(join(dir, "modules"));
  mkdirSync(join(dir, "data"));
  writeFileSync(join(dir, "data", "hello.txt"), "hello\n");
  const bytes = await watToWasm(moduleWat);
  writeFileSync(join(dir, "modules", "tool.wasm"), bytes);
  const policyPath = join(dir, "policy.yaml");
  return {
    dir,
    policyPath,
    moduleSha256: sha256Hex(bytes),
    write(yaml: string) {
      writeFileSync(policyPath, yaml);
      return policyPath;
    },
  };
}

/** A complete, valid one-tool policy; `grants` is spliced in as YAML list items. */
export function policyYaml(sha: string, opts: { grants?: string; extraTool?: string; roles?: string; limits?: string; input?: string } = {}): string {
  return `version: 1
roles:
${opts.roles ?? "  reader:\n    tools: [tool]"}
tools:
  tool:
    description: test tool
    module: { path: modules/tool.wasm, sha256: "${sha}" }
    abi: wasi-command
    risk: pure-compute
    tier: wasm
    limits: ${opts.limits ?? "{ memory: 1MiB, fuel: 1000000, wallClockMs: 200, inputBytes: 1KiB, outputBytes: 1KiB }"}
    grants:
${opts.grants ?? "      []"}
    input: ${opts.input ?? "{ type: object }"}
${opts.extraTool ?? ""}`;
}
