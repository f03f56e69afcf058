// A session's prompts: the signed policy's prompt templates its role offers, rendered with the
// caller's arguments (text substitution only) and recorded with the size of what was asked.
import { clip } from "../audit/fields.js";
import type { AuditEvent } from "../audit/index.js";
import { PromptArgumentsInvalid, PromptNotFound, type CordonError } from "../errors.js";
import { checkPromptArguments, completePromptArgument, renderPrompt, type LoadedPrompt } from "../policy/prompts.js";

export type PromptGot =
  | { readonly ok: true; readonly description: string; readonly messages: ReturnType<typeof renderPrompt>; readonly auditSeq: number }
  | { readonly ok: false; readonly error: CordonError; readonly auditSeq: number };

export class SessionPrompts {
  constructor(
    private readonly prompts: readonly LoadedPrompt[],
    private readonly record: (event: AuditEvent) => Promise<number>,
  ) {}

  get offered(): boolean {
    return this.prompts.length > 0;
  }

  list(): readonly LoadedPrompt[] {
    return this.prompts;
  }

  find(name: string): LoadedPrompt | undefined {
    return this.prompts.find((p) => p.name === name);
  }

  async get(name: string, args: Readonly<Record<string, unknown>>): Promise<PromptGot> {
    const prompt = this.find(name);
    if (prompt === undefined) {
      const error = new PromptNotFound(clip(name));
      return { ok: false, error, auditSeq: await this.record({ type: "prompt.denied", prompt: clip(name), code: error.code }) };
    }
    const values = checkPromptArguments(prompt, args);
    if (Array.isArray(values)) {
      const error = new PromptArgumentsInvalid(name, values);
      return { ok: false, error, auditSeq: await this.record({ type: "prompt.denied", prompt: name, code: error.code, problems: values.length }) };
    }
    const argumentBytes = [...values.values()].reduce((n, v) => n + Buffer.byteLength(v, "utf8"), 0);
    const auditSeq = await this.record({ type: "prompt.served", prompt: name, arguments: values.size, argumentBytes });
    return { ok: true, description: prompt.description, messages: renderPrompt(prompt, values), auditSeq };
  }

  complete(name: string, argument: string, value: string): { values: string[]; total: number; hasMore: boolean } {
    const prompt = this.find(name);
    return prompt === undefined ? { values: [], total: 0, hasMore: false } : completePromptArgument(prompt, argument, value);
  }
}
