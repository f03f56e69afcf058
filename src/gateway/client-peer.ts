// What one tools/call may reach of its client, built from the SDK's request context: the
// request's abort signal (notifications/cancelled), progress notifications (only with a
// progressToken), and the requests the session may send back on the call's own stream:
// elicitation/create for human approval and sampling/createMessage for a tool's sampling grant,
// each only where the client declared the capability and the transport can carry a request.
import type { Server } from "@modelcontextprotocol/sdk/server/index.js";
import { CreateMessageResultSchema, ElicitResultSchema, type ServerNotification, type ServerRequest } from "@modelcontextprotocol/sdk/types.js";
import type { RequestHandlerExtra } from "@modelcontextprotocol/sdk/shared/protocol.js";
import type { Json } from "../errors.js";
import type { CallPeer, ElicitAnswer, SamplingAnswer } from "../runtime/call-peer.js";

export type CallExtra = RequestHandlerExtra<ServerRequest, ServerNotification>;

export interface PeerOptions {
  /** False for JSON answers: nothing but the answer can reach the client. */
  readonly streams: boolean;
  readonly approvalTimeoutMs?: number;
  readonly progressTickMs?: number;
}

/** Our own clocks decide; the SDK's request timeout must never be the one that fires. */
const SDK_TIMEOUT_MS = 24 * 3600 * 1000;

export interface ClientPeer {
  readonly peer: CallPeer;
  /** Settles once every notification sent so far has been handed to the transport. */
  flushed(): Promise<void>;
}

export function clientPeer(server: Server, extra: CallExtra, opts: PeerOptions): ClientPeer {
  const caps = server.getClientCapabilities();
  const token = extra._meta?.progressToken;
  const sent: Promise<void>[] = [];
  // Elicitation in form mode: `elicitation: {}` (form by default) or one naming form.
  const elicitation = caps?.elicitation as { form?: object; url?: object } | undefined;
  const canElicit = elicitation !== undefined && (elicitation.form !== undefined || elicitation.url === undefined);
  const peer: CallPeer = {
    signal: extra.signal,
    ...(opts.approvalTimeoutMs === undefined ? {} : { approvalTimeoutMs: opts.approvalTimeoutMs }),
    ...(opts.progressTickMs === undefined ? {} : { progressTickMs: opts.progressTickMs }),
    ...(opts.streams && token !== undefined
      ? {
          progress: (r) => {
            sent.push(extra.sendNotification({ method: "notifications/progress", params: { progressToken: token, ...r } }).catch(() => undefined));
          },
        }
      : {}),
    ...(opts.streams && canElicit
      ? {
          elicit: async (request, signal): Promise<ElicitAnswer> => {
            const r = await extra.sendRequest({ method: "elicitation/create", params: { message: request.message, requestedSchema: request.requestedSchema as never } }, ElicitResultSchema, { signal, timeout: SDK_TIMEOUT_MS });
            return { action: r.action, ...(r.content === undefined ? {} : { content: r.content }) };
          },
        }
      : { cannotElicit: opts.streams ? "the client did not declare the elicitation capability (form mode)" : "this server answers with single JSON responses: no request can reach the client" }),
    ...(opts.streams && caps?.sampling !== undefined
      ? {
          sample: async (request, signal): Promise<SamplingAnswer> => {
            const r = await extra.sendRequest(
              {
                method: "sampling/createMessage",
                params: {
                  messages: request.messages.map((m) => ({ role: m.role, content: { type: "text" as const, text: m.text } })),
                  maxTokens: request.maxTokens,
                  ...(request.systemPrompt === undefined ? {} : { systemPrompt: request.systemPrompt }),
                },
              },
              CreateMessageResultSchema,
              { signal, timeout: SDK_TIMEOUT_MS },
            );
            return { model: r.model, stopReason: r.stopReason ?? null, content: JSON.parse(JSON.stringify(r.content)) as { [key: string]: Json } };
          },
        }
      : {}),
  };
  return { peer, flushed: () => Promise.all(sent).then(() => undefined) };
}
