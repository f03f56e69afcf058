// The cell: a sandboxed child process that hosts the Wasm engine for exactly one session
// (per-session, the default) or for the sessions of one role, each with its own instances
// (per-role).
// It holds no keys and no secrets, loads nothing by path, and talks only through frames on
// fd 3. Once a template is loaded it is sealed: any further module is refused and the cell
// exits. A frame for another session makes it exit too.
import { createPublicKey, type KeyObject } from "node:crypto";
import { Socket } from "node:net";
import { checkLaunch, sha256Of } from "../attest/launch-format.js";
import { CordonError, ToolRefused, type Json } from "../errors.js";
import { WasmCell } from "../wasm/engine/wasm-cell.js";
import { encodeFrame, FrameDecoder } from "./frames.js";
import { runSelftest } from "./selftest.js";
import { errorToWire, outcomeToWire, templateFromWire, WireInvalid } from "./wire.js";

/** Exit codes the gateway reads when a cell goes away on its own. */
export const CELL_EXIT = { closed: 0, badFrame: 2, wrongSession: 3, sealed: 4, internal: 70 } as const;

const FRAME_FD = 3;

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

/** Checks a session's launch statement; null when it holds. */
function launchProblem(m: Record<string, Json>, s: string): string | null {
  if (launchKey === null || received === null) return "no launch key";
  if (typeof m["launch"] !== "string") return "no launch statement";
  return checkLaunch(m["launch"], launchKey, { cellId, session: s, modules: received });
}

function send(message: Record<string, Json>): void {
  socket.write(encodeFrame(message));
}

function exit(code: number): never {
  cell?.close();
  for (const c of perRole?.values() ?? []) c.close();
  process.exit(code);
}

function handle(m: Record<string, Json>): void {
  const t = m["t"];
  // A cell is made from its role's template first (so a pooled cell is compiled before anyone
  // needs it), then bound to exactly one session. Each happens once; a second is fatal.
  if (t === "load") {
    if (cell !== null || session !== null) exit(CELL_EXIT.sealed);
    if (!Array.isArray(m["tools"])) exit(CELL_EXIT.badFrame);
    if (m["mode"] !== "per-session" && m["mode"] !== "per-role") exit(CELL_EXIT.badFrame);
    try {
      const templates = m["tools"].map((x, i) => templateFromWire(x, `tools[${i}]`));
      received = new Map(templates.map((tpl) => [tpl.name, sha256Of(tpl.moduleBytes)]));
      cell = new WasmCell(templates, {});
      if (m["mode"] === "per-role") perRole = new Map();
      send({ t: "loaded", session: "", tools: cell.toolNames() });
    } catch (err) {
      if (err instanceof ToolRefused) send({ t: "refused", session: "", error: errorToWire(err.reason), tool: err.tool, enforcer: err.enforcer });
      else if (err instanceof WireInvalid) exit(CELL_EXIT.badFrame);
      else throw err;
    }
    return;
  }
  if (t === "bind") {
    if (cell === null || session !== null || perRole !== null) exit(CELL_EXIT.sealed);
    if (typeof m["session"] !== "string" || m["session"] === "") exit(CELL_EXIT.badFrame);
    const problem = launchProblem(m, m["session"]);
    if (problem !== null) {
      // Serve nothing: say why, then go away (the cell is sealed and now useless).
      send({ t: "launch-refused", session: m["session"], id: 0, reason: problem });
      socket.end(() => exit(CELL_EXIT.sealed));
      return;
    }
    session = m["session"];
    send({ t: "bound", session });
    return;
  }
  if (t === "open" || t === "end") {
    const id = m["id"];
    const s = m["session"];
    if (perRole === null || cell === null || typeof id !== "number" || typeof s !== "string" || s === "") exit(CELL_EXIT.badFrame);
    if (t === "open") {
      if (perRole.has(s)) exit(CELL_EXIT.badFrame);
      const problem = launchProblem(m, s);
      if (problem !== null) {
        send({ t: "launch-refused", session: s, id, reason: problem });
        return;
      }
      perRole.set(s, cell.fork());
    } else {
      perRole.get(s)?.close();
      perRole.delete(s);
    }
    send({ t: t === "open" ? "opened" : "ended", session: s, id });
    return;
  }
  if (t === "selftest") {
    if (typeof m["id"] !== "number" || typeof m["probe"] !== "string") exit(CELL_EXIT.badFrame);
    // Probes of the gateway's frame guard: behave like a compromised cell would.
    if (m["probe"] === "forge-session") {
      send({ t: "result", session: "someone-else", id: m["id"], outcome: null });
      return;
    }
    if (m["probe"] === "forge-peer") {
      // A per-role cell answering with the identity of another session that is open in it.
      send({ t: "result", session: [...(perRole?.keys() ?? [])][0] ?? "none", id: m["id"], outcome: null });
      return;
    }
    if (m["probe"] === "oversized-frame") {
      const head = Buffer.alloc(4);
      head.writeUInt32BE(0xffffffff, 0);
      socket.write(head);
      return;
    }
    send({ t: "selftest", session: session ?? "", id: m["id"], result: runSelftest(m["probe"]) });
    return;
  }
  // The session a frame names must be this cell's (per-session) or open in it (per-role).
  const target = typeof m["session"] === "string" ? m["session"] : null;
  const instances = perRole !== null ? (target === null ? undefined : perRole.get(target)) : target !== null && target === session ? cell : undefined;
  if (instances === undefined || instances === null || target === null) exit(CELL_EXIT.wrongSession);
  if (typeof t !== "string") exit(CELL_EXIT.badFrame);
  switch (t) {
    case "call": {
      const { id, tool, input } = m;
      if (typeof id !== "number" || typeof tool !== "string" || typeof input !== "string") exit(CELL_EXIT.badFrame);
      const fuel = m["fuelOverride"];
      const outcome = instances.call(tool, new Uint8Array(Buffer.from(input, "base64")), typeof fuel === "number" ? { fuelOverride: fuel } : {});
      send({ t: "result", session: target, id, outcome: outcomeToWire(outcome) });
      return;
    }
    case "close":
      exit(CELL_EXIT.closed);
    // falls through (unreachable: exit never returns)
    default:
      exit(CELL_EXIT.badFrame);
  }
}

socket.on("data", (chunk: Buffer) => {
  let messages: Array<Record<string, Json>>;
  try {
    messages = decoder.push(chunk);
  } catch {
    exit(CELL_EXIT.badFrame);
  }
  for (const m of messages) {
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
