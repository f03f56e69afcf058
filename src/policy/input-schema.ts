// A tool's input schema is JSON Schema, restricted to keywords cordon actually enforces.
// zod's fromJSONSchema ignores keywords it does not know, so an unknown keyword here is an
// error: a schema that looks stricter than it is would be a wish.
import { z } from "zod";
import type { PolicyIssue } from "../errors.js";

const SCHEMA_KEYWORDS = new Set([
  "type",
  "properties",
  "required",
  "additionalProperties",
  "items",
  "enum",
  "const",
  "minimum",
  "maximum",
  "exclusiveMinimum",
  "exclusiveMaximum",
  "minLength",
  "maxLength",
  "pattern",
  "minItems",
  "maxItems",
  "description",
  "title",
]);
const SUBSCHEMA_MAPS = new Set(["properties"]);
const SUBSCHEMAS = new Set(["items", "additionalProperties"]);

export type InputValidator = (value: unknown) => PolicyIssue[];

/** Returns the problems with a schema, each with a JSON path; empty means usable. */
export function checkInputSchema(schema: unknown, path: string): PolicyIssue[] {
  if (typeof schema === "boolean") return [];
  if (typeof schema !== "object" || schema === null || Array.isArray(schema)) {
    return [{ path, problem: "schema must be an object" }];
  }
  const issues: PolicyIssue[] = [];
  for (const [key, value] of Object.entries(schema as Record<string, unknown>)) {
    if (!SCHEMA_KEYWORDS.has(key)) {
      issues.push({ path: `${path}.${key}`, problem: `unsupported JSON Schema keyword (supported: ${[...SCHEMA_KEYWORDS].join(", ")})` });
    } else if (SUBSCHEMA_MAPS.has(key)) {
      if (typeof value !== "object" || value === null) issues.push({ path: `${path}.${key}`, problem: "must be an object" });
      else for (const [name, sub] of Object.entries(value)) issues.push(...checkInputSchema(sub, `${path}.${key}.${name}`));
    } else if (SUBSCHEMAS.has(key)) {
      issues.push(...checkInputSchema(value, `${path}.${key}`));
    }
  }
  return issues;
}

/**
 * Compiles a checked schema into a validator. Throws nothing for a schema checkInputSchema
 * accepted. `root` names the value in the problems it reports (a tool's input, or its output).
 */
export function compileInputSchema(schema: Record<string, unknown>, path: string, root = "input"): InputValidator | PolicyIssue[] {
  const issues = checkInputSchema(schema, path);
  if (schema["type"] !== "object") issues.push({ path: `${path}.type`, problem: "a tool's input must be of type object" });
  if (issues.length > 0) return issues;
  let compiled: z.ZodType;
  try {
    compiled = z.fromJSONSchema(schema);
  } catch (err) {
    return [{ path, problem: `schema does not compile: ${(err as Error).message}` }];
  }
  return (value: unknown) => {
    const result = compiled.safeParse(value);
    if (result.success) return [];
    return result.error.issues.map((i) => ({ path: [root, ...i.path.map(String)].join("."), problem: i.message }));
  };
}
