#!/usr/bin/env node
// Builds cordon's container images reproducibly from Debian packages: for each recipe in
// images/*.json, mmdebstrap installs the recipe's packages from one suite of one mirror
// (SOURCE_DATE_EPOCH fixed), then src/container/image/normalize-image.ts sorts and normalises
// the tar (root:root, clamped mtimes, no device nodes, no setuid/setgid bits, cordon's mount
// points added). Output: examples/images/<name>.tar, whose sha256 the example policy pins.
//
// Skipped when the output exists and its inputs did not change (the recipe, this script and
// the normaliser's code, hashed into examples/images/<name>.inputs). A recipe records the
// package versions and the digest of its last build ("lock"); a build that installs other
// versions or gives another digest fails, naming what moved, unless run with --relock (then
// the recipe is updated and the new digest printed: put it in the policy). Needs root and
// mmdebstrap (scripts/setup.sh installs it).
//
//   node scripts/build-images.mjs [--relock] [--force] [NAME...]
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync, openSync, writeSync, closeSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const RECIPES = path.join(ROOT, "images");
const OUT = path.join(ROOT, "examples", "images");
const CODE = ["dist/sandbox/image/normalize-image.js", "dist/sandbox/image/tar.js", "dist/sandbox/image/image-rules.js"];
const args = process.argv.slice(2);
const relock = args.includes("--relock");
const force = args.includes("--force");
const only = args.filter((a) => !a.startsWith("--"));

const sha256 = (bytes) => createHash("sha256").update(bytes).digest("hex");
const say = (line) => process.stdout.write(`images: ${line}\n`);

function inputsDigest(recipeBytes) {
  const h = createHash("sha256");
  h.update(recipeBytes);
  h.update(readFileSync(fileURLToPath(import.meta.url)));
  for (const f of CODE) h.update(readFileSync(path.join(ROOT, f)));
  return h.digest("hex");
}

function fail(message) {
  process.stderr.write(`build-images: ${message}\n`);
  process.exit(1);
}

const { normalizeImage, CORDON_MOUNT_POINTS } = await import(path.join(ROOT, "dist/sandbox/image/normalize-image.js"));
mkdirSync(OUT, { recursive: true });
for (const file of readdirSync(RECIPES).filter((f) => f.endsWith(".json")).sort()) {
  const name = file.slice(0, -5);
  if (only.length > 0 && !only.includes(name)) continue;
  const recipePath = path.join(RECIPES, file);
  const recipeBytes = readFileSync(recipePath);
  const recipe = JSON.parse(recipeBytes.toString("utf8"));
  const out = path.join(OUT, `${name}.tar`);
  const stamp = path.join(OUT, `${name}.inputs`);
  // The lock (packages, sha256) is an output of a relock, not an input: hash the recipe without it.
  const { packages: _p, sha256: _s, ...inputs } = recipe;
  const digest = inputsDigest(Buffer.from(JSON.stringify(inputs)));
  if (!force && existsSync(out) && existsSync(stamp) && readFileSync(stamp, "utf8").trim() === digest) {
    say(`${name}.tar is up to date (sha256:${recipe.sha256 ?? "unlocked"}; inputs unchanged)`);
    continue;
  }
  if (process.getuid?.() !== 0) fail(`building ${name} needs root (mmdebstrap installs packages into a chroot); run as root or with sudo`);
  const mm = spawnSync("mmdebstrap", ["--version"], { encoding: "utf8", shell: false });
  if (mm.error || mm.status !== 0) fail("mmdebstrap is missing: run scripts/setup.sh (apt-get install mmdebstrap)");
  say(`building ${name}: ${recipe.include.join(", ")} from Debian ${recipe.suite} (${recipe.variant}), with ${mm.stdout.trim()}; this takes 1-2 minutes`);
  const started = Date.now();
  const tmp = path.join(OUT, `.${name}.raw-${process.pid}.tar`);
  const mmArgs = [
    `--variant=${recipe.variant}`,
    `--components=${recipe.components.join(",")}`,
    `--include=${recipe.include.join(",")}`,
    ...recipe.dpkgOptions.map((o) => `--dpkgopt=${o}`),
    "--format=tar",
    "--quiet",
    recipe.suite,
    tmp,
    recipe.mirror,
  ];
  const env = { PATH: "/usr/sbin:/usr/bin:/sbin:/bin", LANG: "C.UTF-8", SOURCE_DATE_EPOCH: String(recipe.sourceDateEpoch), TMPDIR: process.env.TMPDIR ?? "/tmp" };
  const r = spawnSync("mmdebstrap", mmArgs, { stdio: ["ignore", "inherit", "inherit"], env, shell: false });
  if (r.error || r.status !== 0) {
    rmSync(tmp, { force: true });
    fail(`mmdebstrap failed (${r.error?.message ?? `status ${r.status}`})`);
  }
  say(`${name}: mmdebstrap done in ${((Date.now() - started) / 1000).toFixed(1)} s; normalising`);
  const raw = readFileSync(tmp);
  rmSync(tmp, { force: true });
  const norm = normalizeImage(raw, { mtime: recipe.sourceDateEpoch, ...CORDON_MOUNT_POINTS });
  const h = createHash("sha256");
  for (const c of norm.chunks) h.update(c);
  const digestOut = h.digest("hex");
  const moved = [];
  if (recipe.packages !== undefined) {
    const names = new Set([...Object.keys(recipe.packages), ...Object.keys(norm.packages)]);
    for (const n of [...names].sort()) if (recipe.packages[n] !== norm.packages[n]) moved.push(`${n}: locked ${recipe.packages[n] ?? "(absent)"}, built ${norm.packages[n] ?? "(absent)"}`);
  }
  if (!relock && (moved.length > 0 || (recipe.sha256 !== undefined && recipe.sha256 !== digestOut))) {
    fail(`${name}: the build differs from the lock in ${recipePath} (sha256:${digestOut} vs sha256:${recipe.sha256}).\n${moved.length > 0 ? `packages moved on the mirror:\n  ${moved.join("\n  ")}` : "same packages, other bytes: the normaliser or mmdebstrap changed"}\nrun with --relock to accept the new build, then pin sha256:${digestOut} in the policy`);
  }
  const part = `${out}.part-${process.pid}`;
  const fd = openSync(part, "w", 0o644);
  for (const c of norm.chunks) {
    let at = 0;
    while (at < c.length) at += writeSync(fd, c, at, c.length - at);
  }
  closeSync(fd);
  renameSync(part, out);
  writeFileSync(stamp, `${digest}\n`);
  if (relock) {
    writeFileSync(recipePath, `${JSON.stringify({ ...inputs, packages: norm.packages, sha256: digestOut }, null, 2)}\n`);
    say(`${name}: relocked ${Object.keys(norm.packages).length} packages; pin sha256:${digestOut} in the policy`);
  }
  const mb = (norm.chunks.reduce((n, c) => n + c.length, 0) / 2 ** 20).toFixed(0);
  say(`${name}.tar: ${norm.entries} entries, ${mb} MiB, sha256:${digestOut} (dropped ${norm.dropped.length} device nodes, cleared setuid/setgid on ${norm.cleared.length}) in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}
