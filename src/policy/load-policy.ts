// Reads a policy file once, validates it completely, and returns frozen, resolved data:
// module bytes already read and digest-checked (the same bytes are compiled later), grant
// directories resolved to real paths. Every problem is collected; nothing half-loads. Each
// verified module is then vetted (its size and every count held to the tool's caps, nothing
// compiled): a module over a cap is refused here, before any cell is sent its bytes.
import { readFileSync, realpathSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, isAbsolute, resolve, sep } from "node:path";
import { parseDocument } from "yaml";
import { sha256Hex } from "../crypto/digest.js";
import { ArtifactUnreadable, CordonError, ModuleMalformed, ModuleRefused, PolicyInvalid, ToolRefused, type PolicyIssue } from "../errors.js";
import { vetModule } from "../wasm/module/vet-module.js";
import { scanImage } from "../sandbox/image/image-store.js";
import { resolveInImage, type ImageIndex } from "../sandbox/image/image-rules.js";
import type { Grant, Limits } from "../types/tool.js";
import type { Layer } from "../tier/tool-host.js";
import { judgeRisk, stackOf, type Demands, type Level, type Profile } from "./profiles.js";
import { compileInputSchema, type InputValidator } from "./input-schema.js";
import { loadApproval, type LoadedApproval } from "./approval-form.js";
import { loadOutput, NO_OUTPUT_CHECK, type LoadedOutput } from "./output-check.js";
import { loadPrompt, type LoadedPrompt } from "./prompts.js";
import { loadResourceRoots, type ResourceRoot } from "./resources.js";
import { DEFAULT_LIMITS, deriveLines, type PolicyLine } from "./lines.js";
import { policySchema, SCRIPT_PLACEHOLDER, type GrantSpec, type PolicySpec, type ToolSpec } from "./schema.js";

/** How a tool's risk was judged against its tier's stack (see profiles.ts). */
export interface ToolRoute {
  readonly level: Level;
  readonly stack: readonly Layer[];
  /** Weaker than its risk demands (local-dev only; production refuses it at load): why. */
  readonly weaker: string | null;
}

interface ToolBase {
  readonly name: string;
  readonly description: string;
  readonly risk: ToolSpec["risk"];
  readonly route: ToolRoute;
  readonly limits: Limits;
  readonly grants: readonly Grant[];
  readonly inputSchema: Readonly<Record<string, unknown>>;
  readonly validateInput: InputValidator;
  /** Human approval of each call (elicitation), or null: none asked. */
  readonly approval: LoadedApproval | null;
  /** What its results may hold (content types, output schema). */
  readonly output: LoadedOutput;
}

export interface WasmTool extends ToolBase {
  readonly tier: "wasm";
  readonly abi: "wasi-command" | "reactor";
  readonly modulePath: string;
  readonly moduleSha256: string;
  /** The verified bytes. Compile these; never re-read the path. */
  readonly moduleBytes: Uint8Array;
}

export interface ProcessCommand {
  /** argv as written in the policy; `{script}` is replaced by the script's text at spawn. */
  readonly argv: readonly string[];
  /** The script, read once and digest-checked; passed in argv, never by path. */
  readonly script: { readonly path: string; readonly sha256: string; readonly bytes: Uint8Array } | null;
}

export interface ProcessTool extends ToolBase {
  readonly tier: "process";
  readonly abi: "json-stdio";
  readonly command: ProcessCommand;
}

/** A container image as the loader verified it: its digest (and signature over it) checked by streaming the file once. */
export interface ContainerImage {
  /** As written in the policy. */
  readonly path: string;
  /** Resolved absolute path (the store unpacks from it, hashing again: see image-store.ts). */
  readonly absPath: string;
  readonly sha256: string;
  readonly bytes: number;
}

export type ContainerRuntimeName = "crun" | "runsc";

export interface ContainerTool extends ToolBase {
  readonly tier: "container";
  readonly abi: "json-stdio";
  /** argv inside the image; `{script}` is replaced by the verified script's text. */
  readonly command: ProcessCommand;
  readonly runtime: ContainerRuntimeName;
  readonly image: ContainerImage;
}

export type LoadedTool = WasmTool | ProcessTool | ContainerTool;

export interface LoadedPolicy {
  readonly path: string;
  readonly sha256: string;
  readonly roles: ReadonlyMap<string, readonly string[]>;
  readonly tools: ReadonlyMap<string, LoadedTool>;
  readonly lines: readonly PolicyLine[];
  readonly profile: Profile;
  /** Every prompt of the policy, and which of them each role offers. */
  readonly prompts: ReadonlyMap<string, LoadedPrompt>;
  readonly rolePrompts: ReadonlyMap<string, readonly string[]>;
  /** Each role's resource roots (read grants of its Wasm tools, served through the jail). */
  readonly resources: ReadonlyMap<string, readonly ResourceRoot[]>;
}

/** Where a process tool's program must live: the sandbox binds /usr read-only and nothing else of the host's programs. */
const PROGRAM_ROOT = "/usr/";

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
    if (g.kind === "env") return { kind: "env", name: g.name, value: g.value };
    if (g.kind === "sampling") return { kind: "sampling", maxRequests: g.maxRequests, maxTokens: g.maxTokens };
    return g.kind === "exec" ? { kind: "exec", mount: g.mount } : { kind: g.kind };
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
    const key = g.kind === "env" ? `env:${g.name}` : g.kind === "fs.read" || g.kind === "fs.write" ? `mount:${g.mount}` : g.kind === "exec" ? `exec:${g.mount}` : g.kind;
    if (seen.has(key)) issues.push({ path: `${path}.${i}`, problem: `duplicate grant (${key})` });
    seen.add(key);
  }
  const mounts = grants.flatMap((g) => (g.kind === "fs.read" || g.kind === "fs.write" ? [g.mount] : []));
  for (const a of mounts) for (const b of mounts) {
    if (a !== b && b.startsWith(a + "/")) issues.push({ path, problem: `mount ${b} is nested inside ${a}` });
  }
}

/**
 * What a signed load checks (strict mode): called with bytes already read once, before they
 * are parsed or digest-checked; throws (SignatureInvalid, ArtifactRollback) to refuse them.
 */
export interface PolicyTrust {
  checkPolicy(path: string, bytes: Uint8Array): void;
  /** A module or a process tool's script. */
  checkArtifact(path: string, bytes: Uint8Array): void;
  /**
   * A container image, too large to hold: its bytes were streamed once and hashed, and the
   * signature must cover that digest (the store hashes again as it unpacks).
   */
  checkArtifactDigest(path: string, sha256: string): void;
}

/** Reads an artifact once and checks its digest; the same bytes are used from then on. */
function readPinned(ref: { path: string; sha256: string }, dir: string, path: string, issues: PolicyIssue[], trust: PolicyTrust | undefined): Uint8Array | undefined {
  if (hasDotDot(ref.path)) {
    issues.push({ path: `${path}.path`, problem: "must not contain '..'" });
    return undefined;
  }
  let bytes: Uint8Array;
  const abs = isAbsolute(ref.path) ? ref.path : resolve(dir, ref.path);
  try {
    bytes = readFileSync(abs);
  } catch (err) {
    issues.push({ path: `${path}.path`, problem: new ArtifactUnreadable(ref.path, (err as NodeJS.ErrnoException).code ?? "read failed").message });
    return undefined;
  }
  trust?.checkArtifact(abs, bytes);
  const actual = sha256Hex(bytes);
  if (actual !== ref.sha256) {
    issues.push({ path: `${path}.sha256`, problem: `digest mismatch: file is sha256:${actual}` });
    return undefined;
  }
  return bytes;
}

/** A process tool's program: a host file under /usr (the only host programs its sandbox binds). */
function hostProgramProblem(program: string): string | undefined {
  let real = "";
  try {
    real = realpathSync(program);
    if (!statSync(real).isFile()) throw new Error("not a file");
  } catch {
    return `${program} is not an existing program`;
  }
  return real.startsWith(PROGRAM_ROOT) ? undefined : `${program} is outside ${PROGRAM_ROOT} (the only host programs a tool process sees)`;
}

/** A container tool's program: an executable regular file inside its image (symlinks followed there). */
function imageProgramProblem(index: ImageIndex, program: string): string | undefined {
  const found = resolveInImage(index, program);
  if (found === null) return `${program} does not exist in the image`;
  if (found.entry.type !== "file" || (found.entry.mode & 0o111) === 0) return `${program} (${found.path}) is not an executable file in the image`;
  return undefined;
}

function loadCommand(spec: NonNullable<ToolSpec["command"]>, dir: string, path: string, issues: PolicyIssue[], trust: PolicyTrust | undefined, programProblem: (program: string) => string | undefined = hostProgramProblem): ProcessCommand | undefined {
  const before = issues.length;
  const program = spec.argv[0] ?? "";
  if (!isAbsolute(program) || hasDotDot(program)) issues.push({ path: `${path}.argv.0`, problem: "must be an absolute path without '..'" });
  else {
    const problem = programProblem(program);
    if (problem !== undefined) issues.push({ path: `${path}.argv.0`, problem });
  }
  const uses = spec.argv.filter((a) => a.includes(SCRIPT_PLACEHOLDER)).length;
  if (spec.script === undefined && uses > 0) issues.push({ path: `${path}.argv`, problem: `${SCRIPT_PLACEHOLDER} is used but no script is given` });
  if (spec.script !== undefined && (uses !== 1 || !spec.argv.includes(SCRIPT_PLACEHOLDER))) {
    issues.push({ path: `${path}.argv`, problem: `a script needs exactly one argument that is exactly ${SCRIPT_PLACEHOLDER}` });
  }
  const bytes = spec.script === undefined ? undefined : readPinned(spec.script, dir, `${path}.script`, issues, trust);
  if (bytes !== undefined && (bytes.includes(0) || bytes.byteLength > 128 * 1024)) issues.push({ path: `${path}.script`, problem: "must be text under 128KiB (it is passed as one argument)" });
  if (issues.length > before) return undefined;
  return Object.freeze({
    argv: Object.freeze([...spec.argv]),
    script: spec.script === undefined || bytes === undefined ? null : Object.freeze({ path: spec.script.path, sha256: spec.script.sha256, bytes }),
  });
}

/**
 * Streams an image once (never held whole): its digest must match the pin and, in strict mode,
 * carry a signature; every entry must pass the image rules. Returns its index for the program check.
 */
function loadImage(ref: { path: string; sha256: string }, dir: string, path: string, issues: PolicyIssue[], trust: PolicyTrust | undefined): { image: ContainerImage; index: ImageIndex } | undefined {
  if (hasDotDot(ref.path)) {
    issues.push({ path: `${path}.path`, problem: "must not contain '..'" });
    return undefined;
  }
  const abs = isAbsolute(ref.path) ? ref.path : resolve(dir, ref.path);
  let scan;
  try {
    scan = scanImage(abs);
  } catch (err) {
    if (!(err instanceof CordonError)) throw err;
    issues.push({ path: `${path}.path`, problem: err.message });
    return undefined;
  }
  if (scan.sha256 !== ref.sha256) {
    issues.push({ path: `${path}.sha256`, problem: `digest mismatch: file is sha256:${scan.sha256}` });
    return undefined;
  }
  trust?.checkArtifactDigest(abs, scan.sha256);
  return { image: Object.freeze({ path: ref.path, absPath: abs, sha256: scan.sha256, bytes: scan.bytes }), index: scan.index };
}

const WASM_PAGE = 65536;

/**
 * The load-time half of `wasm-module-vetting`: the cell runs the same vetModule with the same
 * caps again before it compiles (defence in depth).
 */
function vetAtLoad(name: string, bytes: Uint8Array, limits: Limits): ToolRefused | undefined {
  try {
    vetModule(bytes, { maxBytes: limits.moduleBytes, maxFunctions: limits.maxFunctions, maxMemoryPages: Math.floor(limits.memoryBytes / WASM_PAGE) });
    return undefined;
  } catch (err) {
    if (err instanceof ModuleRefused || err instanceof ModuleMalformed) return new ToolRefused(name, err, "wasm-module-vetting");
    throw err;
  }
}

/** The container runtime a tool names, where its tier has one. */
function containerRuntimeOf(spec: ToolSpec): "crun" | "runsc" | undefined {
  const c = (spec as { readonly container?: { readonly runtime?: unknown } }).container;
  return c?.runtime === "runsc" ? "runsc" : c?.runtime === "crun" ? "crun" : undefined;
}

interface Routing {
  readonly profile: Profile;
  readonly demands: Demands;
}

function loadTool(name: string, spec: ToolSpec, dir: string, issues: PolicyIssue[], trust: PolicyTrust | undefined, refusals: ToolRefused[], routing: Routing): LoadedTool | undefined {
  const path = `tools.${name}`;
  const before = issues.length;
  const verdict = judgeRisk(spec.risk, stackOf(spec.tier, containerRuntimeOf(spec)), routing.demands);
  if (!verdict.ok && routing.profile === "production") issues.push({ path: `${path}.tier`, problem: `${verdict.problem}; refused in the production profile` });
  checkGrantSet(spec.grants, `${path}.grants`, issues);
  const grants = spec.grants.flatMap((g, i) => resolveGrant(g, dir, `${path}.grants.${i}`, issues) ?? []);
  const validateInput = compileInputSchema(spec.input, `${path}.input`);
  if (Array.isArray(validateInput)) issues.push(...validateInput);
  const approval = loadApproval(spec.approval, `${path}.approval`);
  if (Array.isArray(approval)) issues.push(...approval);
  const output = loadOutput(spec.output, `${path}.output`);
  if (Array.isArray(output)) issues.push(...output);
  const base = {
    name,
    description: spec.description,
    risk: spec.risk,
    route: Object.freeze({ level: verdict.level, stack: Object.freeze([...verdict.stack]), weaker: verdict.ok ? null : verdict.problem }),
    limits: Object.freeze({
      memoryBytes: spec.limits.memory,
      fuel: spec.limits.fuel ?? 0,
      wallClockMs: spec.limits.wallClockMs,
      inputBytes: spec.limits.inputBytes,
      outputBytes: spec.limits.outputBytes,
      moduleBytes: spec.limits.moduleBytes ?? DEFAULT_LIMITS.moduleBytes,
      maxFunctions: spec.limits.maxFunctions ?? DEFAULT_LIMITS.maxFunctions,
      maxTableElements: spec.limits.maxTableElements ?? DEFAULT_LIMITS.maxTableElements,
      maxOpenFiles: spec.limits.maxOpenFiles ?? DEFAULT_LIMITS.maxOpenFiles,
      pids: spec.limits.pids ?? DEFAULT_LIMITS.pids,
      diskBytes: spec.limits.disk ?? DEFAULT_LIMITS.diskBytes,
    }),
    grants: Object.freeze(grants),
    inputSchema: Object.freeze(spec.input),
    approval: Array.isArray(approval) ? null : approval,
    output: Array.isArray(output) ? NO_OUTPUT_CHECK : output,
  };
  if (spec.tier === "process" && spec.command !== undefined && spec.abi === "json-stdio") {
    const command = loadCommand(spec.command, dir, `${path}.command`, issues, trust);
    if (issues.length > before || command === undefined || Array.isArray(validateInput)) return undefined;
    return Object.freeze({ ...base, tier: "process", abi: "json-stdio", command, validateInput });
  }
  if (spec.tier === "container" && spec.command !== undefined && spec.container !== undefined && spec.abi === "json-stdio") {
    const image = loadImage(spec.container.image, dir, `${path}.container.image`, issues, trust);
    if (image === undefined) return undefined;
    const command = loadCommand(spec.command, dir, `${path}.command`, issues, trust, (program) => imageProgramProblem(image.index, program));
    // The root is read-only: a grant is mounted on a directory the image already has.
    spec.grants.forEach((g, i) => {
      if (g.kind !== "fs.read" && g.kind !== "fs.write") return;
      const at = resolveInImage(image.index, g.mount);
      if (at?.entry.type !== "dir") issues.push({ path: `${path}.grants.${i}.mount`, problem: `${g.mount} is not a directory in the image (the container's root is read-only, so a grant mounts on one the image has, e.g. /mnt or /srv)` });
    });
    if (issues.length > before || command === undefined || Array.isArray(validateInput)) return undefined;
    return Object.freeze({ ...base, tier: "container", abi: "json-stdio", command, runtime: spec.container.runtime, image: image.image, validateInput });
  }
  if (spec.tier !== "wasm" || spec.module === undefined || spec.abi === "json-stdio") return undefined; // the schema reported it
  const moduleBytes = readPinned(spec.module, dir, `${path}.module`, issues, trust);
  if (issues.length > before || moduleBytes === undefined || Array.isArray(validateInput)) return undefined;
  const refused = vetAtLoad(name, moduleBytes, base.limits);
  if (refused !== undefined) {
    refusals.push(refused);
    return undefined;
  }
  return Object.freeze({ ...base, tier: "wasm", abi: spec.abi, modulePath: spec.module.path, moduleSha256: spec.module.sha256, moduleBytes, validateInput });
}

function isIssues(x: readonly ResourceRoot[] | readonly PolicyIssue[]): x is PolicyIssue[] {
  const first = x[0];
  return first !== undefined && "problem" in first;
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
    // A session's process tools share its /workspace and /tmp, so one size must hold for all of them.
    for (const tier of ["process", "container"] as const) {
      const disks = new Set(r.tools.flatMap((t) => (spec.tools[t]?.tier === tier ? [spec.tools[t]?.limits.disk ?? DEFAULT_LIMITS.diskBytes] : [])));
      if (disks.size > 1) issues.push({ path: `roles.${role}.tools`, problem: `its ${tier} tools share the session's /workspace and /tmp: their limits.disk must be equal` });
    }
    for (const p of r.prompts) if (!(p in spec.prompts)) issues.push({ path: `roles.${role}.prompts`, problem: `unknown prompt '${p}'` });
    const roots = loadResourceRoots(r.resources, r.tools.map((t) => [t, spec.tools[t]] as const), `roles.${role}.resources`);
    if (isIssues(roots)) issues.push(...roots);
  }
  for (const [name, p] of Object.entries(spec.prompts)) {
    const loaded = loadPrompt(name, p, `prompts.${name}`);
    if (Array.isArray(loaded)) issues.push(...loaded);
  }
  const derived = deriveLines(spec);
  issues.push(...derived.issues);
  if (issues.length > 0) throw new PolicyInvalid(issues);
  return { spec, lines: derived.lines };
}

/**
 * Loads a policy file: reads it once, validates everything, reads and digest-checks modules.
 * With `trust` (strict mode), the policy and every module and script must also carry a valid
 * signature by a signer the trust bundle allows, checked on the same bytes that are used.
 * Throws PolicyInvalid (every problem), then ToolRefused (enforcer `wasm-module-vetting`) for
 * the first verified module that its vetting refuses.
 */
export function loadPolicy(path: string, trust?: PolicyTrust): LoadedPolicy {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    throw new ArtifactUnreadable(path, (err as NodeJS.ErrnoException).code ?? "read failed");
  }
  trust?.checkPolicy(resolve(path), bytes);
  const dir = realpathSync(dirname(resolve(path)));
  const { spec, lines } = parsePolicy(bytes.toString("utf8"));
  const issues: PolicyIssue[] = [];
  const tools = new Map<string, LoadedTool>();
  const refusals: ToolRefused[] = [];
  for (const [name, t] of Object.entries(spec.tools)) {
    const loaded = loadTool(name, t, dir, issues, trust, refusals, { profile: spec.profile, demands: spec.demands });
    if (loaded !== undefined) tools.set(name, loaded);
  }
  if (issues.length > 0) throw new PolicyInvalid(issues);
  const [refused] = refusals;
  if (refused !== undefined) throw refused;
  return Object.freeze({
    path: resolve(path),
    sha256: sha256Hex(bytes),
    roles: new Map(Object.entries(spec.roles).map(([k, v]) => [k, Object.freeze([...v.tools])])),
    tools,
    lines: Object.freeze(lines),
    profile: spec.profile,
    prompts: new Map(Object.entries(spec.prompts).map(([name, p]) => [name, loadPrompt(name, p, `prompts.${name}`) as LoadedPrompt])),
    rolePrompts: new Map(Object.entries(spec.roles).map(([k, v]) => [k, Object.freeze([...v.prompts])])),
    resources: new Map(Object.entries(spec.roles).map(([k, v]) => [k, Object.freeze(loadResourceRoots(v.resources, v.tools.map((t) => [t, spec.tools[t]] as const), `roles.${k}.resources`) as ResourceRoot[])])),
  });
}
