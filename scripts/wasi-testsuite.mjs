#!/usr/bin/env node
// Runs the official WASI test suite (WebAssembly/wasi-testsuite, branch prod/testsuite-base: the
// prebuilt wasm32-wasip1 modules and their JSON specs) against cordon's own WASI host and, for
// comparison, against node:wasi. The suite is not part of this repository: pass its path.
//
//   npm run build:ts && node scripts/wasi-testsuite.mjs /path/to/wasi-testsuite [--engine cordon|node|both] [--filter SUBSTR] [--json FILE]
//
// Each test runs in its own child process (a hang or crash is that test's failure), with the
// spec's args and env; its `root` (if any) is a COPY of the test's directory, preopened
// read-write as "/". Next to the copy sits a decoy directory with a secret. After every test
// the runner checks that nothing outside the copy changed: the suite checkout itself, the decoy
// and the scratch directory around the copy. Any difference is an ESCAPE and fails the run.
// Exit status: 0 only if there is no escape (and, with --min N, cordon passed at least N).

import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(HERE, "..");
const TIMEOUT_MS = 30_000;
const DECOY_SECRET = "DECOY-SECRET-OUTSIDE-THE-PREOPEN";

// ---------------------------------------------------------------------------------------------
// Child mode: run one module under one engine, print one JSON line.

async function runChild(engine, wasmPath, specJson, rootDir, outDir) {
  const spec = JSON.parse(specJson);
  const args = [path.basename(wasmPath), ...spec.args];
  const env = spec.env;
  const bytes = fs.readFileSync(wasmPath);
  const module = await WebAssembly.compile(bytes);
  if (engine === "cordon") {
    const { WasiHost, WasiExit } = await import(path.join(REPO, "dist/wasm/wasi/index.js"));
    const denials = [];
    const host = new WasiHost({
      args, env,
      preopens: rootDir === "" ? [] : [{ guestPath: "/", hostPath: rootDir, writable: true, enforcer: "wasi-jail" }],
      stdin: new Uint8Array(), stdoutCap: 1 << 20, stderrCap: 1 << 20,
      clock: true, random: true, maxOpenFiles: 128,
      onDenied: (d) => denials.push(d),
    });
    let exitCode = 0;
    let trap = null;
    try {
      const instance = new WebAssembly.Instance(module, { wasi_snapshot_preview1: host.imports() });
      host.bindMemory(instance.exports.memory);
      instance.exports._start();
    } catch (e) {
      if (e instanceof WasiExit) exitCode = e.code;
      else { trap = String(e?.stack ?? e).slice(0, 2000); exitCode = 134; }
    } finally {
      host.close();
    }
    const out = Buffer.from(host.stdout()).toString();
    const err = Buffer.from(host.stderr()).toString();
    return { exitCode, stdout: out, stderr: err, trap, denials };
  }
  // node:wasi, for comparison only: it needs real fds for stdio.
  const { WASI } = await import("node:wasi");
  const outPath = path.join(outDir, "stdout");
  const errPath = path.join(outDir, "stderr");
  const outFd = fs.openSync(outPath, "w");
  const errFd = fs.openSync(errPath, "w");
  const inFd = fs.openSync("/dev/null", "r");
  let exitCode = 0;
  let trap = null;
  try {
    const wasi = new WASI({
      version: "preview1", args, env, returnOnExit: true,
      preopens: rootDir === "" ? {} : { "/": rootDir },
      stdin: inFd, stdout: outFd, stderr: errFd,
    });
    const instance = new WebAssembly.Instance(module, wasi.getImportObject());
    exitCode = wasi.start(instance);
  } catch (e) {
    trap = String(e?.stack ?? e).slice(0, 2000);
    exitCode = 134;
  } finally {
    fs.closeSync(outFd);
    fs.closeSync(errFd);
    fs.closeSync(inFd);
  }
  return { exitCode, stdout: fs.readFileSync(outPath, "utf8"), stderr: fs.readFileSync(errPath, "utf8"), trap, denials: [] };
}

// ---------------------------------------------------------------------------------------------
// Parent mode.

/** The legacy spec (args/env/root/exit_code/stdout) or the operation-based one, normalised. */
function readSpec(wasmPath) {
  const jsonPath = wasmPath.replace(/\.wasm$/, ".json");
  const raw = fs.existsSync(jsonPath) ? JSON.parse(fs.readFileSync(jsonPath, "utf8")) : {};
  const spec = { args: [], env: {}, root: null, exitCode: 0, stdout: "", stderr: null, unsupported: null };
  if (Array.isArray(raw.operations)) {
    if ((raw.proposals ?? []).length > 0) spec.unsupported = `proposals ${raw.proposals.join(",")}`;
    for (const op of raw.operations) {
      switch (op.type) {
        case "run":
          spec.args = op.args ?? [];
          spec.env = op.env ?? {};
          spec.root = op.root ?? null;
          break;
        case "wait":
          spec.exitCode = op.exit_code ?? 0;
          break;
        case "read":
          if ((op.id ?? "stdout") === "stdout") spec.stdout = op.payload ?? "";
          else spec.stderr = op.payload ?? "";
          break;
        default:
          spec.unsupported = `operation ${op.type}`;
      }
    }
  } else {
    spec.args = raw.args ?? [];
    spec.env = raw.env ?? {};
    spec.root = raw.root ?? raw.dirs?.[0] ?? null;
    spec.exitCode = raw.exit_code ?? 0;
    spec.stdout = raw.stdout ?? "";
    spec.stderr = raw.stderr ?? null;
  }
  return spec;
}

/** Every path under `dir` with its type, mode, size and content hash (symlinks by target). */
function snapshot(dir) {
  const out = new Map();
  const walk = (p, rel) => {
    let st;
    try {
      st = fs.lstatSync(p);
    } catch {
      return;
    }
    let what;
    if (st.isSymbolicLink()) what = `link:${fs.readlinkSync(p)}`;
    else if (st.isFile()) what = `file:${st.mode.toString(8)}:${createHash("sha256").update(fs.readFileSync(p)).digest("hex")}`;
    else if (st.isDirectory()) what = `dir:${st.mode.toString(8)}`;
    else what = `other:${st.mode.toString(8)}`;
    out.set(rel, `${what}:${st.mtimeMs}`);
    if (st.isDirectory()) for (const name of fs.readdirSync(p).sort()) walk(path.join(p, name), rel === "" ? name : `${rel}/${name}`);
  };
  walk(dir, "");
  return out;
}

function diff(before, after) {
  const changes = [];
  for (const [k, v] of before) if (after.get(k) !== v) changes.push(after.has(k) ? `changed ${k}` : `removed ${k}`);
  for (const k of after.keys()) if (!before.has(k)) changes.push(`added ${k}`);
  return changes;
}

function findTests(suite) {
  const found = [];
  const walk = (dir) => {
    for (const d of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, d.name);
      if (d.isDirectory()) {
        if (!d.name.endsWith(".dir")) walk(p);
      } else if (d.isFile() && d.name.endsWith(".wasm") && path.basename(dir) === "wasm32-wasip1" && p.includes(`${path.sep}testsuite${path.sep}`)) {
        found.push(p);
      }
    }
  };
  walk(suite);
  return found.sort();
}

function removeCleanups(dir) {
  if (!fs.existsSync(dir)) return;
  for (const name of fs.readdirSync(dir)) {
    const p = path.join(dir, name);
    if (name.endsWith(".cleanup")) fs.rmSync(p, { recursive: true, force: true });
    else if (fs.lstatSync(p).isDirectory()) removeCleanups(p);
  }
}

function runOne(engine, wasm, spec, scratch) {
  const testDir = path.dirname(wasm);
  const box = fs.mkdtempSync(path.join(scratch, `${engine}-`));
  const decoy = path.join(box, "decoy");
  fs.mkdirSync(decoy);
  fs.writeFileSync(path.join(decoy, "secret.txt"), DECOY_SECRET);
  fs.writeFileSync(path.join(box, "secret.txt"), DECOY_SECRET);
  let root = "";
  const copy = path.join(box, "copy");
  if (spec.root !== null) {
    fs.cpSync(testDir, copy, { recursive: true, verbatimSymlinks: true, filter: (src) => !src.endsWith(".wasm") && !src.endsWith(".json") });
    removeCleanups(copy);
    root = path.join(copy, spec.root);
  }
  const outDir = path.join(scratch, `${engine}-out-${path.basename(box)}`);
  fs.mkdirSync(outDir);
  const watched = { suite: snapshot(testDir), decoy: snapshot(decoy) };
  const boxNames = fs.readdirSync(box).sort().join(",");
  const childSpec = JSON.stringify({ args: spec.args, env: spec.env });
  const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), "--child", engine, wasm, childSpec, root, outDir], {
    encoding: "utf8", timeout: TIMEOUT_MS, cwd: outDir, env: { PATH: process.env.PATH ?? "/usr/bin:/bin" }, maxBuffer: 16 << 20,
  });
  const escapes = [
    ...diff(watched.suite, snapshot(testDir)).map((c) => `suite: ${c}`),
    ...diff(watched.decoy, snapshot(decoy)).map((c) => `decoy: ${c}`),
  ];
  if (fs.readdirSync(box).sort().join(",") !== boxNames) escapes.push(`scratch: ${fs.readdirSync(box).join(",")} (was ${boxNames})`);
  fs.rmSync(box, { recursive: true, force: true });
  fs.rmSync(outDir, { recursive: true, force: true });
  let result;
  try {
    result = JSON.parse(r.stdout.trim().split("\n").pop() ?? "");
  } catch {
    result = { exitCode: null, stdout: "", stderr: r.stderr, trap: r.error ? String(r.error) : `child exited ${r.status} ${r.signal ?? ""}`, denials: [] };
  }
  const problems = [];
  if (result.exitCode !== spec.exitCode) problems.push(`exit ${result.exitCode}, expected ${spec.exitCode}`);
  if (result.stdout !== spec.stdout) problems.push(`stdout ${JSON.stringify(result.stdout.slice(0, 200))}, expected ${JSON.stringify(spec.stdout)}`);
  if (spec.stderr !== null && result.stderr !== spec.stderr) problems.push(`stderr differs`);
  return { pass: problems.length === 0 && escapes.length === 0, problems, escapes, result };
}

function argValue(argv, name) {
  const i = argv.indexOf(name);
  return i < 0 ? null : argv[i + 1] ?? null;
}

async function main() {
  const argv = process.argv.slice(2);
  if (argv[0] === "--child") {
    const [, engine, wasm, specJson, root, outDir] = argv;
    const r = await runChild(engine, wasm, specJson, root, outDir);
    process.stdout.write(`\n${JSON.stringify(r)}\n`);
    return;
  }
  const suite = argv.find((a, i) => !a.startsWith("--") && (i === 0 || !argv[i - 1].startsWith("--")));
  if (suite === undefined || !fs.existsSync(suite)) {
    console.error("usage: node scripts/wasi-testsuite.mjs /path/to/wasi-testsuite [--engine cordon|node|both] [--filter S] [--json FILE] [--min N] [--verbose]");
    process.exit(2);
  }
  const engineArg = argValue(argv, "--engine") ?? "both";
  const engines = engineArg === "both" ? ["cordon", "node"] : [engineArg];
  const filter = argValue(argv, "--filter");
  const verbose = argv.includes("--verbose");
  const min = argValue(argv, "--min");
  const tests = findTests(path.resolve(suite)).filter((t) => filter === null || t.includes(filter));
  const scratch = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "cordon-wasi-suite-")));
  const totals = Object.fromEntries(engines.map((e) => [e, { pass: 0, fail: 0, escapes: 0, failed: [] }]));
  const rows = [];
  try {
    for (const wasm of tests) {
      const name = path.relative(path.resolve(suite), wasm).replace(/\/testsuite\/wasm32-wasip1\//, "/").replace(/^tests\//, "");
      const spec = readSpec(wasm);
      const row = { name };
      const cells = [];
      for (const engine of engines) {
        const r = spec.unsupported !== null
          ? { pass: false, problems: [`unsupported spec: ${spec.unsupported}`], escapes: [], result: null }
          : runOne(engine, wasm, spec, scratch);
        row[engine] = { pass: r.pass, problems: r.problems, escapes: r.escapes };
        const t = totals[engine];
        if (r.pass) t.pass++;
        else { t.fail++; t.failed.push(name); }
        if (r.escapes.length > 0) t.escapes++;
        cells.push(`${engine}=${r.pass ? "pass" : "FAIL"}${r.escapes.length > 0 ? " ESCAPE" : ""}`);
        if (!r.pass && verbose) {
          cells.push(`\n    [${engine}] ${[...r.problems, ...r.escapes].join("; ")}`);
          if (r.result?.stderr) cells.push(`\n    [${engine}] stderr: ${r.result.stderr.trim().split("\n").slice(-4).join(" | ").slice(0, 600)}`);
          if (r.result?.trap) cells.push(`\n    [${engine}] trap: ${r.result.trap.split("\n")[0]}`);
        }
      }
      rows.push(row);
      console.log(`${name.padEnd(60)} ${cells.join("  ")}`);
    }
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
  console.log("");
  for (const [engine, t] of Object.entries(totals)) {
    console.log(`${engine}: ${t.pass}/${tests.length} passed, ${t.fail} failed, ${t.escapes} escapes`);
    if (t.failed.length > 0) console.log(`  failed: ${t.failed.join(", ")}`);
  }
  const jsonOut = argValue(argv, "--json");
  if (jsonOut !== null) fs.writeFileSync(jsonOut, JSON.stringify({ tests: tests.length, totals, rows }, null, 2));
  const escaped = Object.values(totals).some((t) => t.escapes > 0);
  const short = min !== null && (totals.cordon?.pass ?? 0) < Number(min);
  process.exit(escaped || short ? 1 : 0);
}

await main();
