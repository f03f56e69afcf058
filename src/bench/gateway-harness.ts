// The gateway benchmark's moving parts outside the gateway: the forked load generator, spoken
// to over IPC with a deadline on every request, and a sampler of this process's memory.
import { fork, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { LoadReply, LoadRequest } from "./gateway-protocol.js";

interface Pending {
  readonly resolve: (value: unknown) => void;
  readonly reject: (err: Error) => void;
  readonly timer: NodeJS.Timeout;
}

export class LoadChild {
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private exited: string | null = null;

  private constructor(private readonly child: ChildProcess) {
    child.on("message", (reply: LoadReply) => {
      const p = this.pending.get(reply.id);
      if (p === undefined) return;
      this.pending.delete(reply.id);
      clearTimeout(p.timer);
      if (reply.ok) p.resolve(reply.value);
      else p.reject(new Error(`load generator: ${reply.error}`));
    });
    child.on("exit", (code, signal) => {
      this.exited = `load generator exited (${signal ?? code ?? "?"})`;
      for (const p of this.pending.values()) {
        clearTimeout(p.timer);
        p.reject(new Error(this.exited));
      }
      this.pending.clear();
    });
  }

  /** Forks gateway-load.js with an empty environment: it needs nothing from ours. */
  static start(): LoadChild {
    const entry = fileURLToPath(new URL("./gateway-load.js", import.meta.url));
    return new LoadChild(fork(entry, [], { env: {}, stdio: ["ignore", "inherit", "inherit", "ipc"], execArgv: [] }));
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  ask<T>(request: LoadRequest, timeoutMs: number): Promise<T> {
    if (this.exited !== null) return Promise.reject(new Error(this.exited));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`load generator: no answer to ${request.op} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, timer });
      this.child.send({ id, request });
    });
  }

  /** Disconnects (the child closes its sessions and exits); kills it if it lingers. */
  async stop(graceMs = 5000): Promise<void> {
    if (this.exited !== null) return;
    const gone = new Promise<void>((resolve) => this.child.once("exit", () => resolve()));
    if (this.child.connected) this.child.disconnect();
    const timer = setTimeout(() => this.child.kill("SIGKILL"), graceMs);
    await gone;
    clearTimeout(timer);
  }
}

export interface MemorySample {
  /** Milliseconds since sampling started. */
  readonly t: number;
  readonly phase: string;
  readonly rssMB: number;
  readonly heapUsedMB: number;
  readonly externalMB: number;
}

const MB = 1024 * 1024;

/** Samples process.memoryUsage() on a timer; each sample is tagged with the current phase. */
export class MemorySampler {
  private readonly samples: MemorySample[] = [];
  private readonly started = performance.now();
  private readonly timer: NodeJS.Timeout;
  private current = "start";

  constructor(intervalMs = 250) {
    this.sample();
    this.timer = setInterval(() => this.sample(), intervalMs);
    this.timer.unref();
  }

  phase(name: string): void {
    this.current = name;
    this.sample();
  }

  private sample(): void {
    const m = process.memoryUsage();
    const round = (x: number) => Math.round((x / MB) * 10) / 10;
    this.samples.push({ t: Math.round(performance.now() - this.started), phase: this.current, rssMB: round(m.rss), heapUsedMB: round(m.heapUsed), externalMB: round(m.external) });
  }

  stop(): MemorySample[] {
    clearInterval(this.timer);
    this.sample();
    return [...this.samples];
  }
}
