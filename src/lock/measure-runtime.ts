// Measures the runtime as it is on disk now: the components cordon's lock covers, each with
// the digest of every file. `cordon lock` signs a measurement; start-up compares a fresh one
// with the signed one. What to measure is decided here, in code, never by the manifest, so a
// validly signed lock that leaves something out does not make it unchecked.
import { createHash } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import { Worker } from "node:worker_threads";
import { join } from "node:path";
import { findAt, findInPath, type FoundBinary } from "./find-binary.js";
import { digestEntries, listTree, type EntryKind, type Measured } from "./hash-files.js";
import { byName, type FileDigest, type LockedComponent } from "./manifest.js";

/** How a host binary is found: searched in PATH (as spawn would) or at a fixed path. */
export type Locate = { readonly inPath: string } | { readonly at: string };

export interface HostBinarySpec {
  readonly name: string;
  readonly locate: Locate;
}

/**
 * The sandbox binaries cordon may run: bwrap for every cell, the process tier's interpreter,
 * and the container and microVM runners. Each is recorded present (with its digest) or absent.
 */
export const SANDBOX_BINARIES: readonly HostBinarySpec[] = Object.freeze([
  { name: "sandbox:bwrap", locate: { inPath: "bwrap" } },
  { name: "sandbox:python3", locate: { at: "/usr/bin/python3" } },
  { name: "sandbox:crun", locate: { at: "/usr/bin/crun" } },
  { name: "sandbox:runsc", locate: { inPath: "runsc" } },
  { name: "sandbox:qemu-system-x86_64", locate: { inPath: "qemu-system-x86_64" } },
]);

/** cordon's own built files, relative to the package root. */
export const OWN_TREES: readonly { readonly name: string; readonly dir: string }[] = Object.freeze([
  { name: "cordon:dist", dir: "dist" },
  { name: "cordon:native", dir: "build/native" },
]);
export const OWN_FILES = Object.freeze({ name: "cordon:package", files: ["package.json", "package-lock.json"] as const });

export interface MeasureOptions {
  /** The node binary running cordon (default process.execPath). */
  readonly execPath?: string;
  /** PATH used to find sandbox binaries (default process.env.PATH). */
  readonly searchPath?: string;
  readonly hostBinaries?: readonly HostBinarySpec[];
}

export interface RuntimeMeasurement {
  /** npm components npm may leave uninstalled (lock records them absent rather than refusing). */
  readonly optional: ReadonlySet<string>;
  /** Sorted by name. */
  readonly components: readonly LockedComponent[];
  /** Entries under node_modules that package-lock.json does not list (package-root-relative). */
  readonly strays: readonly string[];
  readonly files: number;
  readonly bytes: number;
}

/** Bytes already in memory, a large host file to stream, or an entry of a listed tree. */
type Source = { readonly bytes: Buffer } | { readonly stream: string } | { readonly abs: string; readonly kind: EntryKind };

interface Draft {
  readonly name: string;
  readonly base: "package" | "host";
  readonly paths: readonly string[];
  readonly integrity?: string;
  /** key in `files` → what to hash; null when the component is absent. */
  readonly toHash: ReadonlyMap<string, Source> | null;
}

interface LockfilePackage {
  readonly key: string;
  readonly name: string;
  readonly version: string;
  readonly integrity?: string;
  /** Where its files are, relative to the package root (differs from `key` for a link). */
  readonly dir: string;
  /** npm may leave it uninstalled (a platform-specific optional dependency). */
  readonly optional: boolean;
}

export async function measureRuntime(packageRoot: string, options: MeasureOptions = {}): Promise<RuntimeMeasurement> {
  const lockfileBytes = await readOptional(join(packageRoot, "package-lock.json"));
  const { runtime, allKeys } = runtimePackages(lockfileBytes);
  const drafts: Draft[] = await Promise.all([
    hostDraft("node", { at: options.execPath ?? process.execPath }, ""),
    ...(options.hostBinaries ?? SANDBOX_BINARIES).map((s) => hostDraft(s.name, s.locate, options.searchPath ?? process.env["PATH"] ?? "")),
    ...OWN_TREES.map((t) => treeDraft(packageRoot, t.name, t.dir, t.dir, false, undefined)),
    ownFilesDraft(packageRoot, lockfileBytes),
    ...npmNames(runtime).map(([pkg, name]) => treeDraft(packageRoot, name, pkg.key, pkg.dir, true, pkg.integrity)),
  ]);
  const work = drafts.flatMap((d) => [...(d.toHash ?? new Map<string, Source>())].map(([key, source]) => ({ draft: d.name, key, source })));
  const measured = await measureAll(work.map((w) => w.source));
  const byDraft = new Map<string, Record<string, FileDigest>>();
  let bytes = 0;
  work.forEach((w, i) => {
    const m = measured[i] as Measured;
    bytes += m.bytes;
    let files = byDraft.get(w.draft);
    if (files === undefined) byDraft.set(w.draft, (files = {}));
    files[w.key] = m.digest;
  });
  const components = drafts
    .map((d): LockedComponent => ({
      name: d.name,
      base: d.base,
      paths: d.paths,
      files: byDraft.get(d.name) ?? {},
      ...(d.integrity === undefined ? {} : { integrity: d.integrity }),
      ...(d.toHash === null ? { absent: true as const } : {}),
    }))
    .sort((a, b) => byName(a.name, b.name));
  const strays = await findStrays(packageRoot, runtime, allKeys);
  const optional = new Set(npmNames(runtime).flatMap(([p, name]) => (p.optional ? [name] : [])));
  return { components, strays, optional, files: work.length, bytes };
}

/** Streams the large host files while the small tree files are hashed in batches; results in input order. */
async function measureAll(sources: readonly Source[]): Promise<Measured[]> {
  const out = new Array<Measured>(sources.length);
  const tree: { abs: string; kind: EntryKind }[] = [];
  const treeAt: number[] = [];
  const streams: string[] = [];
  const streamAt: number[] = [];
  sources.forEach((s, i) => {
    if ("bytes" in s) {
      out[i] = { digest: `sha256:${createHash("sha256").update(s.bytes).digest("hex")}`, bytes: s.bytes.byteLength };
    } else if ("stream" in s) {
      streams.push(s.stream);
      streamAt.push(i);
    } else {
      tree.push(s);
      treeAt.push(i);
    }
  });
  const [treeDigests, streamDigests] = await Promise.all([digestEntries(tree), digestInWorker(streams)]);
  treeDigests.forEach((m, j) => (out[treeAt[j] as number] = m));
  streamDigests.forEach((m, j) => (out[streamAt[j] as number] = m));
  return out;
}

/** Hashes `paths` on a worker thread (a second core); the node binary alone is ~100 ms of sha256. */
function digestInWorker(paths: readonly string[]): Promise<Measured[]> {
  if (paths.length === 0) return Promise.resolve([]);
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL("./hash-worker.js", import.meta.url), { workerData: paths, env: {} });
    let settled = false;
    worker.once("message", (m: Measured[]) => {
      settled = true;
      resolve(m);
    });
    worker.once("error", reject);
    worker.once("exit", (code) => {
      if (!settled) reject(new Error(`hash worker exited with ${code} before answering`));
    });
  });
}

async function readOptional(path: string): Promise<Buffer | null> {
  try {
    return await readFile(path);
  } catch {
    return null;
  }
}

async function hostDraft(name: string, locate: Locate, searchPath: string): Promise<Draft> {
  const found: FoundBinary | null = "inPath" in locate ? await findInPath(locate.inPath, searchPath) : await findAt(locate.at);
  if (found === null) return { name, base: "host", paths: [], toHash: null };
  const paths = found.path === found.resolved ? [found.path] : [found.path, found.resolved];
  return { name, base: "host", paths, toHash: new Map([[found.resolved, { stream: found.resolved }]]) };
}

async function treeDraft(root: string, name: string, key: string, dir: string, skipNodeModules: boolean, integrity: string | undefined): Promise<Draft> {
  const files = await listTree(join(root, dir), skipNodeModules);
  const base = { name, base: "package" as const, paths: [key], ...(integrity === undefined ? {} : { integrity }) };
  if (files === null) return { ...base, toHash: null };
  return { ...base, toHash: new Map(files.map((f) => [`${dir}/${f.rel}`, { abs: join(root, dir, f.rel), kind: f.kind }])) };
}

/** package.json and package-lock.json; the lockfile is hashed from the very bytes that were parsed. */
async function ownFilesDraft(root: string, lockfile: Buffer | null): Promise<Draft> {
  const manifest = await readOptional(join(root, "package.json"));
  const present = new Map<string, Source>();
  if (manifest !== null) present.set("package.json", { bytes: manifest });
  if (lockfile !== null) present.set("package-lock.json", { bytes: lockfile });
  return { name: OWN_FILES.name, base: "package", paths: [...present.keys()], toHash: present.size === 0 ? null : present };
}

/** The lockfile's non-dev packages, and every path it lists (dev included). */
export function runtimePackages(lockfile: Buffer | null): { runtime: LockfilePackage[]; allKeys: Set<string> } {
  const allKeys = new Set<string>();
  const runtime: LockfilePackage[] = [];
  if (lockfile === null) return { runtime, allKeys };
  let packages: Record<string, unknown>;
  try {
    const parsed = JSON.parse(lockfile.toString("utf8")) as { packages?: unknown };
    if (typeof parsed.packages !== "object" || parsed.packages === null) return { runtime, allKeys };
    packages = parsed.packages as Record<string, unknown>;
  } catch {
    return { runtime, allKeys };
  }
  for (const [key, raw] of Object.entries(packages)) {
    if (key === "" || typeof raw !== "object" || raw === null) continue;
    allKeys.add(key);
    const entry = raw as { dev?: unknown; optional?: unknown; name?: unknown; version?: unknown; integrity?: unknown; link?: unknown; resolved?: unknown };
    if (entry.dev === true) continue;
    const name = typeof entry.name === "string" ? entry.name : key.slice(key.lastIndexOf("node_modules/") + "node_modules/".length);
    const dir = entry.link === true && typeof entry.resolved === "string" ? entry.resolved : key;
    runtime.push({
      key,
      name,
      version: typeof entry.version === "string" ? entry.version : "0.0.0",
      dir,
      optional: entry.optional === true,
      ...(typeof entry.integrity === "string" ? { integrity: entry.integrity } : {}),
    });
  }
  runtime.sort((a, b) => byName(a.key, b.key));
  return { runtime, allKeys };
}

/** `npm:name@version`, with the install path added where the same name@version occurs twice. */
function npmNames(packages: readonly LockfilePackage[]): [LockfilePackage, string][] {
  const count = new Map<string, number>();
  for (const p of packages) count.set(`${p.name}@${p.version}`, (count.get(`${p.name}@${p.version}`) ?? 0) + 1);
  return packages.map((p) => {
    const id = `${p.name}@${p.version}`;
    return [p, (count.get(id) ?? 0) > 1 ? `npm:${id} (${p.key})` : `npm:${id}`];
  });
}

/**
 * Entries node could load a package from that the lockfile does not list: anything at the top
 * of node_modules, and in a runtime package's own node_modules (where it would shadow a
 * hoisted dependency). Dot-entries (.bin, .package-lock.json) hold no packages.
 */
async function findStrays(root: string, runtime: readonly LockfilePackage[], allKeys: ReadonlySet<string>): Promise<string[]> {
  const folders = ["node_modules", ...runtime.map((p) => `${p.dir}/node_modules`)];
  const strays = await Promise.all(folders.map((f) => straysIn(root, f, allKeys)));
  return strays.flat().sort();
}

async function straysIn(root: string, folder: string, allKeys: ReadonlySet<string>): Promise<string[]> {
  const out: string[] = [];
  for (const name of await entries(join(root, folder))) {
    if (name.startsWith(".")) continue;
    if (name.startsWith("@")) {
      for (const inner of await entries(join(root, folder, name))) {
        if (!allKeys.has(`${folder}/${name}/${inner}`)) out.push(`${folder}/${name}/${inner}`);
      }
    } else if (!allKeys.has(`${folder}/${name}`)) {
      out.push(`${folder}/${name}`);
    }
  }
  return out;
}

async function entries(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch {
    return [];
  }
}
