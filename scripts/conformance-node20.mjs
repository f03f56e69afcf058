// Lets @modelcontextprotocol/conformance (built for Node 22) run on Node 20: its bundle imports
// fs.globSync, which only its tier-check command uses. This loader hook gives that one import
// a stub; every other fs export is Node's own. Load with: node --import ./scripts/conformance-node20.mjs
import { register } from "node:module";

const HOOKED = "?cordon-conformance-hook";

if (!import.meta.url.endsWith(HOOKED)) register(import.meta.url + HOOKED);

const SHIM = [
  'import fs from "node:fs";',
  "export const { existsSync, mkdtempSync, promises, readFileSync } = fs;",
  'export function globSync() { throw new Error("globSync needs Node 22 (tier-check only)"); }',
].join("\n");

export async function resolve(specifier, context, next) {
  if ((specifier === "fs" || specifier === "node:fs") && context.parentURL?.includes("/@modelcontextprotocol/conformance/")) {
    return { url: `data:text/javascript,${encodeURIComponent(SHIM)}`, shortCircuit: true };
  }
  return next(specifier, context);
}
