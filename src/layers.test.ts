// The tree's layering: every folder may import only from its own layer and below. A newcomer
// reads the trust boundaries from the folder names; an arrow upwards fails this test.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), "..", "src");

/** Lowest first. Folders of one layer may import each other. */
const LAYERS: readonly (readonly string[])[] = [
  ["(root)", "types", "config", "crypto"], // errors, the enforcer registry, shared data shapes, digests and signatures
  ["audit", "sandbox", "wasm", "tier"], // the hash chain; the OS sandbox; the Wasm toolkit and engine; what a tier's host is
  ["policy", "lock"], // the napkin and its loader; the hash-locked runtime
  ["artifacts"], // signed artifacts and the trust bundle
  ["oci"], // distribution: signed artifacts as OCI artifacts in a registry
  ["authn"], // bearer tokens
  ["attest", "router"], // launch statements; the tier seam and routing
  ["cell", "process", "container", "microvm"], // the tier drivers
  ["runtime"], // sessions: decide, record, call
  ["gateway"], // MCP over HTTP and stdio
  ["probes"], // hostile fixtures and prove
  ["report", "export"], // the prove report (HTML, Markdown) and audit export (OCSF, OpenTelemetry)
  ["cli"], // the cordon command
  ["bench", "testing"], // measurements and test helpers
];

function rankOf(folder: string): number {
  const r = LAYERS.findIndex((l) => l.includes(folder));
  assert.notEqual(r, -1, `folder src/${folder} is in no layer: add it to LAYERS`);
  return r;
}

function* sources(dir: string): Generator<string> {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) yield* sources(p);
    else if (name.endsWith(".ts") && !name.endsWith(".test.ts") && !name.includes(".fixture.") && !name.endsWith(".d.ts")) yield p;
  }
}

const folderOf = (file: string): string => {
  const parts = relative(SRC, file).split("/");
  return parts.length === 1 ? "(root)" : (parts[0] ?? "(root)");
};

void test("imports only go down the layers (tests and fixtures aside)", () => {
  const upward: string[] = [];
  for (const file of sources(SRC)) {
    const from = folderOf(file);
    for (const m of readFileSync(file, "utf8").matchAll(/from "(\.{1,2}\/[^"]+)"/g)) {
      const to = folderOf(resolve(dirname(file), m[1] ?? ""));
      if (rankOf(to) > rankOf(from)) upward.push(`${relative(SRC, file)} -> ${to}`);
    }
  }
  assert.deepEqual(upward, []);
});

void test("the shipped package (npm pack) carries no tests, fixtures, benchmarks or test helpers", () => {
  const r = spawnSync("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], { cwd: resolve(SRC, ".."), encoding: "utf8", env: { PATH: process.env["PATH"] ?? "/usr/bin:/bin", HOME: process.env["HOME"] ?? "/tmp" }, shell: false });
  assert.equal(r.status, 0, r.stderr);
  const files = (JSON.parse(r.stdout) as Array<{ files: Array<{ path: string }> }>)[0]?.files.map((f) => f.path) ?? [];
  assert.ok(files.includes("dist/cli/main.js") && files.includes("dist/probes/hostile-cell.js"), "the CLI and the probes ship");
  assert.deepEqual(files.filter((f) => /\.test\.|\.fixture\.|^dist\/bench\/|^dist\/testing\//.test(f)), []);
});

void test("every error class has its own stable ERR_<AREA>_<WHAT> code: no two classes share one", () => {
  const seen = new Map<string, string>();
  const dupes: string[] = [];
  for (const file of sources(SRC)) {
    for (const m of readFileSync(file, "utf8").matchAll(/class (\w+) extends [\w.]+ \{\s*(?:override )?readonly code = "([^"]+)"/g)) {
      const [, cls = "", code = ""] = m;
      assert.match(code, /^ERR_[A-Z0-9]+(_[A-Z0-9]+)*$/, `${cls} in ${relative(SRC, file)}`);
      const other = seen.get(code);
      if (other !== undefined) dupes.push(`${code}: ${other} and ${cls}`);
      seen.set(code, cls);
    }
  }
  assert.ok(seen.size > 50, `found ${seen.size} error classes`);
  assert.deepEqual(dupes, []);
});
