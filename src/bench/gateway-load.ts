// The gateway benchmark's load generator, run as its own process (forked by gateway-cases.ts)
// so that the gateway's process holds only the gateway: its CPU and memory figures are its own.
// It answers one request at a time over the IPC channel; a failed request is an error reply,
// never a crash.
import { connect, type Socket } from "node:net";
import { summarise } from "./measure.js";
import { outcomeOf, RawMcp, SdkMcp, type Outcome } from "./gateway-client.js";
import {
  BENCH_TEXT, type LoadReply, type LoadRequest, type MixedPlan, type MixedResult, type OpKind, type OpResult, type SequentialResult, type SlowlorisCensus, type ThroughputResult,
} from "./gateway-protocol.js";
import { FAULT_TOOLS } from "./gateway-policy.js";

const TEXT = BENCH_TEXT;

interface RawHandle {
  readonly kind: "raw";
  readonly client: RawMcp;
  readonly sessionId: string;
  readonly authorization: string;
  /** Not an MCP session (the bare-HTTP floor): nothing to DELETE. */
  readonly floor: boolean;
}
interface SdkHandle {
  readonly kind: "sdk";
  readonly client: SdkMcp;
}
type Handle = RawHandle | SdkHandle;

/** The child's state: its clients and open sessions, owned by this one object. */
class LoadGenerator {
  private readonly handles = new Map<string, Handle>();
  private readonly raws = new Map<string, RawMcp>();
  private serial = 0;

  private raw(url: string): RawMcp {
    let client = this.raws.get(url);
    if (client === undefined) {
      client = new RawMcp(url, 256);
      this.raws.set(url, client);
    }
    return client;
  }

  private handle(id: string): Handle {
    const h = this.handles.get(id);
    if (h === undefined) throw new Error(`no session handle ${id}`);
    return h;
  }

  private rawHandle(id: string): RawHandle {
    const h = this.handle(id);
    if (h.kind !== "raw") throw new Error(`handle ${id} is not a raw session`);
    return h;
  }

  async open(url: string, client: "raw" | "sdk" | "floor", authorization: string, count: number): Promise<string[]> {
    const ids: string[] = [];
    const opened = await Promise.all(
      Array.from({ length: count }, async (): Promise<Handle> => {
        if (client === "sdk") return { kind: "sdk", client: await SdkMcp.open(url, authorization) };
        const raw = this.raw(url);
        if (client === "floor") return { kind: "raw", client: raw, sessionId: "floor", authorization, floor: true };
        return { kind: "raw", client: raw, sessionId: await raw.open(authorization), authorization, floor: false };
      }),
    );
    for (const h of opened) {
      const id = `h${++this.serial}`;
      this.handles.set(id, h);
      ids.push(id);
    }
    return ids;
  }

  private async callOnce(id: string, tool: string, args: Record<string, unknown>): Promise<Outcome> {
    const h = this.handle(id);
    if (h.kind === "sdk") return h.client.call(tool, args);
    return outcomeOf(await h.client.call(h.authorization, h.sessionId, tool, args));
  }

  /** One call at a time on one session: the latency of a call with nothing else in flight. */
  async sequential(id: string, tool: string, args: Record<string, unknown>, warmup: number, n: number): Promise<SequentialResult> {
    for (let i = 0; i < warmup; i++) await this.callOnce(id, tool, args);
    const samplesNs: number[] = [];
    const outcomes: Record<string, number> = {};
    const cpu = process.cpuUsage();
    for (let i = 0; i < n; i++) {
      const start = process.hrtime.bigint();
      const outcome = await this.callOnce(id, tool, args);
      samplesNs.push(Number(process.hrtime.bigint() - start));
      outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
    }
    const used = process.cpuUsage(cpu);
    return { samplesNs, cpuUs: used.user + used.system, outcomes };
  }

  /** `concurrency` callers, each looping over the sessions round-robin, for `durationMs`. */
  async throughput(ids: readonly string[], tool: string, args: Record<string, unknown>, concurrency: number, durationMs: number): Promise<ThroughputResult> {
    const samples: number[] = [];
    const outcomes: Record<string, number> = {};
    const cpu = process.cpuUsage();
    const start = process.hrtime.bigint();
    const deadline = performance.now() + durationMs;
    let next = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (performance.now() < deadline) {
          const id = ids[next++ % ids.length] as string;
          const t = process.hrtime.bigint();
          const outcome = await this.callOnce(id, tool, args).catch(() => "transport-error");
          samples.push(Number(process.hrtime.bigint() - t));
          outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
        }
      }),
    );
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    const used = process.cpuUsage(cpu);
    return { count: samples.length, outcomes, stats: samples.length > 0 ? summarise(samples) : null, seconds, cpuUs: used.user + used.system };
  }

  async mixed(plan: MixedPlan): Promise<MixedResult> {
    const sessions = plan.sessions.map((id) => this.rawHandle(id));
    const faults = plan.faultSessions.map((id) => this.rawHandle(id));
    const samples = new Map<OpKind, number[]>();
    const outcomes = new Map<OpKind, Record<string, number>>();
    const timeline: number[] = [];
    const began = performance.now();
    const deadline = began + plan.durationMs;
    const note = (kind: OpKind, outcome: Outcome, ns: number) => {
      const o = outcomes.get(kind) ?? {};
      o[outcome] = (o[outcome] ?? 0) + 1;
      outcomes.set(kind, o);
      const s = samples.get(kind) ?? [];
      s.push(ns);
      samples.set(kind, s);
      const second = Math.floor((performance.now() - began) / 1000);
      timeline[second] = (timeline[second] ?? 0) + 1;
    };
    const timed = async (kind: OpKind, run: () => Promise<Outcome>) => {
      const t = process.hrtime.bigint();
      const outcome = await run().catch(() => "transport-error");
      note(kind, outcome, Number(process.hrtime.bigint() - t));
    };
    let pick = 0;
    const ordinary = async (worker: number) => {
      for (let i = worker; performance.now() < deadline; i++) {
        const s = sessions[(pick++ * 7 + worker) % sessions.length] as RawHandle;
        const r = Math.random();
        if (r < 0.55) await timed("text-stats", async () => outcomeOf(await s.client.call(s.authorization, s.sessionId, "text-stats", { text: TEXT })));
        else if (r < 0.72) await timed("notes-add", async () => outcomeOf(await s.client.call(s.authorization, s.sessionId, "notes", { op: "add", text: `note ${i}` })));
        else if (r < 0.89) await timed("notes-list", async () => outcomeOf(await s.client.call(s.authorization, s.sessionId, "notes", { op: "list" })));
        else if (r < 0.92) await timed("notes-clear", async () => outcomeOf(await s.client.call(s.authorization, s.sessionId, "notes", { op: "clear" })));
        else if (r < 0.98) {
          const bad = plan.badAuthorizations[i % plan.badAuthorizations.length];
          if (bad !== undefined) await timed("bad-token", async () => outcomeOf(await s.client.call(bad.authorization, s.sessionId, "text-stats", { text: TEXT })));
        } else {
          // A valid token of another principal presenting this session's id.
          await timed("hijack", async () => outcomeOf(await s.client.call(plan.hijacker, s.sessionId, "text-stats", { text: TEXT })));
        }
      }
    };
    const faultLane = async () => {
      for (let i = 0; performance.now() < deadline && faults.length > 0; i++) {
        const s = faults[i % faults.length] as RawHandle;
        const kind: OpKind = i % 20 === 19 ? "fault-killed" : i % 5 === 4 ? "fault-loop" : "fault-trap";
        const tool = kind === "fault-killed" ? FAULT_TOOLS.killed : kind === "fault-loop" ? FAULT_TOOLS.loop : FAULT_TOOLS.trap;
        await timed(kind, async () => outcomeOf(await s.client.call(s.authorization, s.sessionId, tool, {})));
        await new Promise((resolve) => setTimeout(resolve, plan.faultPauseMs));
      }
    };
    const cpu = process.cpuUsage();
    const start = process.hrtime.bigint();
    await Promise.all([...Array.from({ length: plan.concurrency }, (_, w) => ordinary(w)), faultLane()]);
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    const used = process.cpuUsage(cpu);
    const ops: Partial<Record<OpKind, OpResult>> = {};
    for (const [kind, s] of samples) ops[kind] = { count: s.length, outcomes: outcomes.get(kind) ?? {}, stats: summarise(s) };
    return { seconds, cpuUs: used.user + used.system, ops, timeline: Array.from(timeline, (n) => n ?? 0) };
  }

  async close(ids?: readonly string[]): Promise<void> {
    const which = ids ?? [...this.handles.keys()];
    await Promise.all(
      which.map(async (id) => {
        const h = this.handles.get(id);
        this.handles.delete(id);
        if (h === undefined) return;
        if (h.kind === "sdk") await h.client.close().catch(() => undefined);
        else if (!h.floor) await h.client.close(h.authorization, h.sessionId).catch(() => undefined);
      }),
    );
    if (this.handles.size === 0) {
      for (const raw of this.raws.values()) raw.destroy();
      this.raws.clear();
    }
  }
}

/**
 * A slowloris client: holds `connections` TCP connections open, each sending a request header
 * one byte every `everyMs` and never finishing it, spread over several loopback source
 * addresses (Linux routes all of 127/8 to lo) so that each stays under the gateway's
 * per-address cap. A connection the server cuts is reopened at once, as an attacker would.
 */
class Slowloris {
  private readonly sockets = new Map<Socket, { sent: number }>();
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private filled = false;
  private minOpen = 0;
  private opened = 0;
  private cutByServer = 0;
  private answered408 = 0;
  private refusedAtCap = 0;
  private bytesSent = 0;
  private header = "";

  async start(url: string, connections: number, addresses: readonly string[], everyMs: number): Promise<number> {
    const target = new URL(url);
    this.header = `POST ${target.pathname} HTTP/1.1\r\nHost: ${target.host}\r\nX-Slowloris: ${"a".repeat(64 * 1024)}`;
    const port = Number(target.port);
    await Promise.all(Array.from({ length: connections }, (_, i) => this.open(port, addresses[i % addresses.length] ?? "127.0.0.1")));
    this.filled = true;
    this.minOpen = this.sockets.size;
    this.timer = setInterval(() => {
      for (const [socket, state] of this.sockets) {
        if (socket.destroyed || state.sent >= this.header.length) continue;
        socket.write(this.header[state.sent] ?? "a");
        state.sent += 1;
        this.bytesSent += 1;
      }
    }, everyMs);
    return this.sockets.size;
  }

  private open(port: number, localAddress: string): Promise<void> {
    return new Promise((resolve) => {
      const socket = connect({ port, host: "127.0.0.1", localAddress });
      let reply = "";
      let ended = false;
      socket.on("data", (d: Buffer) => (reply += d.toString("latin1")));
      socket.on("end", () => (ended = true));
      socket.on("error", () => undefined);
      socket.once("connect", () => {
        this.opened += 1;
        this.sockets.set(socket, { sent: 1 });
        socket.write(this.header[0] ?? "P");
        this.bytesSent += 1;
        resolve();
      });
      socket.once("close", () => {
        const held = this.sockets.delete(socket);
        if (!held) {
          resolve();
          return;
        }
        if (ended || reply !== "") this.cutByServer += 1;
        if (reply.startsWith("HTTP/1.1 408")) this.answered408 += 1;
        if (this.filled) this.minOpen = Math.min(this.minOpen, this.sockets.size);
        // Refused at a cap: reopening would only spin; counted, not retried.
        const atCap = /^HTTP\/1\.1 (429|503)/.test(reply);
        if (atCap) this.refusedAtCap += 1;
        if (!this.stopped && !atCap) void this.open(port, localAddress);
      });
    });
  }

  census(): SlowlorisCensus {
    return { open: this.sockets.size, minOpen: this.minOpen, opened: this.opened, cutByServer: this.cutByServer, answered408: this.answered408, refusedAtCap: this.refusedAtCap, bytesSent: this.bytesSent };
  }

  stop(): SlowlorisCensus {
    this.stopped = true;
    clearInterval(this.timer);
    const census = this.census();
    for (const socket of this.sockets.keys()) socket.destroy();
    this.sockets.clear();
    return census;
  }
}

async function answer(gen: LoadGenerator, req: LoadRequest, slow: Slowloris): Promise<unknown> {
  switch (req.op) {
    case "open":
      return { handles: await gen.open(req.url, req.client, req.authorization, req.count) };
    case "sequential":
      return gen.sequential(req.handle, req.tool, req.args, req.warmup, req.n);
    case "throughput":
      return gen.throughput(req.handles, req.tool, req.args, req.concurrency, req.durationMs);
    case "mixed":
      return gen.mixed(req.plan);
    case "close":
      await gen.close(req.handles);
      return {};
    case "slowloris":
      return { open: await slow.start(req.url, req.connections, req.addresses, req.everyMs) };
    case "slowloris-census":
      return slow.census();
    case "slowloris-stop":
      return slow.stop();
  }
}

function serve(): void {
  const gen = new LoadGenerator();
  const slow = new Slowloris();
  process.on("message", (msg: { id: number; request: LoadRequest }) => {
    answer(gen, msg.request, slow).then(
      (value) => process.send?.({ id: msg.id, ok: true, value } satisfies LoadReply),
      (err: unknown) => process.send?.({ id: msg.id, ok: false, error: err instanceof Error ? `${err.name}: ${err.message}` : String(err) } satisfies LoadReply),
    );
  });
  process.on("disconnect", () => {
    slow.stop();
    void gen.close().finally(() => process.exit(0));
  });
}

if (process.send !== undefined) serve();

