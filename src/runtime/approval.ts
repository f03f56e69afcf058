// The human-approval enforcer's decision for one call: ask the user through the client and
// let the call run only on an accepted, well-formed answer. Everything else fails closed: no
// way to ask (unsupported), no answer in time (unanswered), a decline or cancel (declined), an
// answer that does not fit the form (invalid). The caller records the outcome.
import { ApprovalDeclined, ApprovalInvalid, ApprovalUnanswered, ApprovalUnsupported, CallCancelled, type ApprovalRefused, type Json } from "../errors.js";
import { approvalMessage, checkApprovalAnswer, DEFAULT_APPROVAL_FORM, type LoadedApproval } from "../policy/approval-form.js";
import { DEFAULT_APPROVAL_TIMEOUT_MS, type CallPeer, type ElicitAnswer } from "./call-peer.js";

export type ApprovalOutcome =
  | { readonly ok: true; readonly answers: { readonly [key: string]: Json } | null }
  | { readonly ok: false; readonly error: ApprovalRefused | CallCancelled };

const TIMED_OUT = Symbol("timed out");

export async function askApproval(
  approval: LoadedApproval,
  call: { readonly role: string; readonly tool: string; readonly description: string; readonly input: Json },
  peer: CallPeer | undefined,
): Promise<ApprovalOutcome> {
  if (peer?.elicit === undefined) return { ok: false, error: new ApprovalUnsupported(call.tool, peer?.cannotElicit ?? "no client to ask (this call did not come through MCP)") };
  const form = approval.form ?? DEFAULT_APPROVAL_FORM;
  const timeoutMs = peer.approvalTimeoutMs ?? DEFAULT_APPROVAL_TIMEOUT_MS;
  const withdraw = new AbortController();
  const onCancel = (): void => withdraw.abort();
  peer.signal?.addEventListener("abort", onCancel, { once: true });
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<typeof TIMED_OUT>((resolve) => {
    timer = setTimeout(() => resolve(TIMED_OUT), timeoutMs);
  });
  let answer: ElicitAnswer | typeof TIMED_OUT;
  try {
    const asked = peer.elicit({ message: approvalMessage(approval, call), requestedSchema: form }, withdraw.signal);
    // Withdrawn after a timeout or a cancel, the request rejects later: that is expected.
    asked.catch(() => undefined);
    answer = await Promise.race([asked, timedOut]);
  } catch {
    if (peer.signal?.aborted === true) return { ok: false, error: new CallCancelled("awaiting-approval", "the approval request was withdrawn; nothing ran") };
    return { ok: false, error: new ApprovalUnsupported(call.tool, "the client answered the approval request with an error") };
  } finally {
    clearTimeout(timer);
    peer.signal?.removeEventListener("abort", onCancel);
    withdraw.abort();
  }
  if (peer.signal?.aborted === true) return { ok: false, error: new CallCancelled("awaiting-approval", "the approval request was withdrawn; nothing ran") };
  if (answer === TIMED_OUT) return { ok: false, error: new ApprovalUnanswered(call.tool, timeoutMs) };
  if (answer.action !== "accept") return { ok: false, error: new ApprovalDeclined(call.tool, answer.action) };
  const content = answer.content ?? {};
  const issues = checkApprovalAnswer(form, content);
  if (issues.length > 0) return { ok: false, error: new ApprovalInvalid(call.tool, issues) };
  if (approval.form === null) {
    return content["approve"] === true ? { ok: true, answers: null } : { ok: false, error: new ApprovalDeclined(call.tool, "accept without approving") };
  }
  return { ok: true, answers: content };
}
