// `cordon sbom`: a CycloneDX 1.5 SBOM of the runtime — the npm packages cordon runs with and
// the host binaries it runs on (node, bwrap, the other sandbox runners), each with its sha256.
//
// `npm sbom` is the base where it runs. It is called WITHOUT `--omit dev`: on npm 11 that flag
// drops production packages that a dev package names as a peer (npm/cli#7909), and here it
// yields an empty component list. Instead the runtime set comes from package-lock.json (the
// same non-dev set the runtime lock covers), and npm's entries for that set are kept. Any
// runtime package npm did not describe, or every one if npm cannot run, is described from
// the lockfile itself.
import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import type { LockedComponent } from "./manifest.js";
import { measureRuntime, runtimePackages, type MeasureOptions } from "./measure-runtime.js";

const run = promisify(execFile);

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

export interface SbomOptions extends MeasureOptions {
  /** Runs `npm args…` in `cwd` and returns stdout (default: execFile, no shell, minimal env). */
  readonly npm?: (args: readonly string[], cwd: string) => Promise<string>;
  /** The version a host binary reports, or null (default: runs it with --version). */
  readonly versionOf?: (component: string, path: string) => Promise<string | null>;
  readonly now?: () => Date;
  readonly serialNumber?: () => string;
}

export interface Sbom {
  readonly bom: JsonObject;
  /** Where the npm components came from. */
  readonly base: "npm sbom" | "package-lock.json";
}

export async function buildSbom(packageRoot: string, options: SbomOptions = {}): Promise<Sbom> {
  const pkg = JSON.parse(await readFile(join(packageRoot, "package.json"), "utf8")) as { name?: string; version?: string; license?: string };
  const lockfile = await readFile(join(packageRoot, "package-lock.json"));
  const lockPackages = (JSON.parse(lockfile.toString("utf8")) as { packages: Record<string, LockEntry> }).packages;
  const measured = await measureRuntime(packageRoot, options);
  // Packages the lockfile lists but npm did not install (an optional one) are not in the runtime.
  const notInstalled = new Set(measured.components.filter((c) => c.name.startsWith("npm:") && c.absent === true).map((c) => c.paths[0]));
  const runtime = runtimePackages(lockfile).runtime.filter((p) => !notInstalled.has(p.key));
  const rootRef = `${pkg.name ?? "cordon"}@${pkg.version ?? "0.0.0"}`;
  const wanted = new Map(runtime.map((p) => [`${p.name}@${p.version}`, p]));

  const fromNpm = await npmBom(packageRoot, options.npm ?? runNpm);
  const components: JsonObject[] = [];
  const seen = new Set<string>();
  for (const c of fromNpm?.components ?? []) {
    const ref = c["bom-ref"];
    if (typeof ref === "string" && wanted.has(ref) && !isDev(c) && !seen.has(ref)) {
      components.push(c);
      seen.add(ref);
    }
  }
  for (const [ref, p] of wanted) {
    if (seen.has(ref)) continue;
    components.push(lockfileComponent(ref, p.name, p.version, lockPackages[p.key]));
    seen.add(ref);
  }

  const hosts = measured.components.filter((c) => c.base === "host");
  const versionOf = options.versionOf ?? reportedVersion;
  const hostComponents = await Promise.all(hosts.filter((c) => c.absent !== true).map((c) => hostComponent(c, versionOf)));

  const dependencies = fromNpm === null ? lockfileDependencies(rootRef, runtime, lockPackages) : npmDependencies(fromNpm.dependencies, seen, rootRef);
  const root = dependencies.find((d) => d["ref"] === rootRef);
  const hostRefs = hostComponents.map((c) => c["bom-ref"] as string);
  if (root !== undefined) root["dependsOn"] = [...(root["dependsOn"] as string[]), ...hostRefs];
  else dependencies.unshift({ ref: rootRef, dependsOn: hostRefs });
  dependencies.push(...hostRefs.map((ref) => ({ ref, dependsOn: [] })));

  const bom: JsonObject = {
    $schema: "http://cyclonedx.org/schema/bom-1.5.schema.json",
    bomFormat: "CycloneDX",
    specVersion: "1.5",
    serialNumber: `urn:uuid:${(options.serialNumber ?? randomUUID)()}`,
    version: 1,
    metadata: {
      timestamp: (options.now ?? (() => new Date()))().toISOString(),
      lifecycles: [{ phase: "operations" }],
      tools: [...(fromNpm?.tools ?? []), { vendor: "cordon", name: "cordon sbom", version: pkg.version ?? "0.0.0" }],
      component: {
        "bom-ref": rootRef,
        type: "application",
        name: pkg.name ?? "cordon",
        version: pkg.version ?? "0.0.0",
        purl: purl(pkg.name ?? "cordon", pkg.version ?? "0.0.0"),
        ...(pkg.license === undefined ? {} : { licenses: [{ license: { id: pkg.license } }] }),
      },
      properties: hosts.filter((c) => c.absent === true).map((c) => ({ name: "cordon:absent", value: c.name })),
    },
    components: [...components.sort((a, b) => compare(refOf(a), refOf(b))), ...hostComponents],
    dependencies,
  };
  return { bom, base: fromNpm === null ? "package-lock.json" : "npm sbom" };
}

interface LockEntry {
  readonly version?: string;
  readonly integrity?: string;
  readonly license?: string;
  readonly dependencies?: Record<string, string>;
  readonly optionalDependencies?: Record<string, string>;
  readonly peerDependencies?: Record<string, string>;
}

interface NpmBom {
  readonly components: JsonObject[];
  readonly dependencies: JsonObject[];
  readonly tools: Json[];
}

async function runNpm(args: readonly string[], cwd: string): Promise<string> {
  // No shell; the child gets PATH and HOME only, never cordon's environment.
  const env = { PATH: process.env["PATH"] ?? "/usr/bin:/bin", HOME: process.env["HOME"] ?? "/nonexistent" };
  const { stdout } = await run("npm", [...args], { cwd, env, maxBuffer: 64 * 1024 * 1024, timeout: 60_000, encoding: "utf8" });
  return stdout;
}

async function npmBom(cwd: string, npm: (args: readonly string[], cwd: string) => Promise<string>): Promise<NpmBom | null> {
  try {
    const doc = JSON.parse(await npm(["sbom", "--sbom-format", "cyclonedx", "--offline"], cwd)) as JsonObject;
    if (doc["bomFormat"] !== "CycloneDX" || !Array.isArray(doc["components"])) return null;
    const tools = (doc["metadata"] as { tools?: unknown } | undefined)?.tools;
    return {
      components: doc["components"].filter(isObject),
      dependencies: Array.isArray(doc["dependencies"]) ? doc["dependencies"].filter(isObject) : [],
      tools: Array.isArray(tools) ? (tools as Json[]) : [],
    };
  } catch {
    return null;
  }
}

function refOf(c: JsonObject): string {
  const ref = c["bom-ref"];
  return typeof ref === "string" ? ref : "";
}

function isObject(v: Json): v is JsonObject {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function isDev(c: JsonObject): boolean {
  const props = Array.isArray(c["properties"]) ? c["properties"] : [];
  return props.some((p) => isObject(p) && p["name"] === "cdx:npm:package:development" && p["value"] === "true");
}

/** npm's graph, restricted to the runtime components (the root keeps only runtime edges). */
function npmDependencies(deps: readonly JsonObject[], kept: ReadonlySet<string>, rootRef: string): JsonObject[] {
  const out: JsonObject[] = [];
  for (const d of deps) {
    const ref = d["ref"];
    if (typeof ref !== "string" || (ref !== rootRef && !kept.has(ref))) continue;
    const on = Array.isArray(d["dependsOn"]) ? d["dependsOn"].filter((x): x is string => typeof x === "string" && kept.has(x)) : [];
    out.push({ ref, dependsOn: on });
  }
  return out;
}

function lockfileComponent(ref: string, name: string, version: string, entry: LockEntry | undefined): JsonObject {
  const hashes = entry?.integrity === undefined ? [] : integrityHashes(entry.integrity);
  return {
    "bom-ref": ref,
    type: "library",
    name,
    version,
    scope: "required",
    purl: purl(name, version),
    ...(hashes.length > 0 ? { hashes } : {}),
    ...(typeof entry?.license === "string" ? { licenses: [{ license: { id: entry.license } }] } : {}),
  };
}

/** SRI (`sha512-<base64>`) as CycloneDX hashes (hex). */
function integrityHashes(integrity: string): JsonObject[] {
  const algs: Record<string, string> = { sha512: "SHA-512", sha384: "SHA-384", sha256: "SHA-256", sha1: "SHA-1" };
  return integrity.split(/\s+/).flatMap((sri) => {
    const [alg, b64] = sri.split("-", 2);
    const name = alg === undefined ? undefined : algs[alg];
    return name === undefined || b64 === undefined ? [] : [{ alg: name, content: Buffer.from(b64, "base64").toString("hex") }];
  });
}

/** The dependency graph from the lockfile, resolving each name the way node does (nearest node_modules up). */
function lockfileDependencies(rootRef: string, runtime: readonly { key: string; name: string; version: string }[], packages: Record<string, LockEntry>): JsonObject[] {
  const refOf = new Map(runtime.map((p) => [p.key, `${p.name}@${p.version}`]));
  const resolve = (from: string, dep: string): string | undefined => {
    for (let base = from; ; ) {
      const hit = refOf.get(base === "" ? `node_modules/${dep}` : `${base}/node_modules/${dep}`);
      if (hit !== undefined || base === "") return hit;
      const cut = base.lastIndexOf("/node_modules/");
      base = cut < 0 ? "" : base.slice(0, cut);
    }
  };
  const edges = (key: string): string[] => {
    const e = packages[key];
    const names = Object.keys({ ...e?.dependencies, ...e?.optionalDependencies, ...e?.peerDependencies });
    return [...new Set(names.flatMap((n) => resolve(key, n) ?? []))].sort(compare);
  };
  const byRef = new Map<string, string[]>([[rootRef, edges("")]]);
  for (const p of runtime) {
    const ref = refOf.get(p.key) as string;
    byRef.set(ref, [...new Set([...(byRef.get(ref) ?? []), ...edges(p.key)])]);
  }
  return [...byRef].map(([ref, dependsOn]) => ({ ref, dependsOn }));
}

async function hostComponent(c: LockedComponent, versionOf: (component: string, path: string) => Promise<string | null>): Promise<JsonObject> {
  const path = c.paths[c.paths.length - 1] ?? "";
  const short = c.name.replace(/^sandbox:/, "");
  const version = await versionOf(c.name, path);
  const hashes = Object.values(c.files).flatMap((d) => (d.startsWith("sha256:") ? [{ alg: "SHA-256", content: d.slice(7) }] : []));
  return {
    "bom-ref": `host:${short}`,
    type: "application",
    name: short,
    ...(version === null ? {} : { version }),
    hashes,
    properties: [
      { name: "cordon:lock:component", value: c.name },
      ...c.paths.map((p) => ({ name: "cordon:path", value: p })),
    ],
  };
}

/** `X.Y[.Z…]` from `--version` output, or null. The running node answers for itself. */
async function reportedVersion(component: string, path: string): Promise<string | null> {
  if (component === "node" && path === process.execPath) return process.versions.node;
  try {
    const { stdout, stderr } = await run(path, ["--version"], { env: { PATH: "/usr/bin:/bin" }, timeout: 5_000, encoding: "utf8" });
    return /\d+\.\d+(?:\.\d+)*/.exec(`${stdout}\n${stderr}`)?.[0] ?? null;
  } catch {
    return null;
  }
}

function purl(name: string, version: string): string {
  const encoded = name.startsWith("@") ? `%40${name.slice(1)}` : name;
  return `pkg:npm/${encoded}@${version}`;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
