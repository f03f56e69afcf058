// The gateway benchmark's load generator, run as its own process (forked by gateway-cases.ts)
// so that the gateway's process holds only the gateway: its CPU and memory figures are its own.
// It answers one request at a time over the IPC channel; a failed request is an error reply,
// never a crash.
import { summarise } from "./measure.js";
import { outcomeOf, RawMcp, SdkMcp, type Outcome } from "./gateway-client.js";
import { BENCH_TEXT, type LoadReply, type LoadRequest, type MixedPlan, type MixedResult, type OpKind, type OpResult, type SequentialResult, type ThroughputResult } from "./gateway-protocol.js";
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

async function answer(gen: LoadGenerator, req: LoadRequest): Promise<unknown> {
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
  }
}

function serve(): void {
  const gen = new LoadGenerator();
  process.on("message", (msg: { id: number; request: LoadRequest }) => {
    answer(gen, msg.request).then(
      (value) => process.send?.({ id: msg.id, ok: true, value } satisfies LoadReply),
      (err: unknown) => process.send?.({ id: msg.id, ok: false, error: err instanceof Error ? `${err.name}: ${err.message}` : String(err) } satisfies LoadReply),
    );
  });
  process.on("disconnect", () => void gen.close().finally(() => process.exit(0)));
}

if (process.send !== undefined) serve();

