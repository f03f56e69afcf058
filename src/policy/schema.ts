// The policy file's shape, as zod schemas. Every object is strict: an unknown key is an error,
// because a misspelt limit must never silently mean "no limit".
import { z } from "zod";

const NAME = /^[a-z][a-z0-9-]{0,62}$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;
const SIZE = /^(\d+)\s*(B|KiB|MiB|GiB)$/;

export const toolName = z.string().regex(NAME, "must be lowercase kebab-case, 1-63 characters");

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
  z.object({ kind: z.literal("clock"), ...enforcerRef }).strict(),
  z.object({ kind: z.literal("random"), ...enforcerRef }).strict(),
  z.object({ kind: z.literal("log"), ...enforcerRef }).strict(),
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
    fuel: positiveInt,
    wallClockMs: positiveInt.max(3_600_000),
    inputBytes: sizeSchema,
    outputBytes: sizeSchema,
    moduleBytes: sizeSchema.optional(),
    maxFunctions: positiveInt.max(1_000_000).optional(),
    maxTableElements: positiveInt.max(10_000_000).optional(),
    maxOpenFiles: positiveInt.max(1024).optional(),
  })
  .strict();

export const toolSchema = z
  .object({
    description: z.string().min(1).max(1024),
    module: z
      .object({
        path: z.string().min(1),
        sha256: z.string().regex(/^[0-9a-f]{64}$/, "must be 64 lowercase hex characters"),
      })
      .strict(),
    abi: z.enum(["wasi-command", "reactor"]),
    risk: z.enum(["pure-compute", "file-ops", "build-test", "untrusted-code"]),
    tier: z.enum(["wasm", "process", "container", "microvm"]),
    limits: limitsSchema,
    grants: z.array(grantSchema).default([]),
    /** JSON Schema for the tool's input (a supported subset; see input-schema.ts). */
    input: z.record(z.string(), z.unknown()),
  })
  .strict();

export const roleSchema = z
  .object({
    description: z.string().max(1024).optional(),
    tools: z.array(toolName).max(256),
  })
  .strict();

export const policySchema = z
  .object({
    version: z.literal(1),
    roles: z.record(toolName, roleSchema),
    tools: z.record(toolName, toolSchema),
  })
  .strict();

export type PolicySpec = z.infer<typeof policySchema>;
export type ToolSpec = z.infer<typeof toolSchema>;
export type LimitsSpec = z.infer<typeof limitsSchema>;
