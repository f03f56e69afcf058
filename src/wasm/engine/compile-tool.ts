// Load-time checks for one tool, all before anything runs: shape and size (vetting), limits
// rewritten into the bytes (memory cap), fuel metering injected, imports checked against the
// grants, ABI exports present. Produces a compiled module; the bytes are never re-read.
import { CordonError, ModuleMalformed, ModuleRefused, ToolRefused } from "../../errors.js";
import { instrument } from "../module/index.js";
import type { ToolTemplate } from "./types.js";
import { ImportRefused, vetImports } from "./vet-imports.js";
import type { EnforcerName } from "../../enforcers.js";

export interface CompiledTool {
  readonly template: ToolTemplate;
  readonly module: WebAssembly.Module;
}

const WASM_PAGE = 65536;

const REQUIRED_EXPORTS: Readonly<Record<ToolTemplate["abi"], readonly string[]>> = {
  "wasi-command": ["_start"],
  reactor: ["cordon_alloc", "handle_message", "get_response"],
};

function enforcerForRefusal(err: CordonError): EnforcerName {
  if (err instanceof ImportRefused) return err.enforcer;
  if (err instanceof ModuleRefused && err.reason === "memory-too-large") return "wasm-memory-cap";
  return "wasm-module-vetting";
}

export function compileTool(template: ToolTemplate): CompiledTool {
  try {
    const { limits } = template;
    const out = instrument(template.moduleBytes, {
      maxBytes: limits.moduleBytes,
      maxMemoryPages: Math.floor(limits.memoryBytes / WASM_PAGE),
      maxTableElements: limits.maxTableElements,
      maxFunctions: limits.maxFunctions,
    });
    vetImports(
      out.parsed.imports.map((i) => ({ module: i.module, name: i.name, kind: i.kind === "func" ? "function" : i.kind })),
      template.grants,
    );
    let module: WebAssembly.Module;
    try {
      module = new WebAssembly.Module(out.bytes);
    } catch (err) {
      throw new ModuleMalformed(`does not compile after instrumentation: ${(err as Error).message}`);
    }
    const exported = new Set(WebAssembly.Module.exports(module).map((e) => e.name));
    for (const name of REQUIRED_EXPORTS[template.abi]) {
      if (!exported.has(name)) throw new ModuleRefused("abi-mismatch", `${template.abi} module must export '${name}'`);
    }
    return { template, module };
  } catch (err) {
    if (err instanceof CordonError) throw new ToolRefused(template.name, err, enforcerForRefusal(err));
    throw err;
  }
}
