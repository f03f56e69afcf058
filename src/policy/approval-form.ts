// Human approval, as data: the question a tool's `approval:` line asks and the form its answer
// must fit. The form is an MCP elicitation requestedSchema, restricted as the spec restricts it
// (a flat object of string, number, integer, boolean and multi-select fields), checked at load;
// an answer is checked against it before anything runs. Pure: no I/O.
import type { Json, PolicyIssue } from "../errors.js";
import type { ApprovalSpec } from "./schema.js";

/** A form field, as the client sees it (the schema's property, verbatim). */
export type FormField = Readonly<Record<string, Json>>;

export interface ApprovalForm {
  readonly type: "object";
  readonly properties: Readonly<Record<string, FormField>>;
  readonly required: readonly string[];
}

export interface LoadedApproval {
  /** The question; `{{name}}` stands for the call's string argument `name`. Null: cordon's own wording. */
  readonly message: string | null;
  /** The form the policy declares (its answers reach the tool as `$approval`), or null: approve yes/no. */
  readonly form: ApprovalForm | null;
}

/** The key the answers of a policy-declared form reach the tool under; callers may never send it. */
export const APPROVAL_INPUT_KEY = "$approval";

/** The form when the policy declares none: one boolean that must be true. */
export const DEFAULT_APPROVAL_FORM: ApprovalForm = Object.freeze({
  type: "object",
  properties: Object.freeze({ approve: Object.freeze({ type: "boolean", title: "Run this call?", description: "cordon runs it only if you say yes", default: false }) }),
  required: Object.freeze(["approve"]),
});

const FIELD_NAME = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;
const MAX_FIELDS = 32;
const MAX_OPTIONS = 100;
const COMMON = ["type", "title", "description"];
const KEYS: Readonly<Record<string, readonly string[]>> = {
  string: [...COMMON, "minLength", "maxLength", "format", "default", "enum", "enumNames", "oneOf"],
  number: [...COMMON, "minimum", "maximum", "default"],
  integer: [...COMMON, "minimum", "maximum", "default"],
  boolean: [...COMMON, "default"],
  array: [...COMMON, "minItems", "maxItems", "items", "default"],
};
const FORMATS = new Set(["email", "uri", "date", "date-time"]);

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const isStrList = (v: unknown, max = MAX_OPTIONS): v is string[] => Array.isArray(v) && v.length > 0 && v.length <= max && v.every((x) => typeof x === "string" && x.length <= 256);
const isCount = (v: unknown): boolean => typeof v === "number" && Number.isSafeInteger(v) && v >= 0;

/** `[{const, title}]` options (titled enums, SEP-1330). */
function titledOptions(v: unknown): string[] | null {
  if (!Array.isArray(v) || v.length === 0 || v.length > MAX_OPTIONS) return null;
  const out: string[] = [];
  for (const o of v) {
    if (!isObj(o) || typeof o["const"] !== "string" || (o["title"] !== undefined && typeof o["title"] !== "string") || Object.keys(o).some((k) => k !== "const" && k !== "title")) return null;
    out.push(o["const"]);
  }
  return out;
}

/** The values a field accepts when it is a choice (string enums, titled or not), else null. */
function choices(field: Record<string, unknown>): string[] | null {
  if (field["enum"] !== undefined) return isStrList(field["enum"]) ? field["enum"] : null;
  if (field["oneOf"] !== undefined) return titledOptions(field["oneOf"]);
  return null;
}

/** The values each item of a multi-select may take. */
function itemChoices(items: unknown): string[] | null {
  if (!isObj(items)) return null;
  if (items["type"] === "string" && Object.keys(items).every((k) => k === "type" || k === "enum")) return isStrList(items["enum"]) ? items["enum"] : null;
  if (Object.keys(items).every((k) => k === "anyOf")) return titledOptions(items["anyOf"]);
  return null;
}

function checkField(name: string, field: unknown, at: string): PolicyIssue[] {
  if (!FIELD_NAME.test(name)) return [{ path: at, problem: "a field name is letters, digits and _, starting with a letter" }];
  if (!isObj(field)) return [{ path: at, problem: "must be an object" }];
  const type = field["type"];
  const allowed = typeof type === "string" ? KEYS[type] : undefined;
  if (allowed === undefined) return [{ path: `${at}.type`, problem: "must be string, number, integer, boolean or array (a flat form)" }];
  const issues: PolicyIssue[] = [];
  for (const k of Object.keys(field)) if (!allowed.includes(k)) issues.push({ path: `${at}.${k}`, problem: `not allowed on a ${String(type)} field of an elicitation form` });
  for (const k of ["title", "description"]) if (field[k] !== undefined && (typeof field[k] !== "string" || field[k].length > 1024)) issues.push({ path: `${at}.${k}`, problem: "must be a string" });
  for (const k of ["minLength", "maxLength", "minItems", "maxItems"]) if (field[k] !== undefined && !isCount(field[k])) issues.push({ path: `${at}.${k}`, problem: "must be a count" });
  for (const k of ["minimum", "maximum"]) if (field[k] !== undefined && (typeof field[k] !== "number" || !Number.isFinite(field[k]))) issues.push({ path: `${at}.${k}`, problem: "must be a number" });
  if (type === "string") {
    const format = field["format"];
    if (format !== undefined && (typeof format !== "string" || !FORMATS.has(format))) issues.push({ path: `${at}.format`, problem: "must be email, uri, date or date-time" });
    if (field["enum"] !== undefined && field["oneOf"] !== undefined) issues.push({ path: at, problem: "enum and oneOf exclude each other" });
    if ((field["enum"] !== undefined || field["oneOf"] !== undefined) && choices(field) === null) issues.push({ path: at, problem: "enum is a list of strings; oneOf a list of {const, title}" });
    if (field["enumNames"] !== undefined && (!isStrList(field["enumNames"]) || !Array.isArray(field["enum"]) || field["enumNames"].length !== field["enum"].length)) issues.push({ path: `${at}.enumNames`, problem: "must name each enum value" });
  }
  if (type === "array" && itemChoices(field["items"]) === null) issues.push({ path: `${at}.items`, problem: "a multi-select's items are {type: string, enum: [...]} or {anyOf: [{const, title}]}" });
  if (field["default"] !== undefined && issues.length === 0) {
    for (const i of checkValue(field, field["default"] as Json, `${at}.default`)) issues.push(i);
  }
  return issues;
}

/** Problems with a policy-declared form (empty: usable as an elicitation requestedSchema). */
export function checkApprovalForm(form: unknown, path: string): PolicyIssue[] {
  if (!isObj(form)) return [{ path, problem: "must be an object" }];
  const issues: PolicyIssue[] = [];
  for (const k of Object.keys(form)) if (k !== "type" && k !== "properties" && k !== "required") issues.push({ path: `${path}.${k}`, problem: "a form has type, properties and required only" });
  if (form["type"] !== "object") issues.push({ path: `${path}.type`, problem: "must be object" });
  const props = form["properties"];
  if (!isObj(props) || Object.keys(props).length === 0 || Object.keys(props).length > MAX_FIELDS) return [...issues, { path: `${path}.properties`, problem: `must name 1 to ${MAX_FIELDS} fields` }];
  for (const [name, field] of Object.entries(props)) issues.push(...checkField(name, field, `${path}.properties.${name}`));
  const required = form["required"] ?? [];
  if (!Array.isArray(required) || !required.every((r) => typeof r === "string" && Object.hasOwn(props, r))) issues.push({ path: `${path}.required`, problem: "must list fields of properties" });
  return issues;
}

function checkValue(field: Readonly<Record<string, unknown>>, v: Json, at: string): PolicyIssue[] {
  const bad = (problem: string): PolicyIssue[] => [{ path: at, problem }];
  switch (field["type"]) {
    case "string": {
      if (typeof v !== "string") return bad("must be a string");
      const options = choices(field);
      if (options !== null && !options.includes(v)) return bad("is not one of the choices");
      if (typeof field["minLength"] === "number" && v.length < field["minLength"]) return bad("is too short");
      if (v.length > (typeof field["maxLength"] === "number" ? field["maxLength"] : 4096)) return bad("is too long");
      return [];
    }
    case "number":
    case "integer":
      if (typeof v !== "number" || !Number.isFinite(v)) return bad("must be a number");
      if (field["type"] === "integer" && !Number.isSafeInteger(v)) return bad("must be an integer");
      if (typeof field["minimum"] === "number" && v < field["minimum"]) return bad("is below the minimum");
      if (typeof field["maximum"] === "number" && v > field["maximum"]) return bad("is above the maximum");
      return [];
    case "boolean":
      return typeof v === "boolean" ? [] : bad("must be true or false");
    case "array": {
      const options = itemChoices(field["items"]) ?? [];
      if (!Array.isArray(v) || !v.every((x) => typeof x === "string" && options.includes(x))) return bad("must be a list of the choices");
      if (new Set(v).size !== v.length) return bad("lists a choice twice");
      if (typeof field["minItems"] === "number" && v.length < field["minItems"]) return bad("has too few choices");
      if (typeof field["maxItems"] === "number" && v.length > field["maxItems"]) return bad("has too many choices");
      return [];
    }
    default:
      return bad("has no usable type");
  }
}

/** Problems with an answer's content against its form (the client is not trusted to have checked). */
export function checkApprovalAnswer(form: ApprovalForm, content: unknown): PolicyIssue[] {
  if (!isObj(content)) return [{ path: "answer", problem: "must be an object" }];
  const issues: PolicyIssue[] = [];
  for (const [k, v] of Object.entries(content)) {
    const field = Object.hasOwn(form.properties, k) ? form.properties[k] : undefined;
    if (field === undefined) issues.push({ path: `answer.${k.slice(0, 64)}`, problem: "is not a field of the form" });
    else issues.push(...checkValue(field, v as Json, `answer.${k}`));
  }
  for (const r of form.required) if (!Object.hasOwn(content, r)) issues.push({ path: `answer.${r}`, problem: "is required" });
  return issues;
}

/** The tool's approval as loaded, null when the policy asks for none, or its problems. */
export function loadApproval(spec: ApprovalSpec, path: string): LoadedApproval | null | PolicyIssue[] {
  if (spec === "none") return null;
  if (spec === "required") return Object.freeze({ message: null, form: null });
  if (spec.form === undefined) return Object.freeze({ message: spec.message ?? null, form: null });
  const issues = checkApprovalForm(spec.form, `${path}.form`);
  if (issues.length > 0) return issues;
  const f = spec.form as { properties: Record<string, FormField>; required?: string[] };
  const form: ApprovalForm = { type: "object", properties: JSON.parse(JSON.stringify(f.properties)) as Record<string, FormField>, required: [...(f.required ?? [])] };
  return Object.freeze({ message: spec.message ?? null, form: deepFreeze(form) });
}

function deepFreeze<T>(v: T): T {
  if (typeof v === "object" && v !== null) {
    for (const x of Object.values(v)) deepFreeze(x);
    Object.freeze(v);
  }
  return v;
}

const MAX_SHOWN_INPUT = 2048;

/**
 * What the user is asked: the policy's message with `{{name}}` replaced by the call's string
 * arguments, or cordon's own wording naming the role, the tool and the input (clipped).
 */
export function approvalMessage(approval: LoadedApproval, call: { readonly role: string; readonly tool: string; readonly description: string; readonly input: Json }): string {
  if (approval.message !== null) {
    const args = typeof call.input === "object" && call.input !== null && !Array.isArray(call.input) ? call.input : {};
    return approval.message.replace(/\{\{([A-Za-z][A-Za-z0-9_-]{0,63})\}\}/g, (whole, name: string) => {
      const v = Object.hasOwn(args, name) ? args[name] : undefined;
      return typeof v === "string" ? v.slice(0, MAX_SHOWN_INPUT) : whole;
    });
  }
  const shown = JSON.stringify(call.input);
  const input = shown.length > MAX_SHOWN_INPUT ? `${shown.slice(0, MAX_SHOWN_INPUT)}… (${shown.length} characters)` : shown;
  return `cordon: a session of role ${call.role} asks to run ${call.tool} (${call.description}) with this input:\n${input}\nThe policy requires your approval for each call.`;
}
