// Reads a policy file once, validates it completely, and returns frozen, resolved data:
// module bytes already read and digest-checked (the same bytes are compiled later), grant
// directories resolved to real paths. Every problem is collected; nothing half-loads.
import { readFileSync, realpathSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, isAbsolute, resolve, sep } from "node:path";
import { parseDocument } from "yaml";
import { sha256Hex } from "../artifacts/verify-digest.js";
import { ArtifactUnreadable, PolicyInvalid, type PolicyIssue } from "../errors.js";
import type { Tier } from "./enforcers.js";
import { compileInputSchema, type InputValidator } from "./input-schema.js";
import { DEFAULT_LIMITS, deriveLines, type PolicyLine } from "./lines.js";
import { policySchema, type GrantSpec, type PolicySpec, type ToolSpec } from "./schema.js";

export type Grant =
  | { readonly kind: "fs.read" | "fs.write"; readonly hostPath: string; readonly mount: string }
  | { readonly kind: "env"; readonly name: string; readonly value: string }
  | { readonly kind: "clock" | "random" | "log" };

export interface Limits {
  readonly memoryBytes: number;
  readonly fuel: number;
  readonly wallClockMs: number;
  readonly inputBytes: number;
  readonly outputBytes: number;
  readonly moduleBytes: number;
  readonly maxFunctions: number;
  readonly maxTableElements: number;
  readonly maxOpenFiles: number;
}

export interface LoadedTool {
  readonly name: string;
  readonly description: string;
  readonly abi: "wasi-command" | "reactor";
  readonly risk: ToolSpec["risk"];
  readonly tier: Tier;
  readonly modulePath: string;
  readonly moduleSha256: string;
  /** The verified bytes. Compile these; never re-read the path. */
  readonly moduleBytes: Uint8Array;
  readonly limits: Limits;
  readonly grants: readonly Grant[];
  readonly inputSchema: Readonly<Record<string, unknown>>;
  readonly validateInput: InputValidator;
}

export interface LoadedPolicy {
  readonly path: string;
  readonly sha256: string;
  readonly roles: ReadonlyMap<string, readonly string[]>;
  readonly tools: ReadonlyMap<string, LoadedTool>;
  readonly lines: readonly PolicyLine[];
}

/** Which tiers a risk class may run in (seed 002's routing table). */
export const TIERS_FOR_RISK: Readonly<Record<ToolSpec["risk"], readonly Tier[]>> = {
  "pure-compute": ["wasm", "process", "container", "microvm"],
  "file-ops": ["wasm", "process", "container", "microvm"],
  "build-test": ["process", "container", "microvm"],
  "untrusted-code": ["microvm"],
};

const SYSTEM_ROOTS = ["/etc", "/proc", "/sys", "/dev", "/boot", "/root", "/bin", "/sbin", "/lib", "/lib64", "/usr", "/run", "/var/run", "/var/lib", "/srv", "/opt"];

function hasDotDot(p: string): boolean {
  return p.split(/[\\/]/).includes("..");
}

function isInside(child: string, parent: string): boolean {
  return child === parent || child.startsWith(parent.endsWith(sep) ? parent : parent + sep);
}

/** A grant directory must be a specific directory, never a system root or a whole home. */
function broadPathProblem(real: string, policyDir: string): string | undefined {
  if (real === "/") return "is the filesystem root";
  for (const root of SYSTEM_ROOTS) if (isInside(real, root)) return `is inside system directory ${root}`;
  const home = homedir();
  if (real === home || real === "/home" || real === dirname(home)) return "is a whole home directory";
  if (real === policyDir) return "is the policy's own directory (it would expose the policy and modules)";
  return undefined;
}

function resolveGrant(g: GrantSpec, dir: string, path: string, issues: PolicyIssue[]): Grant | undefined {
  if (g.kind !== "fs.read" && g.kind !== "fs.write") {
    return g.kind === "env" ? { kind: "env", name: g.name, value: g.value } : { kind: g.kind };
  }
  if (hasDotDot(g.path) || hasDotDot(g.mount)) {
    issues.push({ path: `${path}.path`, problem: "must not contain '..'" });
    return undefined;
  }
  const abs = isAbsolute(g.path) ? g.path : resolve(dir, g.path);
  let real: string;
  try {
    real = realpathSync(abs);
    if (!statSync(real).isDirectory()) throw new Error("not a directory");
  } catch {
    issues.push({ path: `${path}.path`, problem: `${g.path} is not an existing directory` });
    return undefined;
  }
  const broad = broadPathProblem(real, dir);
  if (broad !== undefined) {
    issues.push({ path: `${path}.path`, problem: `too broad: ${g.path} ${broad}` });
    return undefined;
  }
  return { kind: g.kind, hostPath: real, mount: g.mount };
}

function checkGrantSet(grants: readonly GrantSpec[], path: string, issues: PolicyIssue[]): void {
  const seen = new Set<string>();
  for (const [i, g] of grants.entries()) {
    const key = g.kind === "env" ? `env:${g.name}` : g.kind === "fs.read" || g.kind === "fs.write" ? `mount:${g.mount}` : g.kind;
    if (seen.has(key)) issues.push({ path: `${path}.${i}`, problem: `duplicate grant (${key})` });
    seen.add(key);
  }
  const mounts = grants.flatMap((g) => (g.kind === "fs.read" || g.kind === "fs.write" ? [g.mount] : []));
  for (const a of mounts) for (const b of mounts) {
    if (a !== b && b.startsWith(a + "/")) issues.push({ path, problem: `mount ${b} is nested inside ${a}` });
  }
}

function loadTool(name: string, spec: ToolSpec, dir: string, issues: PolicyIssue[]): LoadedTool | undefined {
  const path = `tools.${name}`;
  const before = issues.length;
  if (!TIERS_FOR_RISK[spec.risk].includes(spec.tier)) {
    issues.push({ path: `${path}.tier`, problem: `risk ${spec.risk} may not run in tier ${spec.tier} (allowed: ${TIERS_FOR_RISK[spec.risk].join(", ")})` });
  }
  checkGrantSet(spec.grants, `${path}.grants`, issues);
  const grants = spec.grants.flatMap((g, i) => resolveGrant(g, dir, `${path}.grants.${i}`, issues) ?? []);
  const validateInput = compileInputSchema(spec.input, `${path}.input`);
  if (Array.isArray(validateInput)) issues.push(...validateInput);
  let moduleBytes: Uint8Array | undefined;
  if (hasDotDot(spec.module.path)) {
    issues.push({ path: `${path}.module.path`, problem: "must not contain '..'" });
  } else {
    const modulePath = isAbsolute(spec.module.path) ? spec.module.path : resolve(dir, spec.module.path);
    try {
      moduleBytes = readFileSync(modulePath);
    } catch (err) {
      issues.push({ path: `${path}.module.path`, problem: new ArtifactUnreadable(spec.module.path, (err as NodeJS.ErrnoException).code ?? "read failed").message });
    }
    if (moduleBytes !== undefined) {
      const actual = sha256Hex(moduleBytes);
      if (actual !== spec.module.sha256) {
        issues.push({ path: `${path}.module.sha256`, problem: `digest mismatch: file is sha256:${actual}` });
      }
    }
  }
  if (issues.length > before || moduleBytes === undefined || Array.isArray(validateInput)) return undefined;
  return Object.freeze({
    name,
    description: spec.description,
    abi: spec.abi,
    risk: spec.risk,
    tier: spec.tier,
    modulePath: spec.module.path,
    moduleSha256: spec.module.sha256,
    moduleBytes,
    limits: Object.freeze({
      memoryBytes: spec.limits.memory,
      fuel: spec.limits.fuel,
      wallClockMs: spec.limits.wallClockMs,
      inputBytes: spec.limits.inputBytes,
      outputBytes: spec.limits.outputBytes,
      moduleBytes: spec.limits.moduleBytes ?? DEFAULT_LIMITS.moduleBytes,
      maxFunctions: spec.limits.maxFunctions ?? DEFAULT_LIMITS.maxFunctions,
      maxTableElements: spec.limits.maxTableElements ?? DEFAULT_LIMITS.maxTableElements,
      maxOpenFiles: spec.limits.maxOpenFiles ?? DEFAULT_LIMITS.maxOpenFiles,
    }),
    grants: Object.freeze(grants),
    inputSchema: Object.freeze(spec.input),
    validateInput,
  });
}

/** Parses and validates policy text (no file access). Throws PolicyInvalid. */
export function parsePolicy(text: string): { spec: PolicySpec; lines: PolicyLine[] } {
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: false });
  if (doc.errors.length > 0) {
    throw new PolicyInvalid(doc.errors.map((e) => ({ path: `line ${e.linePos?.[0]?.line ?? "?"}`, problem: e.code })));
  }
  let raw: unknown;
  try {
    // Aliases are refused outright: a policy has no need for them, and they enable expansion bombs.
    raw = doc.toJS({ maxAliasCount: 0 });
  } catch {
    throw new PolicyInvalid([{ path: "(document)", problem: "YAML aliases are not allowed in a policy" }]);
  }
  const parsed = policySchema.safeParse(raw);
  if (!parsed.success) {
    throw new PolicyInvalid(parsed.error.issues.map((i) => ({ path: i.path.map(String).join(".") || "(root)", problem: i.message })));
  }
  const spec = parsed.data;
  const issues: PolicyIssue[] = [];
  for (const [role, r] of Object.entries(spec.roles)) {
    for (const t of r.tools) if (!(t in spec.tools)) issues.push({ path: `roles.${role}.tools`, problem: `unknown tool '${t}'` });
    if (new Set(r.tools).size !== r.tools.length) issues.push({ path: `roles.${role}.tools`, problem: "lists a tool twice" });
  }
  const derived = deriveLines(spec);
  issues.push(...derived.issues);
  if (issues.length > 0) throw new PolicyInvalid(issues);
  return { spec, lines: derived.lines };
}

/** Loads a policy file: reads it once, validates everything, reads and digest-checks modules. */
export function loadPolicy(path: string): LoadedPolicy {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    throw new ArtifactUnreadable(path, (err as NodeJS.ErrnoException).code ?? "read failed");
  }
  const dir = realpathSync(dirname(resolve(path)));
  const { spec, lines } = parsePolicy(bytes.toString("utf8"));
  const issues: PolicyIssue[] = [];
  const tools = new Map<string, LoadedTool>();
  for (const [name, t] of Object.entries(spec.tools)) {
    const loaded = loadTool(name, t, dir, issues);
    if (loaded !== undefined) tools.set(name, loaded);
  }
  if (issues.length > 0) throw new PolicyInvalid(issues);
  return Object.freeze({
    path: resolve(path),
    sha256: sha256Hex(bytes),
    roles: new Map(Object.entries(spec.roles).map(([k, v]) => [k, Object.freeze([...v.tools])])),
    tools,
    lines: Object.freeze(lines),
  });
}
