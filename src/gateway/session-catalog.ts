// Resources, prompts and completions for one session's MCP server. Every answer comes from the
// session (its role's resource roots, read through its cell's jail; its role's prompts from the
// signed policy); this file only maps them to MCP. Subscriptions are polled through the same
// jail (a stat, never a host path watch) and announced with notifications/resources/updated.
import type { Server } from "@modelcontextprotocol/sdk/server/index.js";
import {
  CompleteRequestSchema, ErrorCode, GetPromptRequestSchema, ListPromptsRequestSchema, ListResourcesRequestSchema, ListResourceTemplatesRequestSchema,
  ReadResourceRequestSchema, SubscribeRequestSchema, UnsubscribeRequestSchema,
} from "@modelcontextprotocol/sdk/types.js";
import { clip } from "../audit/fields.js";
import type { CordonError } from "../errors.js";
import type { Session } from "../runtime/session.js";
import type { JailedStat } from "../wasm/wasi/jailed-files.js";
import { RpcError } from "./rpc-error.js";

/** JSON-RPC's "resource not found" (the MCP spec's -32002). */
export const RESOURCE_NOT_FOUND = -32002;

/** How often subscribed resources are checked for changes (through the session's jail). */
export const DEFAULT_RESOURCE_POLL_MS = 2_000;
/** Most subscriptions one session may hold. */
const MAX_SUBSCRIPTIONS = 64;

export interface CatalogOptions {
  /** Subscriptions need a stream back to the client (not JSON answers). */
  readonly streams: boolean;
  readonly resourcePollMs?: number;
}

/** The capabilities a session offers beyond tools and logging. */
export function catalogCapabilities(session: Session, streams: boolean): Record<string, object> {
  const caps: Record<string, object> = {};
  if (session.resources.offered) caps["resources"] = { subscribe: streams, listChanged: false };
  if (session.prompts.offered) caps["prompts"] = { listChanged: false };
  if (session.prompts.offered || session.resources.templates().length > 0) caps["completions"] = {};
  return caps;
}

function notFound(uri: string, error: CordonError, auditSeq: number | null): RpcError {
  return new RpcError(RESOURCE_NOT_FOUND, "Resource not found", { uri: clip(uri), code: error.code, ...(auditSeq === null ? {} : { auditSeq }) });
}

const sameStat = (a: JailedStat, b: JailedStat): boolean => a.size === b.size && a.mtimeMs === b.mtimeMs && a.ino === b.ino;

export function serveCatalog(server: Server, session: Session, opts: CatalogOptions, guard: <T>(fn: () => T | Promise<T>) => Promise<T>): void {
  const { resources, prompts } = session;
  if (resources.offered) {
    server.setRequestHandler(ListResourcesRequestSchema, () => guard(async () => ({ resources: await resources.list() })));
    server.setRequestHandler(ListResourceTemplatesRequestSchema, () =>
      guard(() => ({
        resourceTemplates: resources.templates().map(({ template: t, root }) => ({
          uriTemplate: t.uriTemplate,
          name: t.name,
          ...(t.description === null ? (root.description === null ? {} : { description: root.description }) : { description: t.description }),
          ...(t.mimeType === null ? {} : { mimeType: t.mimeType }),
        })),
      })),
    );
    server.setRequestHandler(ReadResourceRequestSchema, (request) =>
      guard(async () => {
        const r = await resources.read(request.params.uri);
        if (!r.ok) throw notFound(request.params.uri, r.error, r.auditSeq);
        return { contents: [{ ...r.contents }] };
      }),
    );
    const watched = new Map<string, JailedStat>();
    let poller: NodeJS.Timeout | null = null;
    let polling = false;
    const poll = async (): Promise<void> => {
      if (polling) return;
      polling = true;
      try {
        if (session.ended) return stop();
        for (const [uri, before] of [...watched]) {
          const now = await resources.stat(uri, false);
          if (!watched.has(uri)) continue;
          const changed = !now.ok || !sameStat(before, now.stat);
          if (now.ok) watched.set(uri, now.stat);
          else watched.delete(uri);
          if (changed) await server.sendResourceUpdated({ uri }).catch(() => undefined);
        }
      } finally {
        polling = false;
      }
    };
    const stop = (): void => {
      if (poller !== null) clearInterval(poller);
      poller = null;
    };
    server.setRequestHandler(SubscribeRequestSchema, (request) =>
      guard(async () => {
        const { uri } = request.params;
        if (!opts.streams) throw new RpcError(ErrorCode.InvalidRequest, "subscriptions need a stream back to the client (this server answers with single JSON responses)");
        if (!watched.has(uri) && watched.size >= MAX_SUBSCRIPTIONS) throw new RpcError(ErrorCode.InvalidRequest, `at most ${MAX_SUBSCRIPTIONS} subscriptions per session`);
        const st = await resources.stat(uri, true);
        if (!st.ok) throw notFound(uri, st.error, null);
        watched.set(uri, st.stat);
        if (poller === null) {
          poller = setInterval(() => void poll(), opts.resourcePollMs ?? DEFAULT_RESOURCE_POLL_MS);
          poller.unref();
        }
        return {};
      }),
    );
    server.setRequestHandler(UnsubscribeRequestSchema, (request) =>
      guard(() => {
        watched.delete(request.params.uri);
        if (watched.size === 0) stop();
        return {};
      }),
    );
  }
  if (prompts.offered) {
    server.setRequestHandler(ListPromptsRequestSchema, () =>
      guard(() => ({
        prompts: prompts.list().map((p) => ({
          name: p.name,
          ...(p.title === null ? {} : { title: p.title }),
          description: p.description,
          arguments: p.arguments.map((a) => ({ name: a.name, ...(a.description === null ? {} : { description: a.description }), required: a.required })),
        })),
      })),
    );
    server.setRequestHandler(GetPromptRequestSchema, (request) =>
      guard(async () => {
        const got = await prompts.get(request.params.name, request.params.arguments ?? {});
        if (!got.ok) throw new RpcError(ErrorCode.InvalidParams, got.error.code === "ERR_PROMPT_NOT_FOUND" ? `Unknown prompt: ${JSON.stringify(clip(request.params.name))}` : "Invalid prompt arguments", { code: got.error.code, auditSeq: got.auditSeq, ...(got.error.code === "ERR_PROMPT_ARGUMENTS" ? { issues: got.error.fields()["issues"] ?? null } : {}) });
        return { description: got.description, messages: got.messages as never };
      }),
    );
  }
  if (prompts.offered || resources.templates().length > 0) {
    server.setRequestHandler(CompleteRequestSchema, (request) =>
      guard(async () => {
        const { ref, argument, context } = request.params;
        if (ref.type === "ref/prompt") return { completion: prompts.complete(ref.name, argument.name, argument.value) };
        const values = await resources.complete(ref.uri, argument.name, argument.value, (context?.arguments ?? {}));
        return { completion: { values, total: values.length, hasMore: false } };
      }),
    );
  }
}
