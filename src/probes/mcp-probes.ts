// Probes for what MCP adds: human approval (a real MCP client over the SDK's in-memory
// transport that declines, never answers, or cannot be asked), a guest asking the client's
// model more often than its grant allows, and results outside what a tool declares.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import { ElicitRequestSchema, type ElicitResult } from "@modelcontextprotocol/sdk/types.js";
import { createSessionServer } from "../gateway/session-server.js";
import { NO_OUTPUT_CHECK } from "../policy/output-check.js";
import { CONTENT_TYPES } from "../policy/schema.js";
import type { LoadedTool } from "../policy/load-policy.js";
import type { CallPeer } from "../runtime/call-peer.js";
import { loadFixture } from "./fixtures.js";
import { openProbeSession } from "./probe-session.js";
import type { Probe, ProbeEnv, ProbeOutcome } from "./types.js";
import { callVariant, describe, requireTool, requireWasmTool, variant } from "./variant.js";

/** How long the unanswered-approval probe waits for an answer that never comes. */
const PROBE_APPROVAL_TIMEOUT_MS = 300;

type Asker = "declines" | "never-answers" | "cannot-ask";

const EXPECTED: Readonly<Record<Asker, string>> = {
  declines: "ERR_APPROVAL_DECLINED",
  "never-answers": "ERR_APPROVAL_UNANSWERED",
  "cannot-ask": "ERR_APPROVAL_UNSUPPORTED",
};

/** The tool as the policy has it (its approval line included), taking any input: nothing may run anyway. */
function approvalTarget(env: ProbeEnv): LoadedTool {
  const tool = requireTool(env);
  if (tool.approval === null) throw new Error(`probe for '${env.line.text}' needs a tool with approval`);
  return Object.freeze({ ...tool, validateInput: () => [], output: NO_OUTPUT_CHECK });
}

/**
 * Calls the tool through the session's real MCP server with a client that declines, never
 * answers, or did not declare elicitation. Stopped: refused with the expected code, the client
 * asked exactly as often as it could be (once, or never), and nothing of the tool ran.
 */
function approvalProbe(asker: Asker): Probe {
  return async (env) => {
    const tool = approvalTarget(env);
    const session = await openProbeSession(env.runtime, `probe:${tool.name}`, [tool]);
    const server = createSessionServer({ session, policy: { tools: new Map([[tool.name, tool]]) }, approvalTimeoutMs: PROBE_APPROVAL_TIMEOUT_MS });
    const client = new Client({ name: "cordon-prove", version: "1" }, { capabilities: asker === "cannot-ask" ? {} : { elicitation: {} } });
    let asked = 0;
    if (asker !== "cannot-ask") {
      client.setRequestHandler(ElicitRequestSchema, () => {
        asked += 1;
        return asker === "declines" ? { action: "decline" } : new Promise<ElicitResult>(() => undefined);
      });
    }
    try {
      const [a, b] = InMemoryTransport.createLinkedPair();
      await server.connect(a);
      await client.connect(b);
      const before = env.runtime.audit.head?.seq ?? 0;
      const r = await client.callTool({ name: tool.name, arguments: {} });
      const code = errorCodeOf(r.content);
      const ran = env.runtime.audit.recordsAfter(before).some((x) => x.session === session.id && (x.type === "call.allowed" || x.type === "call.approved"));
      const expectedAsks = asker === "cannot-ask" ? 0 : 1;
      const stopped = r.isError === true && code === EXPECTED[asker] && !ran && asked === expectedAsks;
      return { stopped, detail: stopped ? `a client that ${asker.replace("-", " ")}: ${code}, nothing ran` : `answered ${code}, asked ${asked}×, ${ran ? "the call ran" : "nothing ran"}` };
    } finally {
      await client.close().catch(() => undefined);
      await env.runtime.closeSession(session);
    }
  };
}

/** The cordon code in an isError result's text (`{"error": {"code": ...}}`). */
function errorCodeOf(content: unknown): string {
  const first = Array.isArray(content) ? (content[0] as { text?: unknown } | undefined) : undefined;
  try {
    const parsed = JSON.parse(typeof first?.text === "string" ? first.text : "null") as { error?: { code?: unknown } } | null;
    return typeof parsed?.error?.code === "string" ? parsed.error.code : "none";
  } catch {
    return "none";
  }
}

export const approvalDeclined = approvalProbe("declines");
export const approvalUnanswered = approvalProbe("never-answers");
export const approvalUnsupported = approvalProbe("cannot-ask");

/** A guest that asks the client's model once more than its grant allows: the extra request is refused and recorded. */
export const samplingOverBudget: Probe = async (env) => {
  const tool = requireWasmTool(env);
  const grant = tool.grants.find((g) => g.kind === "sampling");
  if (grant?.kind !== "sampling") throw new Error(`probe for '${env.line.text}' needs a sampling grant`);
  let asked = 0;
  const peer: CallPeer = {
    sample: () => {
      asked += 1;
      return Promise.resolve({ model: "cordon-prove", stopReason: "endTurn", content: { type: "text", text: "ok" } });
    },
  };
  const r = await callVariant(env, variant(tool, { bytes: loadFixture("sample-flood") }), { prompt: "cordon prove: the sampling budget" }, { peer });
  const refused = r.ok && typeof r.output === "object" && r.output !== null && !Array.isArray(r.output) && r.output["refused"] === true;
  const stopped = refused && asked === grant.maxRequests;
  return { stopped, detail: stopped ? `request ${grant.maxRequests + 1} refused; the client was asked ${asked}× (maxRequests ${grant.maxRequests})` : `${describe(r)}; the client was asked ${asked}×` };
};

// What the output probes' guests write (the WAT fixtures hold the same documents).
const CONTENT_ALL = '{"content":[{"type":"text","text":"probe"},{"type":"image","data":"AAAA","mimeType":"image/png"},{"type":"audio","data":"AAAA","mimeType":"audio/wav"},{"type":"resource","resource":{"uri":"probe://r","text":"probe"}}]}';
const CONTENT_BOGUS = '{"content":[{"type":"video","data":"AAAA","mimeType":"video/mp4"}]}';
const STRUCTURED_MISSING = '"no structure"';

/** The tool writing `document` instead of its own result, keeping its output declaration. */
function writer(tool: LoadedTool, fixture: string, document: string): LoadedTool {
  if (tool.tier === "wasm") return Object.freeze({ ...variant(tool, { bytes: loadFixture(fixture) }), output: tool.output });
  // A process tool: printf from /usr (the only programs its sandbox has) under the same layers.
  const p = tool;
  return Object.freeze({ ...p, command: { argv: ["/usr/bin/printf", "%s", document], script: null }, validateInput: () => [], approval: null });
}

async function refusedResult(env: ProbeEnv, tool: LoadedTool, what: string): Promise<ProbeOutcome> {
  const r = await callVariant(env, tool, {});
  const stopped = !r.ok && r.error.code === "ERR_OUTPUT_REFUSED";
  return { stopped, detail: stopped ? `${what}: refused before it left (ERR_OUTPUT_REFUSED)` : `${what}: ${describe(r)}` };
}

export const outputContentUndeclared: Probe = (env) => {
  const tool = requireTool(env);
  const declared = tool.output.content ?? [];
  const all = CONTENT_TYPES.every((t) => declared.includes(t));
  return refusedResult(env, writer(tool, all ? "content-bogus" : "content-all", all ? CONTENT_BOGUS : CONTENT_ALL), all ? "a block of a type MCP does not have" : `blocks of every type against [${declared.join(", ")}]`);
};

export const outputSchemaViolation: Probe = (env) => refusedResult(env, writer(requireTool(env), "structured-missing", STRUCTURED_MISSING), "a result with no structured content against its output schema");
