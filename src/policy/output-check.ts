// A tool's results, as its policy allows them: which MCP content types they may hold, and the
// JSON Schema their structured content must match. Pure: a guest's JSON document in, either
// the checked result or the problems with it. Nothing leaves the control plane unchecked.
//
// The convention a guest writes to (guests/README.md):
// - no `output.content` in the policy: the document is the result; it becomes one text block
//   (a JSON string as its text, anything else as JSON) and, when it is an object, also the
//   structured content (checked against `output.schema` when the policy has one);
// - with `output.content`: the document is `{"content": [blocks], "structuredContent"?: {...}}`,
//   blocks being MCP's text, image, audio and (embedded) resource blocks, each of a declared type.
import type { Json, PolicyIssue } from "../errors.js";
import { compileInputSchema, type InputValidator } from "./input-schema.js";
import type { ContentType, OutputSpec } from "./schema.js";

export interface LoadedOutput {
  /** Declared content types, or null: the whole document is one text result. */
  readonly content: readonly ContentType[] | null;
  /** The output schema (the tool's advertised outputSchema), or null. */
  readonly schema: Readonly<Record<string, unknown>> | null;
  readonly validate: InputValidator | null;
}

export const NO_OUTPUT_CHECK: LoadedOutput = Object.freeze({ content: null, schema: null, validate: null });

export type ContentBlock =
  | { readonly type: "text"; readonly text: string }
  | { readonly type: "image" | "audio"; readonly data: string; readonly mimeType: string }
  | { readonly type: "resource"; readonly resource: { readonly uri: string; readonly mimeType?: string } & ({ readonly text: string } | { readonly blob: string }) };

/** A checked result: explicit blocks (null: the document as one text block) and structured content. */
export interface CheckedResult {
  readonly blocks: readonly ContentBlock[] | null;
  readonly structured: { readonly [key: string]: Json } | null;
}

const MAX_BLOCKS = 64;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const MIME = /^[a-z0-9][a-z0-9!#$&^_.+-]{0,63}\/[a-z0-9][a-z0-9!#$&^_.+-]{0,63}$/;

export function loadOutput(spec: OutputSpec | undefined, path: string): LoadedOutput | PolicyIssue[] {
  if (spec === undefined) return NO_OUTPUT_CHECK;
  let validate: InputValidator | null = null;
  if (spec.schema !== undefined) {
    const compiled = compileInputSchema(spec.schema, `${path}.schema`, "structuredContent");
    if (Array.isArray(compiled)) return compiled;
    validate = compiled;
  }
  return Object.freeze({ content: spec.content === undefined ? null : Object.freeze([...spec.content]), schema: spec.schema === undefined ? null : Object.freeze({ ...spec.schema }), validate });
}

const isObj = (v: unknown): v is { [key: string]: Json } => typeof v === "object" && v !== null && !Array.isArray(v);
const isBase64 = (s: unknown): s is string => typeof s === "string" && s.length > 0 && s.length % 4 === 0 && BASE64.test(s);
const only = (o: Record<string, unknown>, keys: readonly string[]): string | undefined => Object.keys(o).find((k) => !keys.includes(k));

function checkBlock(b: unknown, allowed: readonly ContentType[], at: string): PolicyIssue[] {
  const bad = (problem: string): PolicyIssue[] => [{ path: at, problem }];
  if (!isObj(b)) return bad("a content block is an object");
  const type = b["type"];
  if (typeof type !== "string") return bad("type must be a string");
  if (!(allowed as readonly string[]).includes(type)) return bad(`type ${JSON.stringify(type.slice(0, 32))} is not declared (the tool may return ${allowed.join(", ")})`);
  switch (type as ContentType) {
    case "text": {
      const extra = only(b, ["type", "text"]);
      if (extra !== undefined) return bad(`unknown member ${extra.slice(0, 32)}`);
      return typeof b["text"] === "string" ? [] : bad("text must be a string");
    }
    case "image":
    case "audio": {
      const extra = only(b, ["type", "data", "mimeType"]);
      if (extra !== undefined) return bad(`unknown member ${extra.slice(0, 32)}`);
      if (!isBase64(b["data"])) return bad("data must be base64");
      const mime = b["mimeType"];
      return typeof mime === "string" && MIME.test(mime) && mime.startsWith(`${type}/`) ? [] : bad(`mimeType must be ${type}/…`);
    }
    case "resource": {
      const extra = only(b, ["type", "resource"]);
      const r = b["resource"];
      if (extra !== undefined || !isObj(r)) return bad("a resource block is {type, resource: {uri, mimeType?, text | blob}}");
      const extraR = only(r, ["uri", "mimeType", "text", "blob"]);
      if (extraR !== undefined) return bad(`unknown member resource.${extraR.slice(0, 32)}`);
      if (typeof r["uri"] !== "string" || r["uri"].length === 0 || r["uri"].length > 2048 || !/^[a-zA-Z][a-zA-Z0-9+.-]*:/.test(r["uri"])) return bad("resource.uri must be a URI");
      if (r["mimeType"] !== undefined && (typeof r["mimeType"] !== "string" || !MIME.test(r["mimeType"]))) return bad("resource.mimeType must be a MIME type");
      const hasText = r["text"] !== undefined;
      const hasBlob = r["blob"] !== undefined;
      if (hasText === hasBlob) return bad("resource has exactly one of text and blob");
      if (hasText && typeof r["text"] !== "string") return bad("resource.text must be a string");
      if (hasBlob && !isBase64(r["blob"])) return bad("resource.blob must be base64");
      return [];
    }
  }
}

function checkStructured(output: LoadedOutput, value: Json | undefined, at: string): { structured: { [key: string]: Json } | null; issues: PolicyIssue[] } {
  if (output.validate === null) return { structured: isObj(value) ? value : null, issues: [] };
  if (!isObj(value)) return { structured: null, issues: [{ path: at, problem: "the tool declares an output schema: its result must carry an object that matches it" }] };
  return { structured: value, issues: output.validate(value) };
}

/** The result a guest's document makes under its tool's output policy, or why it may not leave. */
export function checkResult(output: LoadedOutput, doc: Json): { ok: true; result: CheckedResult } | { ok: false; issues: PolicyIssue[] } {
  if (output.content === null) {
    const { structured, issues } = checkStructured(output, doc, "structuredContent");
    return issues.length > 0 ? { ok: false, issues } : { ok: true, result: { blocks: null, structured } };
  }
  if (!isObj(doc)) return { ok: false, issues: [{ path: "(result)", problem: 'must be {"content": [...]} (the tool declares its content types)' }] };
  const extra = only(doc, ["content", "structuredContent"]);
  if (extra !== undefined) return { ok: false, issues: [{ path: extra.slice(0, 64), problem: "a result holds content and structuredContent only" }] };
  const blocks = doc["content"];
  if (!Array.isArray(blocks) || blocks.length > MAX_BLOCKS) return { ok: false, issues: [{ path: "content", problem: `must be a list of at most ${MAX_BLOCKS} content blocks` }] };
  const issues = blocks.flatMap((b, i) => checkBlock(b, output.content ?? [], `content[${i}]`));
  const s = checkStructured(output, doc["structuredContent"], "structuredContent");
  issues.push(...(doc["structuredContent"] === undefined && output.validate === null ? [] : s.issues));
  if (issues.length > 0) return { ok: false, issues };
  return { ok: true, result: { blocks: blocks as unknown as ContentBlock[], structured: s.structured } };
}
