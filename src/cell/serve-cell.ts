// A cell's whole life, over its frame socket: made from its role's template first (so a pooled
// cell is compiled before anyone needs it), sealed, then bound to exactly one session (or, per
// role, serving each open session's own instances). It holds no keys and no secrets, loads
// nothing by path and talks only through frames on fd 3. Anything out of place ends the cell.
//
// A call runs synchronously; while it runs, the cell reads the frames it needs (a cancellation,
// a sampling answer) straight from the socket (frame-link.ts) at every fuel slice, and queues
// the others to be served, in order, once the call has returned.
//
// `extend` is the probe seam: a probe cell (probes/hostile-cell.ts) answers messages the real
// cell never does. The real cell (main.ts) passes nothing, and treats them as bad frames.
import { createPublicKey, type KeyObject } from "node:crypto";
import { Socket } from "node:net";
import { checkLaunch } from "../attest/launch-format.js";
import { sha256Hex } from "../crypto/digest.js";
import { CallCancelled, CordonError, ToolRefused, type Json } from "../errors.js";
import { SAMPLE_CODE } from "../wasm/engine/call-context.js";
import type { CallHooks, CallOutcome, ToolTemplate } from "../wasm/engine/types.js";
import { WasmCell } from "../wasm/engine/wasm-cell.js";
import { JailedFiles, type JailedResult } from "../wasm/wasi/jailed-files.js";
import { FrameLink, sleepMs } from "./frame-link.js";
import { FrameDecoder } from "./frames.js";
import { parseToCell, type FromCell, type ToCell } from "./protocol.js";
import { errorToWire, outcomeToWire, templateFromWire, WireInvalid } from "./wire.js";

/** Exit codes the gateway reads when a cell goes away on its own. */
export const CELL_EXIT = { closed: 0, badFrame: 2, wrongSession: 3, sealed: 4, internal: 70 } as const;

const FRAME_FD = 3;

/** What a probe cell's extension may do: send, see the session(s), and write raw bytes. */
export interface CellIo {
  send(message: FromCell | Record<string, Json>): void;
  raw(bytes: Uint8Array): void;
  /** The bound session (per-session), or null. */
  session(): string | null;
  /** The open sessions (per-role). */
  openSessions(): string[];
}

/** Returns true when it handled the message. */
export type CellExtension = (m: ToCell, io: CellIo) => boolean;

export function serveCell(extend?: CellExtension): void {
  const socket = new Socket({ fd: FRAME_FD, readable: true, writable: true });
  const decoder = new FrameDecoder();
  let session: string | null = null;
  let cell: WasmCell | null = null;
  /** per-role cells: each open session's own instances over the role's compiled modules. */
  let perRole: Map<string, WasmCell> | null = null;
  /** name -> sha256 of the module bytes this cell received: what a launch statement must name. */
  let received: Map<string, string> | null = null;
  /** The templates as loaded (their fs grants point at this cell's binds): resource roots are among them. */
  let loaded: readonly ToolTemplate[] = [];

  // Given on the command line, apart from the frames: who this cell is, and whose statements count.
  const [cellId = "", launchKeyB64 = ""] = process.argv.slice(2);
  const launchKey = ((): KeyObject | null => {
    try {
      return createPublicKey({ key: Buffer.from(launchKeyB64, "base64"), format: "der", type: "spki" });
    } catch {
      return null;
    }
  })();

  function exit(code: number): never {
    cell?.close();
    for (const c of perRole?.values() ?? []) c.close();
    process.exit(code);
  }

  /** Frames waiting to be served, in stream order; cancellations and sampling answers are taken at once. */
  const queue: ToCell[] = [];
  const key = (s: string, id: number): string => `${s}\0${id}`;
  /** Calls the control plane cancelled (running, or still queued). */
  const cancelled = new Set<string>();
  const answers = new Map<string, Extract<ToCell, { t: "sampled" }>>();
  const route = (m: ToCell): void => {
    if (m.t === "cancel") {
      if (cancelled.size >= 4096) cancelled.clear();
      cancelled.add(key(m.session, m.id));
    } else if (m.t === "sampled") {
      if (answers.size >= 64) answers.clear();
      answers.set(key(m.session, m.id), m);
    } else {
      queue.push(m);
    }
  };
  const link = new FrameLink(
    FRAME_FD,
    decoder,
    (messages) => {
      for (const raw of messages) {
        let m: ToCell;
        try {
          m = parseToCell(raw);
        } catch {
          exit(CELL_EXIT.badFrame);
        }
        route(m);
      }
    },
    (why) => exit(why === "closed" ? CELL_EXIT.closed : CELL_EXIT.badFrame),
  );
  const send = (message: FromCell | Record<string, Json>): void => link.send(message as Record<string, Json>);
  const io: CellIo = { send, raw: (b) => link.write(b), session: () => session, openSessions: () => [...(perRole?.keys() ?? [])] };

  /** Checks a session's launch statement; null when it holds. */
  const launchProblem = (launch: string, s: string): string | null => {
    if (launchKey === null || received === null) return "no launch key";
    return checkLaunch(launch, launchKey, { cellId, session: s, modules: received });
  };

  /** What one call may reach while it runs: progress and sampling frames, and its cancellation. */
  const hooksFor = (s: string, id: number): CallHooks => {
    const k = key(s, id);
    let polledAt = 0;
    const stopIfCancelled = (): void => {
      if (cancelled.has(k)) throw new CallCancelled("running", "the guest was stopped at its next fuel slice, the cell lives on");
    };
    return {
      progress: (done, total) => send({ t: "progress", session: s, id, done, total }),
      sample: (request, deadline) => {
        send({ t: "sample", session: s, id, request: Buffer.from(request).toString("base64") });
        for (;;) {
          link.poll();
          stopIfCancelled();
          const a = answers.get(k);
          if (a !== undefined) {
            answers.delete(k);
            return a.answer === null ? a.code : new Uint8Array(Buffer.from(a.answer, "base64"));
          }
          const left = deadline - performance.now();
          if (left <= 0) return SAMPLE_CODE.failed;
          sleepMs(Math.min(5, left));
        }
      },
      slice: () => {
        // A read that finds nothing costs one syscall; at most one per millisecond of guest work.
        const now = performance.now();
        if (now - polledAt >= 1) {
          polledAt = now;
          link.poll();
        }
        stopIfCancelled();
      },
    };
  };

  /** The files of a resource root: a granted mount of one of this cell's tools, through the jail. */
  const resource = (m: Extract<ToCell, { t: "resource" }>): Json => {
    const grant = loaded.find((t) => t.name === m.tool)?.grants.find((g) => (g.kind === "fs.read" || g.kind === "fs.write") && g.mount === m.mount);
    if (grant === undefined || (grant.kind !== "fs.read" && grant.kind !== "fs.write")) return { ok: false, denied: false, code: "ERR_RESOURCE_NOT_FOUND" };
    const files = new JailedFiles(grant.hostPath, grant.mount, "resource-jail");
    const wire = <T>(r: JailedResult<T>, value: (v: T) => Json): Json => (r.ok ? { ok: true, ...(value(r.value) as Record<string, Json>) } : { ok: false, denied: r.denied, code: r.code });
    switch (m.op) {
      case "list":
      case "list-dirs":
        return wire(files.list(m.path, m.depth, m.op === "list-dirs"), (entries) => ({ entries: entries.map((e) => ({ ...e })) }));
      case "read":
        return wire(files.read(m.path, m.maxBytes), (f) => ({ data: Buffer.from(f.bytes).toString("base64"), mtimeMs: f.mtimeMs }));
      case "stat":
        return wire(files.stat(m.path), (st) => ({ ...st }));
    }
  };

  /** The instances a frame's session names: this cell's (per-session) or that session's (per-role). */
  const instancesOf = (s: string): WasmCell => {
    const instances = perRole !== null ? perRole.get(s) : s === session ? cell : undefined;
    if (instances === undefined || instances === null) exit(CELL_EXIT.wrongSession);
    return instances;
  };

  const handle = (m: ToCell): void => {
    if (extend?.(m, io) === true) return;
    switch (m.t) {
      case "load": {
        if (cell !== null || session !== null) exit(CELL_EXIT.sealed);
        try {
          const templates = m.tools.map((x, i) => templateFromWire(x, `tools[${i}]`));
          received = new Map(templates.map((tpl) => [tpl.name, sha256Hex(tpl.moduleBytes)]));
          cell = new WasmCell(templates, {});
          loaded = templates;
          if (m.mode === "per-role") perRole = new Map();
          send({ t: "loaded", session: "", tools: cell.toolNames() });
        } catch (err) {
          if (err instanceof ToolRefused) send({ t: "refused", session: "", error: errorToWire(err.reason), tool: err.tool, enforcer: err.enforcer });
          else if (err instanceof WireInvalid) exit(CELL_EXIT.badFrame);
          else throw err;
        }
        return;
      }
      case "bind": {
        if (cell === null || session !== null || perRole !== null) exit(CELL_EXIT.sealed);
        const problem = launchProblem(m.launch, m.session);
        if (problem !== null) {
          // Serve nothing: say why, then go away (the cell is sealed and now useless).
          send({ t: "launch-refused", session: m.session, id: 0, reason: problem });
          socket.end(() => exit(CELL_EXIT.sealed));
          return;
        }
        session = m.session;
        send({ t: "bound", session: m.session });
        return;
      }
      case "open": {
        if (perRole === null || cell === null || perRole.has(m.session)) exit(CELL_EXIT.badFrame);
        const problem = launchProblem(m.launch, m.session);
        if (problem !== null) {
          send({ t: "launch-refused", session: m.session, id: m.id, reason: problem });
          return;
        }
        perRole.set(m.session, cell.fork());
        send({ t: "opened", session: m.session, id: m.id });
        return;
      }
      case "end": {
        if (perRole === null) exit(CELL_EXIT.badFrame);
        perRole.get(m.session)?.close();
        perRole.delete(m.session);
        send({ t: "ended", session: m.session, id: m.id });
        return;
      }
      case "call": {
        // The session a frame names must be this cell's (per-session) or open in it (per-role).
        const instances = instancesOf(m.session);
        const k = key(m.session, m.id);
        let outcome: CallOutcome;
        if (cancelled.delete(k)) {
          const error = new CallCancelled("before-run", "cancelled before the cell started it");
          outcome = { ok: false, error, enforcer: null, logs: [], denials: [], stats: { fuelUsed: 0, wallUs: 0, outputBytes: 0, memoryBytes: 0 } };
        } else {
          try {
            const hooks = hooksFor(m.session, m.id);
            outcome = instances.call(m.tool, new Uint8Array(Buffer.from(m.input, "base64")), m.fuelOverride === undefined ? { hooks } : { fuelOverride: m.fuelOverride, hooks });
          } finally {
            cancelled.delete(k);
            answers.delete(k);
          }
        }
        send({ t: "result", session: m.session, id: m.id, outcome: outcomeToWire(outcome) });
        return;
      }
      case "resource":
        instancesOf(m.session);
        send({ t: "resourced", session: m.session, id: m.id, result: resource(m) });
        return;
      case "close":
        return exit(CELL_EXIT.closed);
      case "cancel":
      case "sampled":
        // Taken as they arrive (route); never queued.
        return;
      case "selftest":
        return exit(CELL_EXIT.badFrame);
    }
  };

  let draining = false;
  const drain = (): void => {
    if (draining) return;
    draining = true;
    try {
      for (let m = queue.shift(); m !== undefined; m = queue.shift()) {
        try {
          handle(m);
        } catch (err) {
          const code = err instanceof CordonError ? err.code : "internal";
          process.stderr.write(`cell: ${code}\n`);
          exit(CELL_EXIT.internal);
        }
      }
    } finally {
      draining = false;
    }
  };

  socket.on("data", (chunk: Buffer) => {
    link.feed(chunk);
    drain();
  });
  socket.on("end", () => exit(CELL_EXIT.closed));
  socket.on("error", () => exit(CELL_EXIT.closed));
  send({ t: "ready", pid: process.pid });
}
