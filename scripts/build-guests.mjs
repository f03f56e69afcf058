#!/usr/bin/env node
// Builds every cordon guest from source in guests/:
//   examples/modules/<name>.wasm  example tools    (+ examples/modules/manifest.json)
//   build/fixtures/<name>.wasm  hostile probes     (+ build/fixtures/manifest.json)
//
// Toolchains: clang + wasm-ld + wasi-libc for C, AssemblyScript (asc) for .ts, wabt for .wat.
// Output is reproducible: the same sources and toolchain give the same bytes (no debug info or
// paths; the function-name section is kept so traps name guest functions).
// Every module's imports and exports are checked against the table below: the imports are
// what cordon's grants are judged on, so a change in them must be a deliberate edit here.
//
// Environment: CLANG (default "clang"), WASI_SYSROOT (default: found among the usual places).

import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const INSTALL_HINT = "run: apt-get install clang lld wasi-libc libclang-rt-dev-wasm32";
const W = "wasi_snapshot_preview1";
const COMMAND = ["memory", "_start"];
const REACTOR = ["memory", "cordon_alloc", "handle_message", "get_response"];

// What gets built, from what, and the exact imports/exports each module must end up with.
const TARGETS = [
  // ---- example tools ----
  {
    name: "text-stats", out: "guests", lang: "as", src: "guests/as/text-stats.ts",
    as: { runtime: "stub", start: "_start" },
    imports: ["cordon.log", "env.abort", `${W}.fd_read`, `${W}.fd_write`, `${W}.proc_exit`],
    exports: COMMAND,
  },
  {
    name: "notes", out: "guests", lang: "as", src: "guests/as/notes.ts",
    as: { runtime: "incremental", start: "_initialize" },
    imports: ["env.abort", `${W}.clock_time_get`, `${W}.random_get`],
    exports: [...REACTOR, "_initialize"],
  },
  {
    name: "file-stats", out: "guests", lang: "c", src: "guests/c/file-stats.c",
    imports: [
      `${W}.environ_get`, `${W}.environ_sizes_get`, `${W}.fd_close`, `${W}.fd_fdstat_get`,
      `${W}.fd_fdstat_set_flags`, `${W}.fd_prestat_dir_name`, `${W}.fd_prestat_get`, `${W}.fd_read`,
      `${W}.fd_seek`, `${W}.fd_write`, `${W}.path_open`, `${W}.proc_exit`,
    ],
    exports: COMMAND,
  },
  {
    name: "cpu-burn", out: "guests", lang: "c", src: "guests/c/cpu-burn.c",
    imports: [`${W}.fd_read`, `${W}.fd_write`, `${W}.proc_exit`],
    exports: COMMAND,
  },
  {
    name: "echo", out: "guests", lang: "wat", src: "guests/wat/echo.wat",
    imports: [`${W}.fd_read`, `${W}.fd_write`, `${W}.proc_exit`],
    exports: COMMAND,
  },
  {
    name: "ask-model", out: "guests", lang: "wat", src: "guests/wat/ask-model.wat",
    imports: ["cordon.progress", "cordon.sample", `${W}.fd_read`, `${W}.fd_write`, `${W}.proc_exit`],
    exports: COMMAND,
  },
  // ---- hostile probe fixtures (each attacks one policy line; see the comment atop each) ----
  {
    name: "fs-open", out: "fixtures", lang: "c", src: "guests/fixtures/fs-open.c",
    imports: [`${W}.fd_read`, `${W}.fd_write`, `${W}.path_create_directory`, `${W}.path_open`, `${W}.proc_exit`],
    exports: COMMAND,
  },
  {
    name: "fs-race", out: "fixtures", lang: "c", src: "guests/fixtures/fs-race.c",
    imports: [`${W}.fd_close`, `${W}.fd_read`, `${W}.fd_write`, `${W}.path_open`, `${W}.proc_exit`],
    exports: COMMAND,
  },
  {
    name: "env-read", out: "fixtures", lang: "c", src: "guests/fixtures/env-read.c",
    imports: [`${W}.environ_get`, `${W}.environ_sizes_get`, `${W}.fd_write`, `${W}.proc_exit`],
    exports: COMMAND,
  },
  fixture("import-clock", [`${W}.clock_time_get`, `${W}.fd_write`]),
  fixture("import-random", [`${W}.fd_write`, `${W}.random_get`]),
  fixture("import-log", ["cordon.log", `${W}.fd_write`]),
  fixture("import-socket", [`${W}.fd_write`, `${W}.sock_accept`]),
  fixture("import-foreign", ["env.system", `${W}.fd_write`]),
  fixture("import-progress", ["cordon.progress", `${W}.fd_write`]),
  fixture("sample-flood", ["cordon.sample", `${W}.fd_read`, `${W}.fd_write`]),
  fixture("content-all", [`${W}.fd_write`]),
  fixture("content-bogus", [`${W}.fd_write`]),
  fixture("structured-missing", [`${W}.fd_write`]),
  fixture("memory-bomb", [`${W}.fd_write`]),
  fixture("spin", []),
  fixture("deep-recursion", []),
  fixture("output-flood", [`${W}.fd_write`]),
  fixture("trap", []),
  fixture("reactor-bad", [], REACTOR),
];

function fixture(name, imports, exports = COMMAND) {
  return { name, out: "fixtures", lang: "wat", src: `guests/fixtures/${name}.wat`, imports, exports };
}

class BuildError extends Error {}

function fail(message) {
  throw new BuildError(message);
}

// clang -O2 runs any `wasm-opt` it finds on PATH (npm puts binaryen's, from assemblyscript, in
// node_modules/.bin), which changes the bytes and adds post-MVP opcodes. Toolchain children get
// a PATH without any directory holding a wasm-opt, so output depends on clang alone.
const TOOLCHAIN_ENV = {
  ...process.env,
  PATH: (process.env.PATH ?? "")
    .split(path.delimiter)
    .filter((dir) => dir !== "" && !existsSync(path.join(dir, "wasm-opt")))
    .join(path.delimiter),
};

function run(file, args, what) {
  const r = spawnSync(file, args, { cwd: ROOT, shell: false, encoding: "utf8", maxBuffer: 16 << 20, env: TOOLCHAIN_ENV });
  if (r.error) fail(`${what}: cannot run ${file}: ${r.error.message}`);
  if (r.status !== 0) {
    const output = `${r.stdout ?? ""}${r.stderr ?? ""}`.trim();
    fail(`${what} failed (exit ${r.status ?? r.signal}):\n  ${file} ${args.join(" ")}\n${output}`);
  }
  return r.stdout;
}

// Like run(), without blocking: the AssemblyScript builds (seconds each) run side by side.
function runAsync(file, args, what) {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { cwd: ROOT, shell: false, stdio: ["ignore", "pipe", "pipe"], env: TOOLCHAIN_ENV });
    let output = "";
    child.stdout.setEncoding("utf8").on("data", (d) => (output += d));
    child.stderr.setEncoding("utf8").on("data", (d) => (output += d));
    child.on("error", (e) => reject(new BuildError(`${what}: cannot run ${file}: ${e.message}`)));
    child.on("close", (code, signal) => {
      if (code === 0) resolve();
      else reject(new BuildError(`${what} failed (exit ${code ?? signal}):\n  ${file} ${args.join(" ")}\n${output.trim()}`));
    });
  });
}

function probe(file, args) {
  const r = spawnSync(file, args, { shell: false, encoding: "utf8", env: TOOLCHAIN_ENV });
  return r.error || r.status !== 0 ? null : r.stdout.trim();
}

// ---- toolchain discovery -------------------------------------------------------------------

function findClangToolchain() {
  const clang = process.env.CLANG || "clang";
  const version = probe(clang, ["--version"]);
  if (version === null) fail(`clang not found (tried "${clang}"); ${INSTALL_HINT}`);
  const target = "--target=wasm32-wasi";
  const ld = probe(clang, [target, "-print-prog-name=wasm-ld"]);
  if (!ld || probe(ld, ["--version"]) === null) fail(`wasm-ld not found (clang suggested "${ld}"); ${INSTALL_HINT}`);
  const resourceDir = probe(clang, [target, "-print-resource-dir"]);
  if (!resourceDir || !existsSync(path.join(resourceDir, "include", "stddef.h"))) {
    fail(`clang's resource headers not found (resource dir "${resourceDir}"); ${INSTALL_HINT}`);
  }
  const builtins = probe(clang, [target, "-print-libgcc-file-name"]);
  if (!builtins || !existsSync(builtins)) {
    fail(`compiler-rt builtins for wasm32 not found (expected "${builtins}"); ${INSTALL_HINT}`);
  }
  // A sysroot has lib/wasm32-wasi/{libc.a,crt1-command.o} and headers in include/wasm32-wasi
  // (Debian's wasi-libc, with sysroot /usr; newer wasi-sdk) or include/ (older wasi-sdk).
  const candidates = process.env.WASI_SYSROOT
    ? [process.env.WASI_SYSROOT]
    : ["/usr", "/usr/share/wasi-sysroot", "/opt/wasi-sdk/share/wasi-sysroot"];
  for (const sysroot of candidates) {
    const lib = path.join(sysroot, "lib", "wasm32-wasi");
    if (!existsSync(path.join(lib, "libc.a")) || !existsSync(path.join(lib, "crt1-command.o"))) continue;
    for (const include of [path.join(sysroot, "include", "wasm32-wasi"), path.join(sysroot, "include")]) {
      if (existsSync(path.join(include, "wasi", "api.h"))) {
        return { clang, version: version.split("\n")[0], sysroot, include, resourceDir };
      }
    }
  }
  return fail(`no WASI sysroot with wasi-libc found (looked in ${candidates.join(", ")}); ${INSTALL_HINT}`);
}

// ---- compilers -----------------------------------------------------------------------------

function buildC(t, outFile, tc) {
  const args = [
    "--target=wasm32-wasi",
    `--sysroot=${tc.sysroot}`,
    // Headers from wasi-libc and clang only: never the host's /usr/include or /usr/local/include.
    "-nostdlibinc",
    "-isystem", path.join(tc.resourceDir, "include"),
    "-isystem", tc.include,
    "-mexec-model=command",
    "-O2",
    "-std=c11",
    "-Wall", "-Wextra", "-Werror",
    "-DNDEBUG",
    `-ffile-prefix-map=${ROOT}${path.sep}=`,
    "-Wl,--strip-debug", // drops DWARF, keeps the function-name section
    "-Wl,-z,stack-size=65536",
    "-o", outFile,
    t.src,
  ];
  run(tc.clang, args, `clang ${t.src}`);
}

const ASC = path.join(ROOT, "node_modules", "assemblyscript", "bin", "asc.js");
// MVP plus nothing: every guest uses the same plain instruction set as the C and WAT ones.
const AS_DISABLED = "bulk-memory,sign-extension,nontrapping-f2i,mutable-globals";

function buildAs(t, outFile) {
  if (!existsSync(ASC)) fail(`AssemblyScript not installed (${ASC}); run: npm ci`);
  const args = [
    ASC, t.src, "-o", outFile,
    "--runtime", t.as.runtime,
    "--exportStart", t.as.start,
    "-O3", "--noAssert",
    "--debug", // keeps the function-name section; no source maps, no paths
    "--disable", AS_DISABLED,
  ];
  return runAsync(process.execPath, args, `asc ${t.src}`);
}

let wabt;
async function loadWabt() {
  if (!wabt) {
    try {
      wabt = await (await import("wabt")).default();
    } catch (e) {
      fail(`wabt not installed (${e.message}); run: npm ci`);
    }
  }
  return wabt;
}

async function buildWat(t, outFile) {
  await loadWabt();
  const text = readFileSync(path.join(ROOT, t.src), "utf8");
  let mod;
  try {
    mod = wabt.parseWat(path.basename(t.src), text, {});
    mod.resolveNames();
    mod.validate();
  } catch (e) {
    fail(`wat2wasm ${t.src}: ${e.message}`);
  }
  const { buffer } = mod.toBinary({ write_debug_names: true });
  mod.destroy();
  writeFileSync(outFile, buffer);
}

// ---- checks and reports --------------------------------------------------------------------

const MVP_ONLY = {
  exceptions: false, mutable_globals: false, sat_float_to_int: false, sign_extension: false, simd: false,
  threads: false, multi_value: false, tail_call: false, bulk_memory: false, reference_types: false,
  annotations: false, gc: false, memory64: false, extended_const: false, relaxed_simd: false,
  function_references: false, code_metadata: false, multi_memory: false,
};

function sameList(a, b) {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function checkInterface(t, bytes) {
  let mod;
  try {
    mod = new WebAssembly.Module(bytes);
  } catch (e) {
    fail(`${t.name}: the built module does not compile: ${e.message}`);
  }
  const imports = WebAssembly.Module.imports(mod).map((i) => {
    if (i.kind !== "function") fail(`${t.name}: imports a ${i.kind} (${i.module}.${i.name}); guests import functions only`);
    return `${i.module}.${i.name}`;
  }).sort();
  const expected = [...t.imports].sort();
  if (!sameList(imports, expected)) {
    fail(`${t.name}: imports changed; a tool's imports decide its grants, so update TARGETS deliberately.\n` +
      `  expected: ${expected.join(" ") || "(none)"}\n  actual:   ${imports.join(" ") || "(none)"}`);
  }
  // Guests stay within WebAssembly 1.0 (MVP) so any engine, and cordon's metering, takes them.
  try {
    const parsed = wabt.readWasm(new Uint8Array(bytes), { readDebugNames: false, ...MVP_ONLY });
    parsed.validate();
    parsed.destroy();
  } catch (e) {
    fail(`${t.name}: uses WebAssembly features beyond 1.0 (MVP): ${e.message.trim()}`);
  }
  const exports = WebAssembly.Module.exports(mod).map((e) => e.name).sort();
  const wanted = [...t.exports].sort();
  if (!sameList(exports, wanted)) {
    fail(`${t.name}: exports are ${exports.join(" ")}, expected exactly ${wanted.join(" ")}`);
  }
  return { imports, exports };
}

async function main() {
  const started = Date.now();
  await loadWabt();
  const needsClang = TARGETS.some((t) => t.lang === "c");
  const tc = needsClang ? findClangToolchain() : null;

  // Example tools go beside the example policy that pins their digests; fixtures stay internal.
  const dirs = { guests: path.join(ROOT, "examples", "modules"), fixtures: path.join(ROOT, "build", "fixtures") };
  for (const dir of Object.values(dirs)) {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
  }

  const rel = (t) => path.relative(ROOT, path.join(dirs[t.out], `${t.name}.wasm`));
  for (const t of TARGETS) {
    if (!existsSync(path.join(ROOT, t.src))) fail(`${t.name}: source ${t.src} is missing`);
  }
  const asBuilds = Promise.allSettled(TARGETS.filter((t) => t.lang === "as").map((t) => buildAs(t, rel(t))));
  for (const t of TARGETS) {
    if (t.lang === "c") buildC(t, rel(t), tc);
    else if (t.lang === "wat") await buildWat(t, path.join(ROOT, rel(t)));
  }
  for (const r of await asBuilds) if (r.status === "rejected") throw r.reason;

  const rows = [];
  const manifests = { guests: {}, fixtures: {} };
  for (const t of TARGETS) {
    const bytes = readFileSync(path.join(ROOT, rel(t)));
    checkInterface(t, bytes);
    const sha256 = createHash("sha256").update(bytes).digest("hex");
    manifests[t.out][t.name] = { sha256, bytes: bytes.length };
    rows.push({ name: t.name, dir: t.out, bytes: bytes.length, sha256 });
  }

  // Every source file in a guest directory must be built by some target.
  const built = new Set(TARGETS.map((t) => t.src));
  for (const dir of ["guests/as", "guests/c", "guests/wat", "guests/fixtures"]) {
    for (const f of readdirSync(path.join(ROOT, dir))) {
      const src = `${dir}/${f}`;
      if (/\.(c|ts|wat)$/.test(f) && !built.has(src)) fail(`${src} is not built by any target in scripts/build-guests.mjs`);
    }
  }

  for (const [out, manifest] of Object.entries(manifests)) {
    writeFileSync(path.join(dirs[out], "manifest.json"), `${JSON.stringify(manifest, null, 2)}\n`);
  }

  const nameWidth = Math.max(...rows.map((r) => `${r.dir}/${r.name}`.length));
  console.log(`${"module".padEnd(nameWidth)}  ${"bytes".padStart(7)}  sha256`);
  for (const r of rows) {
    console.log(`${`${r.dir}/${r.name}`.padEnd(nameWidth)}  ${String(r.bytes).padStart(7)}  ${r.sha256}`);
  }
  if (tc) console.log(`toolchain: ${tc.version}; sysroot ${tc.sysroot} (headers ${tc.include})`);
  console.log(`built ${rows.length} modules in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

main().catch((e) => {
  if (e instanceof BuildError) {
    console.error(`build-guests: ${e.message}`);
    process.exit(1);
  }
  throw e;
});
