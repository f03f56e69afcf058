// The load generator's two MCP clients over loopback HTTP. `RawMcp` speaks the JSON-RPC of
// Streamable HTTP directly through node:http with keep-alive sockets (one POST per message,
// JSON responses); `SdkMcp` is the SDK's Client with its StreamableHTTPClientTransport (fetch).
// The raw client exists because a load generator must cost less than what it measures.
import { Agent, request } from "node:http";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

const PROTOCOL_VERSION = "2025-06-18";

export interface HttpAnswer {
  readonly status: number;
  readonly sessionId: string | undefined;
  readonly body: string;
}

/**
 * What a tools/call came back as: "ok", "isError:<cordon code>", "rpc:<JSON-RPC code>" or
 * "http:<status>". The load counts these; it never throws on an answer.
 */
export type Outcome = string;

/** The JSON-RPC answer in a body: the body itself, or the last `data:` line of an SSE stream. */
function answerText(body: string): string {
  if (!body.startsWith("event:") && !body.startsWith("data:") && !body.startsWith("id:")) return body;
  const data = body.split("\n").filter((l) => l.startsWith("data: "));
  return data[data.length - 1]?.slice(6) ?? "";
}

export function outcomeOf(answer: HttpAnswer): Outcome {
  if (answer.status !== 200) return `http:${answer.status}`;
  let msg: { result?: { isError?: boolean; content?: { text?: string }[] }; error?: { code?: number } };
  try {
    msg = JSON.parse(answerText(answer.body)) as typeof msg;
  } catch {
    return "unparsable";
  }
  if (msg.error !== undefined) return `rpc:${String(msg.error.code)}`;
  if (msg.result?.isError !== true) return "ok";
  try {
    const payload = JSON.parse(msg.result.content?.[0]?.text ?? "{}") as { error?: { code?: string } };
    return `isError:${payload.error?.code ?? "?"}`;
  } catch {
    return "isError:?";
  }
}

export class RawMcp {
  private readonly agent: Agent;
  private readonly target: URL;
  private nextId = 1;

  constructor(url: string, maxSockets: number) {
    this.target = new URL(url);
    this.agent = new Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets });
  }

  post(authorization: string | null, sessionId: string | null, message: object, method = "POST"): Promise<HttpAnswer> {
    const headers: Record<string, string> = { "content-type": "application/json", accept: "application/json, text/event-stream" };
    if (authorization !== null) headers["authorization"] = authorization;
    if (sessionId !== null) {
      headers["mcp-session-id"] = sessionId;
      headers["mcp-protocol-version"] = PROTOCOL_VERSION;
    }
    const body = method === "DELETE" ? undefined : JSON.stringify(message);
    return new Promise((resolve, reject) => {
      const req = request(
        { host: this.target.hostname, port: this.target.port, path: this.target.pathname, method, agent: this.agent, headers },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => {
            const sid = res.headers["mcp-session-id"];
            resolve({ status: res.statusCode ?? 0, sessionId: typeof sid === "string" ? sid : undefined, body: Buffer.concat(chunks).toString("utf8") });
          });
          res.on("error", reject);
        },
      );
      req.on("error", reject);
      req.end(body);
    });
  }

  /** initialize + notifications/initialized; returns the session id. */
  async open(authorization: string): Promise<string> {
    const init = { jsonrpc: "2.0", id: this.nextId++, method: "initialize", params: { protocolVersion: PROTOCOL_VERSION, capabilities: {}, clientInfo: { name: "cordon-bench", version: "1" } } };
    const answer = await this.post(authorization, null, init);
    if (answer.status !== 200 || answer.sessionId === undefined) throw new Error(`initialize answered ${answer.status}: ${answer.body.slice(0, 160)}`);
    const ack = await this.post(authorization, answer.sessionId, { jsonrpc: "2.0", method: "notifications/initialized" });
    if (ack.status !== 202) throw new Error(`notifications/initialized answered ${ack.status}`);
    return answer.sessionId;
  }

  call(authorization: string | null, sessionId: string, name: string, args: object): Promise<HttpAnswer> {
    return this.post(authorization, sessionId, { jsonrpc: "2.0", id: this.nextId++, method: "tools/call", params: { name, arguments: args } });
  }

  /** Ends the session (DELETE); the gateway ends its cordon session and cell. */
  async close(authorization: string, sessionId: string): Promise<void> {
    await this.post(authorization, sessionId, {}, "DELETE");
  }

  destroy(): void {
    this.agent.destroy();
  }
}

export class SdkMcp {
  private constructor(private readonly client: Client, private readonly transport: StreamableHTTPClientTransport) {}

  static async open(url: string, authorization: string): Promise<SdkMcp> {
    const transport = new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: { authorization } } });
    const client = new Client({ name: "cordon-bench-sdk", version: "1" });
    await client.connect(transport);
    return new SdkMcp(client, transport);
  }

  async call(name: string, args: Record<string, unknown>): Promise<Outcome> {
    const result = await this.client.callTool({ name, arguments: args });
    return result.isError === true ? "isError" : "ok";
  }

  async close(): Promise<void> {
    await this.transport.terminateSession().catch(() => undefined);
    await this.client.close();
  }
}
