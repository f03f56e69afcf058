// The gateway's handle on one cell process: spawn it under the sandbox, put it in its own
// cgroup before it sees any guest code, exchange frames, and tear it down completely. Every
// message from the cell is untrusted; a malformed frame or a frame for another session is a
// violation: the cell is killed and the violation reported.
import type { ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { chownSync } from "node:fs";
import { constants as osConstants } from "node:os";
import { join } from "node:path";
import type { Socket } from "node:net";
import { CordonError, TierUnavailable, ToolRefused, type Json } from "../errors.js";
import type { SandboxPlan } from "../sandbox/bwrap-plan.js";
import type { CellCgroup } from "../sandbox/cgroups/index.js";
import { spawnSandboxed } from "../sandbox/spawn-sandboxed.js";
import type { SeccompEvent } from "../sandbox/seccomp/supervisor-events.js";
import type { CallOutcome, ToolTemplate } from "../wasm/engine/types.js";
import { encodeFrame, FrameDecoder } from "./frames.js";
import { parseFromCell, type FromCell, type Reply, type ToCell } from "./protocol.js";
import { errorFromWire, outcomeFromWire, templateToWire, WireInvalid } from "./wire.js";

/** Where in its life a cell was when it went away. */
export type CellStage = "starting" | "loading" | "pooled" | "bound" | "calling" | "ending";

export class CellExited extends CordonError {
  readonly code = "ERR_CELL_EXITED";
  constructor(
    readonly exitCode: number | null,
    readonly signal: string | null,
    readonly stderrTail: string,
    /** The cell's cgroup's oom_kill counter when it exited. */
    readonly oomKills = 0,
    readonly stage: CellStage | "unknown" = "unknown",
  ) {
    super(`cell exited (${describeExit(exitCode, signal, oomKills)}) while ${stage}`);
  }
  /** What ended it, for an operator: the OOM killer, a signal, or a status. */
  get killedBy(): string {
    return describeExit(this.exitCode, this.signal, this.oomKills);
  }
  fields(): Record<string, Json> {
    return { exitCode: this.exitCode, signal: this.signal ?? signalOfStatus(this.exitCode), oomKills: this.oomKills, stage: this.stage, killedBy: this.killedBy };
  }
}

/** bwrap (and the supervisor after it) report a command killed by signal N as status 128 + N. */
export function signalOfStatus(status: number | null): string | null {
  if (status === null || status <= 128 || status > 128 + 64) return null;
  const n = status - 128;
  return Object.entries(osConstants.signals).find(([, v]) => v === n)?.[0] ?? `signal ${n}`;
}

function describeExit(exitCode: number | null, signal: string | null, oomKills: number): string {
  if (oomKills > 0) return `OOM-killed at its memory limit (oom_kill=${oomKills})`;
  const sig = signal ?? signalOfStatus(exitCode);
  if (sig !== null) return `killed by ${sig}`;
  return `status ${exitCode ?? "?"}`;
}

/** per-session: one cell, one session, bound once. per-role: one cell per role, a fresh instance set per session. */
export type CellMode = "per-session" | "per-role";

/** A cell refused the session's launch statement: it serves nothing for that session. */
export class LaunchRefused extends CordonError {
  readonly code = "ERR_LAUNCH_REFUSED";
  constructor(readonly reason: string) {
    super(`the cell refused the launch statement: ${reason}`);
  }
  fields(): Record<string, Json> {
    return { reason: this.reason };
  }
}

function launchReply(reply: FromCell): void {
  if (reply.t === "launch-refused") throw new LaunchRefused(reply.reason.slice(0, 128));
}

export type Violation = { readonly kind: "bad-frame" | "wrong-session" | "unexpected-message"; readonly detail: string };

export interface CellProcessOptions {
  /** The cell's id (also on its command line, so it can check statements are for it). */
  readonly id?: string;
  readonly plan: SandboxPlan;
  readonly launcher: string;
  readonly uid: number;
  readonly gid: number;
  readonly seccomp: Uint8Array | null;
  /** Creates the cell's cgroup; called after the cell is up and before it gets any template. */
  readonly cgroup: (id: string) => CellCgroup;
  readonly readyTimeoutMs?: number;
  readonly onViolation?: (cell: CellProcess, v: Violation) => void;
  /** Each stage of the cell's life as it enters it (tests kill cells at each one through this). */
  readonly onStage?: (cell: CellProcess, stage: CellStage) => void;
  /** The cell went away without being asked to (a crash, an OOM kill, a kill from outside). */
  readonly onExit?: (cell: CellProcess, exited: CellExited) => void;
  /** Every event of the cell's seccomp supervisor (denials answered EPERM, a foreign-ABI kill). */
  readonly onSeccomp?: (cell: CellProcess, event: SeccompEvent) => void;
}

/** The call a cell is working on: what a denial it makes at this moment is attributed to. */
export interface CallInFlight {
  readonly session: string;
  readonly tool: string;
}

interface Pending {
  readonly kind: string;
  /** The session the answer must name ("" before a per-session cell is bound). */
  readonly session: string;
  /** The tool, for a call. */
  readonly tool?: string;
  readonly resolve: (m: FromCell) => void;
  readonly reject: (e: Error) => void;
  /** A call's own frames before its result (progress, sampling requests); absent: they are violations. */
  onFrame?: (m: Extract<FromCell, { t: "progress" | "sample" }>) => void;
}

/** What a call may send the control plane before its result, and how the control plane may stop it. */
export interface CellCallLink {
  /** Which frames the call's tool may send (its grants): any other is a violation. */
  readonly may: { readonly progress: boolean; readonly sample: boolean };
  readonly signal?: AbortSignal;
  readonly onProgress?: (done: number, total: number) => void;
  /** Answers the guest's sampling request: the answer's bytes, or a negative code for the guest. */
  readonly onSample?: (request: Uint8Array) => Promise<Uint8Array | number>;
}

export class CellProcess {
  /** The one session of a per-session cell (null before bind, and always for a per-role cell). */
  session: string | null = null;
  /** Per-role cells: the sessions currently open in this cell. */
  readonly sessions = new Set<string>();
  mode: CellMode = "per-session";
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private readonly decoder = new FrameDecoder();
  private exited: CellExited | null = null;
  private stderrTail = "";
  private readonly exitPromise: Promise<void>;
  private cgroupHandle: CellCgroup | null = null;
  private readyWaiter: Pending | null = null;
  private loadedTools: string[] | null = null;
  /** Where in its life the cell is (what an unexpected exit is reported against). */
  stage: CellStage = "starting";
  private destroyRequested = false;
  private callsInFlight = 0;

  private constructor(
    readonly id: string,
    private readonly child: ChildProcess,
    private readonly socket: Socket,
    private readonly opts: CellProcessOptions,
  ) {
    // An idle cell must not keep the control plane alive; a pending request does (see request()).
    child.unref();
    socket.unref();
    socket.on("data", (chunk: Buffer) => this.onData(chunk));
    socket.on("error", () => undefined);
    socket.on("end", () => {
      try {
        this.decoder.end();
      } catch {
        this.violate({ kind: "bad-frame", detail: "stream ended mid-frame" });
      }
    });
    child.stderr?.on("data", (d: Buffer) => {
      this.stderrTail = (this.stderrTail + d.toString("utf8")).slice(-2048);
    });
    this.exitPromise = new Promise((resolve) => {
      child.once("exit", (code, signal) => {
        let oomKills = 0;
        try {
          oomKills = this.cgroupHandle?.events().oomKills ?? 0;
        } catch {
          // the cgroup is already gone
        }
        this.exited = new CellExited(code, signal, this.stderrTail, oomKills, this.stage);
        child.unref();
        if (!this.destroyRequested) this.opts.onExit?.(this, this.exited);
        for (const p of this.pending.values()) p.reject(this.exited);
        this.pending.clear();
        this.readyWaiter?.reject(this.exited);
        resolve();
      });
    });
  }

  /** Spawns a blank cell and waits until it is up and inside its own cgroup. */
  static async start(opts: CellProcessOptions): Promise<CellProcess> {
    const id = opts.id ?? randomUUID();
    // The cgroup exists before the process: the launcher joins it before exec'ing bwrap, so
    // Node's own start-up memory is charged to the cell, not to the control plane.
    const cgroup = opts.cgroup(id);
    const procs = Object.values(cgroup.paths).map((dir) => join(dir, "cgroup.procs"));
    try {
      if (process.getuid?.() === 0) for (const f of procs) chownSync(f, opts.uid, opts.gid);
    } catch (err) {
      await cgroup.destroy();
      throw err;
    }
    let cell: CellProcess | null = null;
    const early: SeccompEvent[] = [];
    const { child } = spawnSandboxed({
      onSeccomp: (e) => {
        if (cell === null) early.push(e);
        else opts.onSeccomp?.(cell, e);
      },
      cgroupProcs: procs,
      plan: opts.plan,
      launcher: opts.launcher,
      rlimits: { nofile: 256, fsizeBytes: 1 << 30 },
      uid: opts.uid,
      gid: opts.gid,
      seccomp: opts.seccomp,
      frames: true,
      stdio: "ignore",
    });
    const socket = child.stdio[3] as Socket | null | undefined;
    if (socket === null || socket === undefined || child.pid === undefined) {
      child.kill("SIGKILL");
      await cgroup.destroy();
      throw new TierUnavailable("wasm", "could not start a sandboxed cell (bwrap did not spawn)");
    }
    cell = new CellProcess(id, child, socket, opts);
    cell.cgroupHandle = cgroup;
    cell.enter("starting");
    for (const e of early.splice(0)) opts.onSeccomp?.(cell, e);
    try {
      await cell.waitReady(opts.readyTimeoutMs ?? 5_000);
      // Belt and braces: everything should be in already; adopt any straggler before templates.
      cgroup.adoptTree(child.pid);
    } catch (err) {
      await cell.destroy();
      if (err instanceof CellExited) throw new TierUnavailable("wasm", `the sandboxed cell died while starting: ${err.stderrTail.trim().split("\n").at(-1) ?? err.message}`);
      throw err;
    }
    return cell;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get cgroup(): CellCgroup | null {
    return this.cgroupHandle;
  }

  private waitReady(timeoutMs: number): Promise<void> {
    this.socket.ref();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new TierUnavailable("wasm", `cell not ready within ${timeoutMs}ms`)), timeoutMs);
      this.readyWaiter = {
        kind: "ready",
        session: "",
        resolve: () => {
          clearTimeout(timer);
          this.socket.unref();
          resolve();
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
    });
  }

  private violate(v: Violation): void {
    this.opts.onViolation?.(this, v);
    void this.destroy();
  }

  private onData(chunk: Buffer): void {
    let messages: Array<Record<string, Json>>;
    try {
      messages = this.decoder.push(chunk);
    } catch (err) {
      this.violate({ kind: "bad-frame", detail: err instanceof CordonError ? err.code : "decode failed" });
      return;
    }
    for (const raw of messages) {
      let m: FromCell;
      try {
        m = parseFromCell(raw);
      } catch (err) {
        this.violate({ kind: "bad-frame", detail: err instanceof WireInvalid ? err.what : "unreadable message" });
        return;
      }
      this.onMessage(m);
    }
  }

  private onMessage(m: FromCell): void {
    const t = m.t;
    if (t === "ready") {
      const w = this.readyWaiter;
      this.readyWaiter = null;
      if (w === null) this.violate({ kind: "unexpected-message", detail: "ready twice" });
      else w.resolve(m);
      return;
    }
    const id = m.t === "loaded" || m.t === "refused" || m.t === "bound" ? 0 : m.id;
    const p = this.pending.get(id);
    if (m.t === "progress" || m.t === "sample") {
      // Only a call in flight, of the session it names, whose tool may send these, may send them.
      if (p === undefined || p.kind !== "result" || p.session !== m.session || p.onFrame === undefined) {
        this.violate({ kind: "unexpected-message", detail: `unsolicited '${t}'` });
        return;
      }
      p.onFrame(m);
      return;
    }
    // An answer must name the session its request was for: in a per-role cell too, no session
    // can be answered for with another's identity.
    if (m.session !== (p?.session ?? this.session ?? "")) {
      this.violate({ kind: "wrong-session", detail: "a frame claimed another session" });
      return;
    }
    const refusal = (p?.kind === "loaded" && t === "refused") || ((p?.kind === "bound" || p?.kind === "opened") && t === "launch-refused");
    if (p === undefined || (p.kind !== t && !refusal)) {
      this.violate({ kind: "unexpected-message", detail: `unsolicited '${t}'` });
      return;
    }
    this.pending.delete(id);
    if (this.pending.size === 0) {
      this.socket.unref();
      this.child.unref();
    }
    p.resolve(m);
  }

  private enter(stage: CellStage): void {
    this.stage = stage;
    this.opts.onStage?.(this, stage);
  }

  /** The oldest call still unanswered (the cell answers in order): the one it is running. */
  currentCall(): CallInFlight | null {
    for (const p of this.pending.values()) if (p.kind === "result" && p.tool !== undefined) return { session: p.session, tool: p.tool };
    return null;
  }

  private request(kind: Reply, id: number, message: ToCell, onFrame?: Pending["onFrame"]): Promise<FromCell> {
    if (this.exited !== null) return Promise.reject(this.exited);
    // An answer is awaited: its exit must reach us even if the frame socket closes first.
    this.child.ref();
    const session = "session" in message ? message.session : "";
    const tool = message.t === "call" ? message.tool : undefined;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { kind, session, ...(tool === undefined ? {} : { tool }), resolve, reject, ...(onFrame === undefined ? {} : { onFrame }) });
      this.socket.ref();
      this.socket.write(encodeFrame(message as unknown as Record<string, Json>));
    });
  }

  /** A message that expects no answer (a cancellation, a sampling answer); dropped once the cell is gone. */
  private post(message: ToCell): void {
    if (this.exited !== null || this.socket.destroyed) return;
    this.socket.write(encodeFrame(message as unknown as Record<string, Json>));
  }

  private onCallFrame(session: string, id: number, link: CellCallLink, m: Extract<FromCell, { t: "progress" | "sample" }>): void {
    // The tool's imports were vetted against its grants: a frame its grants do not allow is a lie.
    if (!(m.t === "progress" ? link.may.progress : link.may.sample)) {
      this.violate({ kind: "unexpected-message", detail: `'${m.t}' from a tool without the grant` });
      return;
    }
    if (m.t === "progress") {
      link.onProgress?.(m.done, m.total);
      return;
    }
    const request = new Uint8Array(Buffer.from(m.request, "base64"));
    const answered = link.onSample?.(request) ?? Promise.resolve(-2);
    answered.then(
      (a) => this.post(typeof a === "number" ? { t: "sampled", session, id, answer: null, code: Math.max(-16, Math.min(-1, a)) } : { t: "sampled", session, id, answer: Buffer.from(a).toString("base64"), code: 0 }),
      () => this.post({ t: "sampled", session, id, answer: null, code: -3 }),
    );
  }

  /** A resource request (list, read, stat of a granted mount), answered by the cell through its jail. */
  async resource(message: Omit<Extract<ToCell, { t: "resource" }>, "t" | "id" | "session"> & { session?: string }): Promise<Json> {
    const id = this.nextId++;
    const session = message.session ?? this.session ?? "";
    const reply = await this.request("resourced", id, { ...message, t: "resource", session, id });
    if (reply.t !== "resourced") throw new WireInvalid("resource reply");
    return reply.result;
  }

  /** Sends the role's verified templates; the cell compiles them and accepts no others. */
  async load(templates: readonly ToolTemplate[], mode: CellMode = "per-session"): Promise<string[]> {
    if (this.loadedTools !== null) throw new Error("cell already loaded");
    this.mode = mode;
    this.enter("loading");
    const reply = await this.request("loaded", 0, { t: "load", mode, tools: templates.map(templateToWire) });
    if (reply.t === "refused") throw new ToolRefused(reply.tool, errorFromWire(reply.error), reply.enforcer);
    if (reply.t !== "loaded") throw new WireInvalid("load reply");
    const tools = [...reply.tools];
    this.loadedTools = tools;
    this.enter(mode === "per-role" ? "bound" : "pooled");
    return tools;
  }

  /** The tools a loaded cell holds (null before load). */
  get tools(): readonly string[] | null {
    return this.loadedTools;
  }

  /** Binds a loaded cell to its one session; from now on every frame must carry that id. */
  async bind(session: string, launch: string): Promise<void> {
    if (this.session !== null || this.loadedTools === null || this.mode !== "per-session") throw new Error("cell not loaded, or already bound");
    this.session = session;
    launchReply(await this.request("bound", 0, { t: "bind", session, launch }));
    this.enter("bound");
  }

  /** Per-role cells: a fresh set of instances for `session`, over the role's compiled modules. */
  async open(session: string, launch: string): Promise<void> {
    if (this.mode !== "per-role" || this.loadedTools === null || this.sessions.has(session)) throw new Error("not a loaded per-role cell, or session already open");
    const id = this.nextId++;
    this.sessions.add(session);
    try {
      launchReply(await this.request("opened", id, { t: "open", session, id, launch }));
    } catch (err) {
      this.sessions.delete(session);
      throw err;
    }
  }

  /** Per-role cells: drops `session`'s instances (reactor state, open files). */
  async end(session: string): Promise<void> {
    if (!this.sessions.delete(session) || this.exited !== null) return;
    const id = this.nextId++;
    await this.request("ended", id, { t: "end", session, id });
  }

  /**
   * One call. `backstopMs` is the outer deadline: if the cell has not answered by then (the
   * engine's own deadline failed, or the cell hung), the cell is killed.
   */
  async call(tool: string, input: Uint8Array, opts: { fuelOverride?: number; backstopMs: number; maxOutputBytes: number; session?: string; link?: CellCallLink }): Promise<CallOutcome> {
    const id = this.nextId++;
    const session = opts.session ?? this.session ?? "";
    const base = { t: "call", session, id, tool, input: Buffer.from(input).toString("base64") } as const;
    const message: ToCell = opts.fuelOverride === undefined ? base : { ...base, fuelOverride: opts.fuelOverride };
    const link: CellCallLink = opts.link ?? { may: { progress: false, sample: false } };
    const onAbort = (): void => this.post({ t: "cancel", session, id });
    if (link.signal?.aborted === true) onAbort();
    link.signal?.addEventListener("abort", onAbort, { once: true });
    let timer: NodeJS.Timeout | undefined;
    const backstop = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        reject(new CellExited(null, "backstop-deadline", "", 0, "calling"));
        void this.destroy();
      }, opts.backstopMs);
    });
    this.callsInFlight += 1;
    this.enter("calling");
    try {
      const reply = await Promise.race([this.request("result", id, message, (m) => this.onCallFrame(session, id, link, m)), backstop]);
      if (reply.t !== "result") throw new WireInvalid("call reply");
      return outcomeFromWire(reply.outcome, opts.maxOutputBytes);
    } catch (err) {
      if (err instanceof WireInvalid) this.violate({ kind: "bad-frame", detail: err.what });
      throw err;
    } finally {
      link.signal?.removeEventListener("abort", onAbort);
      clearTimeout(timer);
      this.callsInFlight -= 1;
      if (this.callsInFlight === 0 && this.stage === "calling") this.enter("bound");
    }
  }

  async selftest(probe: string): Promise<Json> {
    const id = this.nextId++;
    const reply = await this.request("selftest", id, { t: "selftest", session: this.session ?? "", id, probe });
    return reply.t === "selftest" ? reply.result : null;
  }

  /** False once the cell process has exited (or was killed). */
  get alive(): boolean {
    return this.exited === null;
  }

  /** Kills the whole process tree (through the cgroup) and waits for the exit. Idempotent. */
  async destroy(): Promise<void> {
    // Waiting for the exit must keep the control plane alive (the child is otherwise unref'd).
    this.destroyRequested = true;
    if (this.exited === null) this.enter("ending");
    this.child.ref();
    if (this.exited === null) this.child.kill("SIGKILL");
    await this.cgroupHandle?.destroy();
    await this.exitPromise;
    this.socket.destroy();
  }

}
