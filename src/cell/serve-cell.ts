// A cell's whole life, over its frame socket: made from its role's template first (so a pooled
// cell is compiled before anyone needs it), sealed, then bound to exactly one session (or, per
// role, serving each open session's own instances). It holds no keys and no secrets, loads
// nothing by path and talks only through frames on fd 3. Anything out of place ends the cell.
//
// `extend` is the probe seam: a probe cell (probes/hostile-cell.ts) answers messages the real
// cell never does. The real cell (main.ts) passes nothing, and treats them as bad frames.
import { createPublicKey, type KeyObject } from "node:crypto";
import { Socket } from "node:net";
import { checkLaunch } from "../attest/launch-format.js";
import { sha256Hex } from "../crypto/digest.js";
import { CordonError, ToolRefused, type Json } from "../errors.js";
import { WasmCell } from "../wasm/engine/wasm-cell.js";
import { encodeFrame, FrameDecoder } from "./frames.js";
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

  // Given on the command line, apart from the frames: who this cell is, and whose statements count.
  const [cellId = "", launchKeyB64 = ""] = process.argv.slice(2);
  const launchKey = ((): KeyObject | null => {
    try {
      return createPublicKey({ key: Buffer.from(launchKeyB64, "base64"), format: "der", type: "spki" });
    } catch {
      return null;
    }
  })();

  const send = (message: FromCell | Record<string, Json>): void => {
    socket.write(encodeFrame(message as Record<string, Json>));
  };
  function exit(code: number): never {
    cell?.close();
    for (const c of perRole?.values() ?? []) c.close();
    process.exit(code);
  }
  const io: CellIo = { send, raw: (b) => socket.write(b), session: () => session, openSessions: () => [...(perRole?.keys() ?? [])] };

  /** Checks a session's launch statement; null when it holds. */
  const launchProblem = (launch: string, s: string): string | null => {
    if (launchKey === null || received === null) return "no launch key";
    return checkLaunch(launch, launchKey, { cellId, session: s, modules: received });
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
        const instances = perRole !== null ? perRole.get(m.session) : m.session === session ? cell : undefined;
        if (instances === undefined || instances === null) exit(CELL_EXIT.wrongSession);
        const outcome = instances.call(m.tool, new Uint8Array(Buffer.from(m.input, "base64")), m.fuelOverride === undefined ? {} : { fuelOverride: m.fuelOverride });
        send({ t: "result", session: m.session, id: m.id, outcome: outcomeToWire(outcome) });
        return;
      }
      case "close":
        return exit(CELL_EXIT.closed);
      case "selftest":
        return exit(CELL_EXIT.badFrame);
    }
  };

  socket.on("data", (chunk: Buffer) => {
    let messages: Array<Record<string, Json>>;
    try {
      messages = decoder.push(chunk);
    } catch {
      exit(CELL_EXIT.badFrame);
    }
    for (const raw of messages) {
      let m: ToCell;
      try {
        m = parseToCell(raw);
      } catch {
        exit(CELL_EXIT.badFrame);
      }
      try {
        handle(m);
      } catch (err) {
        const code = err instanceof CordonError ? err.code : "internal";
        process.stderr.write(`cell: ${code}\n`);
        exit(CELL_EXIT.internal);
      }
    }
  });
  socket.on("end", () => exit(CELL_EXIT.closed));
  socket.on("error", () => exit(CELL_EXIT.closed));
  send({ t: "ready", pid: process.pid });
}
