// The policy file's shape, as zod schemas. Every object is strict: an unknown key is an error,
// because a misspelt limit must never silently mean "no limit".
import { z } from "zod";

const NAME = /^[a-z][a-z0-9_-]{0,62}$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;
const SIZE = /^(\d+)\s*(B|KiB|MiB|GiB)$/;

export const toolName = z.string().regex(NAME, "must be lowercase letters, digits, '-' or '_', starting with a letter, 1-63 characters");

const enforcerRef = {
  /** A name from the enforcer registry. Missing, unknown or "TBD" makes the line a wish. */
  enforcer: z.string().min(1).optional(),
  /** The probe id(s) that show the enforcer firing. Missing makes the line a wish. */
  check: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).optional(),
};

const fsGrant = (kind: "fs.read" | "fs.write") =>
  z
    .object({
      kind: z.literal(kind),
      /** Host directory, relative to the policy file's directory. */
      path: z.string().min(1),
      /** Where the guest sees it, e.g. /data. */
      mount: z.string().regex(/^\/[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/, "must be an absolute guest path like /data"),
      ...enforcerRef,
    })
    .strict();

export const grantSchema = z.discriminatedUnion("kind", [
  fsGrant("fs.read"),
  fsGrant("fs.write"),
  z
    .object({
      kind: z.literal("env"),
      name: z.string().regex(ENV_NAME, "must be a valid environment variable name"),
      value: z.string().max(4096).refine((v) => !v.includes("\0"), "must not contain NUL"),
      ...enforcerRef,
    })
    .strict(),
  z
    .object({
      kind: z.literal("exec"),
      /** Process tier: where the tool may run files it wrote itself (a build-and-test tool). */
      mount: z.enum(["/workspace", "/tmp"]),
      ...enforcerRef,
    })
    .strict(),
  z.object({ kind: z.literal("clock"), ...enforcerRef }).strict(),
  z.object({ kind: z.literal("random"), ...enforcerRef }).strict(),
  z.object({ kind: z.literal("log"), ...enforcerRef }).strict(),
  /** Wasm: `cordon.progress(done, total)`, reported to a client that asked for progress. */
  z.object({ kind: z.literal("progress"), ...enforcerRef }).strict(),
  /** Wasm: `cordon.sample(...)`, a request to the client's model: at most maxRequests per call, each at most maxTokens. */
  z
    .object({
      kind: z.literal("sampling"),
      maxRequests: z.number().int().positive().max(64),
      maxTokens: z.number().int().positive().max(65_536),
      ...enforcerRef,
    })
    .strict(),
]);

export type GrantSpec = z.infer<typeof grantSchema>;

const positiveInt = z.number().int().positive().max(Number.MAX_SAFE_INTEGER);

export const sizeSchema = z
  .union([positiveInt, z.string().regex(SIZE, "must be a size such as 16MiB")])
  .transform((v) => {
    if (typeof v === "number") return v;
    const m = SIZE.exec(v);
    const unit = { B: 1, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3 }[m?.[2] as "B"];
    return Number(m?.[1]) * unit;
  });

export const limitsSchema = z
  .object({
    memory: sizeSchema.refine((b) => b % 65536 === 0, "must be a multiple of 64KiB (one Wasm page)").refine(
      (b) => b <= 4 * 1024 ** 3,
      "must be at most 4GiB",
    ),
    /** Wasm only: deterministic fuel per call. */
    fuel: positiveInt.optional(),
    wallClockMs: positiveInt.max(3_600_000),
    inputBytes: sizeSchema,
    outputBytes: sizeSchema,
    moduleBytes: sizeSchema.optional(),
    maxFunctions: positiveInt.max(1_000_000).optional(),
    maxTableElements: positiveInt.max(10_000_000).optional(),
    maxOpenFiles: positiveInt.max(1024).optional(),
    /** Process and container tiers: processes (pids.max of the call's cgroup); default 16. */
    pids: positiveInt.max(4096).optional(),
    /**
     * Most bytes a tool can write anywhere: each of a process tool's size-capped /workspace and
     * /tmp, and the filesystem of any writable grant (default 64MiB).
     */
    disk: sizeSchema.refine((b) => b >= 64 * 1024 && b <= 64 * 1024 ** 3, "must be between 64KiB and 64GiB").optional(),
  })
  .strict();

const artifactRef = z
  .object({
    path: z.string().min(1),
    sha256: z.string().regex(/^[0-9a-f]{64}$/, "must be 64 lowercase hex characters"),
  })
  .strict();

/** `{script}` in argv is replaced by the verified script text (read once, digest-checked). */
export const SCRIPT_PLACEHOLDER = "{script}";

const commandSchema = z
  .object({
    argv: z
      .array(z.string().max(4096).refine((a) => !a.includes("\0"), "must not contain NUL"))
      .min(1)
      .max(64),
    script: artifactRef.optional(),
  })
  .strict();

/** Container tier: which OCI runtime runs the tool, and the root filesystem it runs in. */
const containerSchema = z
  .object({
    /** crun (the default) or runsc (gVisor: a user-space kernel between the tool and the host's). */
    runtime: z.enum(["crun", "runsc"]).default("crun"),
    /** A root filesystem tar, pinned by digest and signed like a module; unpacked read-only. */
    image: artifactRef,
  })
  .strict();

/**
 * Human approval of each call. The long form names the question and a form (an elicitation
 * requestedSchema: a flat object of primitive fields, checked in approval-form.ts) whose answers
 * reach the tool as `$approval` in its input.
 */
export const approvalSchema = z.union([
  z.enum(["required", "none"]),
  z
    .object({
      required: z.literal(true),
      /** Shown to the user; `{{name}}` is replaced by the call's string argument `name`. */
      message: z.string().min(1).max(2048).optional(),
      form: z.record(z.string(), z.unknown()).optional(),
    })
    .strict(),
]);

export const CONTENT_TYPES = ["text", "image", "audio", "resource"] as const;
export type ContentType = (typeof CONTENT_TYPES)[number];

export const outputSchema = z
  .object({
    /** The content block types a result may hold (the guest writes `{"content": [...]}`). */
    content: z.array(z.enum(CONTENT_TYPES)).min(1).max(CONTENT_TYPES.length).optional(),
    /** JSON Schema of the result's structuredContent (advertised as the tool's outputSchema). */
    schema: z.record(z.string(), z.unknown()).optional(),
  })
  .strict();

export const toolSchema = z
  .object({
    description: z.string().min(1).max(1024),
    /** Wasm tier: the module, pinned by digest. */
    module: artifactRef.optional(),
    /** Process tier: the command, as an argv (never a shell string). */
    command: commandSchema.optional(),
    /** Container tier: the runtime and the image the command runs in. */
    container: containerSchema.optional(),
    /** wasi-command and reactor are Wasm ABIs; json-stdio is the process tier's (JSON in on stdin, JSON out on stdout). */
    abi: z.enum(["wasi-command", "reactor", "json-stdio"]),
    risk: z.enum(["pure-compute", "file-ops", "build-test", "untrusted-code"]),
    tier: z.enum(["wasm", "process", "container", "microvm"]),
    limits: limitsSchema,
    grants: z.array(grantSchema).default([]),
    /** JSON Schema for the tool's input (a supported subset; see input-schema.ts). */
    input: z.record(z.string(), z.unknown()),
    /** `required`: a person approves each call through the client (elicitation) before it runs. */
    approval: approvalSchema.default("none"),
    /** What a result may carry: MCP content types, and a JSON Schema for its structured content. */
    output: outputSchema.optional(),
  })
  .strict()
  .superRefine((t, ctx) => {
    const problem = (path: string, message: string) => ctx.addIssue({ code: "custom", path: [path], message });
    if (t.tier === "wasm") {
      if (t.module === undefined) problem("module", "a wasm tool needs a module");
      if (t.command !== undefined) problem("command", "a wasm tool has a module, not a command");
      if (t.container !== undefined) problem("container", "a wasm tool runs in a cell, not in a container");
      if (t.abi === "json-stdio") problem("abi", "json-stdio is the process tier's ABI");
      if (t.limits.fuel === undefined) problem("limits", "a wasm tool needs limits.fuel");
      if (t.limits.pids !== undefined) problem("limits", "limits.pids applies to the process tier only");
      for (const g of t.grants) if (g.kind === "exec") problem("grants", "exec applies to the process tier only (a Wasm guest runs nothing but its module)");
    } else if (t.tier === "process") {
      if (t.command === undefined) problem("command", "a process tool needs a command");
      if (t.module !== undefined) problem("module", "a process tool has a command, not a module");
      if (t.abi !== "json-stdio") problem("abi", "a process tool's abi is json-stdio");
      if (t.limits.fuel !== undefined) problem("limits", "fuel applies to the wasm tier only (the process tier has wallClockMs)");
      if (t.container !== undefined) problem("container", "a process tool runs on the host's /usr, not in a container image");
      for (const g of t.grants) if (g.kind !== "fs.read" && g.kind !== "fs.write" && g.kind !== "exec") problem("grants", `a process tool cannot be granted ${g.kind} (only fs.read, fs.write and exec)`);
    } else if (t.tier === "container") {
      if (t.command === undefined) problem("command", "a container tool needs a command (an argv inside its image)");
      if (t.container === undefined) problem("container", "a container tool needs container: { runtime, image: { path, sha256 } }");
      if (t.module !== undefined) problem("module", "a container tool has a command, not a module");
      if (t.abi !== "json-stdio") problem("abi", "a container tool's abi is json-stdio");
      if (t.limits.fuel !== undefined) problem("limits", "fuel applies to the wasm tier only (the container tier has wallClockMs)");
      for (const g of t.grants) if (g.kind !== "fs.read" && g.kind !== "fs.write" && g.kind !== "exec") problem("grants", `a container tool cannot be granted ${g.kind} (only fs.read, fs.write and exec)`);
    } else {
      problem("tier", `tier ${t.tier} is not available in this build (wasm, process and container are)`);
    }
  });

const GUEST_PATH = /^\/[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/;

/** A read grant of one of the role's Wasm tools, served as MCP resources (read in the cell, through the jail). */
export const resourceRootSchema = z
  .object({
    /** The grant's mount, e.g. /data. */
    mount: z.string().regex(GUEST_PATH, "must be an absolute guest path like /data"),
    /** URI prefix of its files (default file://<mount>/); a file's URI is the prefix and its path under the mount. */
    uri: z.string().min(3).max(256).regex(/^[a-z][a-z0-9+.-]*:[^\s{}]*$/, "must be a URI prefix such as file:///data/ or test://").optional(),
    description: z.string().max(1024).optional(),
    /** Largest file served (default 1MiB). */
    maxBytes: sizeSchema.refine((b) => b <= 16 * 1024 ** 2, "must be at most 16MiB").optional(),
    templates: z
      .array(
        z
          .object({
            /** RFC 6570 level-1 template under the root's prefix, e.g. file:///data/{name}. */
            uriTemplate: z.string().min(1).max(512),
            name: z.string().min(1).max(128),
            description: z.string().max(1024).optional(),
            mimeType: z.string().max(128).optional(),
          })
          .strict(),
      )
      .max(16)
      .default([]),
  })
  .strict();

export const roleSchema = z
  .object({
    description: z.string().max(1024).optional(),
    tools: z.array(toolName).max(256),
    /** Prompts (policy `prompts:`) this role's sessions offer. */
    prompts: z.array(toolName).max(256).default([]),
    /** Read grants of the role's Wasm tools its sessions may list and read as resources. */
    resources: z.array(resourceRootSchema).max(16).default([]),
  })
  .strict();

const ARGUMENT_NAME = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

const promptContentSchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("text"), text: z.string().min(1).max(64 * 1024) }).strict(),
  z.object({ type: z.literal("image"), mimeType: z.string().regex(/^image\/[a-z0-9.+-]+$/), data: z.string().min(4).max(256 * 1024).regex(BASE64, "must be base64") }).strict(),
  z.object({ type: z.literal("audio"), mimeType: z.string().regex(/^audio\/[a-z0-9.+-]+$/), data: z.string().min(4).max(256 * 1024).regex(BASE64, "must be base64") }).strict(),
  z
    .object({
      type: z.literal("resource"),
      resource: z.object({ uri: z.string().min(1).max(512), mimeType: z.string().max(128).optional(), text: z.string().max(64 * 1024) }).strict(),
    })
    .strict(),
]);

/** A prompt template from the signed policy: `{{argument}}` in its texts is replaced by the argument. */
export const promptSchema = z
  .object({
    title: z.string().max(256).optional(),
    description: z.string().min(1).max(1024),
    arguments: z
      .array(
        z
          .object({
            name: z.string().regex(ARGUMENT_NAME, "must be a name like topic or resourceUri"),
            description: z.string().max(1024).optional(),
            required: z.boolean().default(false),
            /** Values completion/complete offers for this argument (prefix match). */
            completions: z.array(z.string().min(1).max(256)).max(1000).optional(),
          })
          .strict(),
      )
      .max(32)
      .default([]),
    messages: z.array(z.object({ role: z.enum(["user", "assistant"]), content: promptContentSchema }).strict()).min(1).max(64),
  })
  .strict();

const LEVEL = z.enum(["low", "medium", "high", "very-high"]);

export const policySchema = z
  .object({
    version: z.literal(1),
    /**
     * production (the default): a tool whose tier is weaker than its risk demands is refused at
     * load. local-dev: it runs, and every record and prove row of it says it is weaker.
     */
    profile: z.enum(["local-dev", "production"]).default("production"),
    /** Raise (never lower) the stack a risk demands: seed 002's low, medium, high, very-high. */
    demands: z.object({ "pure-compute": LEVEL.optional(), "file-ops": LEVEL.optional(), "build-test": LEVEL.optional(), "untrusted-code": LEVEL.optional() }).strict().default({}),
    roles: z.record(toolName, roleSchema),
    tools: z.record(toolName, toolSchema),
    prompts: z.record(toolName, promptSchema).default({}),
  })
  .strict();

export type PolicySpec = z.infer<typeof policySchema>;
export type ToolSpec = z.infer<typeof toolSchema>;
export type LimitsSpec = z.infer<typeof limitsSchema>;
export type ApprovalSpec = z.infer<typeof approvalSchema>;
export type OutputSpec = z.infer<typeof outputSchema>;
export type PromptSpec = z.infer<typeof promptSchema>;
export type ResourceRootSpec = z.infer<typeof resourceRootSchema>;
