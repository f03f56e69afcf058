// Prompts from the signed policy: templates whose `{{argument}}` markers are replaced by the
// caller's argument values (plain text substitution: nothing is evaluated), and the values
// completion/complete offers for each argument. Pure.
import type { Json, PolicyIssue } from "../errors.js";
import type { PromptSpec } from "./schema.js";

export interface PromptArgument {
  readonly name: string;
  readonly description: string | null;
  readonly required: boolean;
  readonly completions: readonly string[];
}

export type PromptContent = PromptSpec["messages"][number]["content"];

export interface LoadedPrompt {
  readonly name: string;
  readonly title: string | null;
  readonly description: string;
  readonly arguments: readonly PromptArgument[];
  readonly messages: readonly { readonly role: "user" | "assistant"; readonly content: PromptContent }[];
}

/** Longest argument value accepted. */
export const MAX_PROMPT_ARGUMENT = 8 * 1024;
/** Most completion values answered. */
export const MAX_COMPLETIONS = 100;

const MARKER = /\{\{([A-Za-z][A-Za-z0-9_-]{0,63})\}\}/g;

export function loadPrompt(name: string, spec: PromptSpec, path: string): LoadedPrompt | PolicyIssue[] {
  const issues: PolicyIssue[] = [];
  const names = new Set<string>();
  for (const [i, a] of spec.arguments.entries()) {
    if (names.has(a.name)) issues.push({ path: `${path}.arguments.${i}`, problem: `argument ${a.name} is declared twice` });
    names.add(a.name);
  }
  // A marker must name a declared argument: an undeclared one would reach the user verbatim.
  spec.messages.forEach((m, i) => {
    for (const text of textsOf(m.content)) {
      for (const [, arg] of text.matchAll(MARKER)) if (arg !== undefined && !names.has(arg)) issues.push({ path: `${path}.messages.${i}`, problem: `{{${arg}}} is not an argument of the prompt` });
    }
  });
  if (issues.length > 0) return issues;
  return Object.freeze({
    name,
    title: spec.title ?? null,
    description: spec.description,
    arguments: Object.freeze(spec.arguments.map((a) => Object.freeze({ name: a.name, description: a.description ?? null, required: a.required, completions: Object.freeze([...(a.completions ?? [])]) }))),
    messages: Object.freeze(spec.messages.map((m) => Object.freeze({ role: m.role, content: m.content }))),
  });
}

function textsOf(c: PromptContent): string[] {
  switch (c.type) {
    case "text":
      return [c.text];
    case "resource":
      return [c.resource.uri, c.resource.text];
    case "image":
    case "audio":
      return [];
  }
}

/** The checked argument values, or the problems: unknown names, missing required ones, non-strings, oversized values. */
export function checkPromptArguments(prompt: LoadedPrompt, args: Readonly<Record<string, unknown>>): Map<string, string> | PolicyIssue[] {
  const issues: PolicyIssue[] = [];
  const values = new Map<string, string>();
  for (const [k, v] of Object.entries(args)) {
    const arg = prompt.arguments.find((a) => a.name === k);
    if (arg === undefined) issues.push({ path: `arguments.${k.slice(0, 64)}`, problem: "is not an argument of this prompt" });
    else if (typeof v !== "string") issues.push({ path: `arguments.${k}`, problem: "must be a string" });
    else if (v.length > MAX_PROMPT_ARGUMENT) issues.push({ path: `arguments.${k}`, problem: `is longer than ${MAX_PROMPT_ARGUMENT} characters` });
    else values.set(k, v);
  }
  for (const a of prompt.arguments) if (a.required && !values.has(a.name)) issues.push({ path: `arguments.${a.name}`, problem: "is required" });
  return issues.length > 0 ? issues : values;
}

const fill = (text: string, values: ReadonlyMap<string, string>): string => text.replace(MARKER, (_, name: string) => values.get(name) ?? "");

/** The prompt's messages with the argument values filled in (an absent optional argument: empty). */
export function renderPrompt(prompt: LoadedPrompt, values: ReadonlyMap<string, string>): { role: "user" | "assistant"; content: { [key: string]: Json } }[] {
  return prompt.messages.map((m) => {
    const c = m.content;
    switch (c.type) {
      case "text":
        return { role: m.role, content: { type: "text", text: fill(c.text, values) } };
      case "image":
      case "audio":
        return { role: m.role, content: { type: c.type, data: c.data, mimeType: c.mimeType } };
      case "resource":
        return { role: m.role, content: { type: "resource", resource: { uri: fill(c.resource.uri, values), ...(c.resource.mimeType === undefined ? {} : { mimeType: c.resource.mimeType }), text: fill(c.resource.text, values) } } };
    }
  });
}

/** completion/complete for a prompt argument: its declared values that start with `value`. */
export function completePromptArgument(prompt: LoadedPrompt, argument: string, value: string): { values: string[]; total: number; hasMore: boolean } {
  const arg = prompt.arguments.find((a) => a.name === argument);
  const all = (arg?.completions ?? []).filter((c) => c.startsWith(value));
  return { values: all.slice(0, MAX_COMPLETIONS), total: all.length, hasMore: all.length > MAX_COMPLETIONS };
}
