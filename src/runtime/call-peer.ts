// What one call may reach of the client that made it, as the gateway offers it: a cancellation
// signal, a progress channel (only when the client asked for progress), and requests back to
// the client (elicitation, sampling) where the client declared the capability and the
// transport can carry a request. A session never talks to a client any other way.
import type { Json } from "../errors.js";
import type { ApprovalForm } from "../policy/approval-form.js";

export interface ProgressReport {
  readonly progress: number;
  readonly total?: number;
  readonly message?: string;
}

export interface ElicitAnswer {
  readonly action: "accept" | "decline" | "cancel";
  readonly content?: { readonly [key: string]: Json };
}

/** A tool's request to the client's model, checked by the sampling bridge. */
export interface SamplingRequest {
  readonly messages: readonly { readonly role: "user" | "assistant"; readonly text: string }[];
  readonly systemPrompt?: string;
  readonly maxTokens: number;
}

export interface SamplingAnswer {
  readonly model: string;
  readonly stopReason: string | null;
  /** The model's content block (text, image or audio), as the client sent it. */
  readonly content: { readonly [key: string]: Json };
}

export interface CallPeer {
  /** Aborted when the client cancels the call (notifications/cancelled). */
  readonly signal?: AbortSignal;
  /** Progress notifications; present only when the client sent a progressToken. */
  readonly progress?: (report: ProgressReport) => void;
  /** How often the control plane reports an elapsed-time tick for a tool that reports none itself (default 1000 ms). */
  readonly progressTickMs?: number;
  /** Asks the user through the client (elicitation/create, form mode); absent: it cannot. */
  readonly elicit?: (request: { readonly message: string; readonly requestedSchema: ApprovalForm }, signal: AbortSignal) => Promise<ElicitAnswer>;
  /** Why elicit is absent (no capability, a transport with no way back), for the refusal. */
  readonly cannotElicit?: string;
  /** How long an approval request may go unanswered (default 120 s). */
  readonly approvalTimeoutMs?: number;
  /** Asks the client's model (sampling/createMessage); absent: it cannot. */
  readonly sample?: (request: SamplingRequest, signal: AbortSignal) => Promise<SamplingAnswer>;
}

export const DEFAULT_APPROVAL_TIMEOUT_MS = 120_000;
export const DEFAULT_PROGRESS_TICK_MS = 1_000;
