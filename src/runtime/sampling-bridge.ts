// The control plane's half of `cordon.sample`: a guest's request to the client's model, held
// to its tool's sampling grant (at most maxRequests per call, each at most maxTokens), sent only
// to a client that declared the sampling capability, and recorded with its size both ways.
// The guest gets the answer's JSON or a negative code (guests/README.md); it never sees why.
import { sha256Hex } from "../crypto/digest.js";
import { SamplingRefused, type Json, type SamplingProblem } from "../errors.js";
import type { AuditEvent } from "../audit/index.js";
import { clip } from "../audit/fields.js";
import type { Grant } from "../types/tool.js";
import type { CallPeer, SamplingRequest } from "./call-peer.js";

/** `cordon.sample`'s codes, as the guest sees them (the same numbers as SAMPLE_CODE in the engine). */
const REFUSED = -2;
const FAILED = -3;

const MAX_TEXT = 32 * 1024;

type SamplingGrant = Extract<Grant, { kind: "sampling" }>;

/** Parses a guest's request: `{prompt}` or `{messages: [{role, text}]}`, with maxTokens and systemPrompt optional. */
export function parseSamplingRequest(bytes: Uint8Array, grant: SamplingGrant): SamplingRequest | { problem: SamplingProblem; detail: string } {
  let v: unknown;
  try {
    v = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch {
    return { problem: "malformed", detail: "not UTF-8 JSON" };
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) return { problem: "malformed", detail: "not an object" };
  const o = v as Record<string, unknown>;
  const extra = Object.keys(o).find((k) => !["prompt", "messages", "maxTokens", "systemPrompt"].includes(k));
  if (extra !== undefined) return { problem: "malformed", detail: `unknown member ${extra.slice(0, 32)}` };
  const maxTokens = o["maxTokens"] ?? grant.maxTokens;
  if (typeof maxTokens !== "number" || !Number.isSafeInteger(maxTokens) || maxTokens < 1) return { problem: "malformed", detail: "maxTokens must be a positive integer" };
  if (maxTokens > grant.maxTokens) return { problem: "too-many-tokens", detail: `asks ${maxTokens} tokens, the grant allows ${grant.maxTokens}` };
  let messages: SamplingRequest["messages"];
  if (typeof o["prompt"] === "string" && o["messages"] === undefined) {
    messages = [{ role: "user", text: o["prompt"] }];
  } else if (Array.isArray(o["messages"]) && o["prompt"] === undefined && o["messages"].length > 0 && o["messages"].length <= 16) {
    const ms: { role: "user" | "assistant"; text: string }[] = [];
    for (const m of o["messages"] as unknown[]) {
      const r = m as Record<string, unknown> | null;
      if (typeof r !== "object" || r === null || (r["role"] !== "user" && r["role"] !== "assistant") || typeof r["text"] !== "string" || Object.keys(r).length !== 2) return { problem: "malformed", detail: "a message is {role: user|assistant, text}" };
      ms.push({ role: r["role"], text: r["text"] });
    }
    messages = ms;
  } else {
    return { problem: "malformed", detail: "needs prompt (a string) or messages (1 to 16)" };
  }
  if (messages.some((m) => m.text.length > MAX_TEXT)) return { problem: "malformed", detail: `a message is longer than ${MAX_TEXT} characters` };
  const system = o["systemPrompt"];
  if (system !== undefined && (typeof system !== "string" || system.length > MAX_TEXT)) return { problem: "malformed", detail: "systemPrompt must be a string" };
  return { messages, maxTokens, ...(system === undefined ? {} : { systemPrompt: system }) };
}

export interface SamplingBridge {
  /** The host's onSample for the call: the answer's JSON bytes, or a negative code. */
  readonly answer: (request: Uint8Array) => Promise<Uint8Array | number>;
  /** Requests the guest made (answered or not). */
  readonly requests: () => number;
}

/** One call's bridge. `record` appends a record of the call's session; `deadline` is the call's (ms, performance clock). */
export function samplingBridge(tool: string, grant: SamplingGrant, peer: CallPeer | undefined, deadline: number, record: (e: AuditEvent) => Promise<number>): SamplingBridge {
  let made = 0;
  const refuse = async (bytes: Uint8Array, problem: SamplingProblem, detail: string): Promise<number> => {
    const error = new SamplingRefused(tool, problem, detail);
    await record({ type: "sampling.denied", enforcer: "cordon-sampling", tool, code: error.code, problem, request: made, requestBytes: bytes.byteLength, requestSha256: sha256Hex(bytes) });
    return REFUSED;
  };
  const answer = async (bytes: Uint8Array): Promise<Uint8Array | number> => {
    made += 1;
    return ask(bytes);
  };
  const ask = async (bytes: Uint8Array): Promise<Uint8Array | number> => {
    if (made > grant.maxRequests) return refuse(bytes, "over-budget", `request ${made} of a call allowed ${grant.maxRequests}`);
    const parsed = parseSamplingRequest(bytes, grant);
    if ("problem" in parsed) return refuse(bytes, parsed.problem, parsed.detail);
    if (peer?.sample === undefined) return refuse(bytes, "unsupported", "the client did not declare the sampling capability (or its transport cannot carry the request)");
    await record({ type: "sampling.requested", tool, request: made, requestBytes: bytes.byteLength, requestSha256: sha256Hex(bytes), messages: parsed.messages.length, maxTokens: parsed.maxTokens });
    const left = deadline - performance.now();
    const timeout = AbortSignal.timeout(Math.max(1, Math.floor(left)));
    const signal = peer.signal === undefined ? timeout : AbortSignal.any([peer.signal, timeout]);
    try {
      const a = await peer.sample(parsed, signal);
      const out = new TextEncoder().encode(JSON.stringify({ text: typeof a.content["text"] === "string" ? a.content["text"] : null, content: a.content, model: a.model, stopReason: a.stopReason } satisfies Record<string, Json>));
      await record({ type: "sampling.answered", tool, request: made, answerBytes: out.byteLength, answerSha256: sha256Hex(out), model: clip(a.model), stopReason: a.stopReason === null ? null : clip(a.stopReason) });
      return out;
    } catch {
      const problem: SamplingProblem = timeout.aborted ? "timeout" : "client-failed";
      await record({ type: "sampling.failed", tool, request: made, code: "ERR_SAMPLING_REFUSED", problem });
      return FAILED;
    }
  };
  return { answer, requests: () => made };
}
