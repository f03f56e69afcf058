// The probe cell: the real cell (serve-cell.ts) plus what a compromised cell would do, on request
// of a probe, and the native self-attacks run from inside the cell's own sandbox. It is started
// only through the cell-program seam of a probe session (SessionContext.cellMain); the real cell
// has none of this. (Its path under dist/ is HOSTILE_CELL_MAIN in probe-session.ts: importing this
// file runs it.)
import { serveCell } from "../cell/serve-cell.js";
import { runSelftest } from "./cell-selftest.js";

let hangNextCall = false;

serveCell((m, io) => {
  if (m.t === "call" && hangNextCall) {
    // A hung cell: the call is never answered; the control plane's watchdog must kill it.
    hangNextCall = false;
    return true;
  }
  if (m.t !== "selftest") return false;
  switch (m.probe) {
    case "forge-session":
      io.send({ t: "result", session: "someone-else", id: m.id, outcome: null });
      return true;
    case "forge-peer":
      // A per-role cell answering with the identity of another session open in it.
      io.send({ t: "result", session: io.openSessions()[0] ?? "none", id: m.id, outcome: null });
      return true;
    case "oversized-frame": {
      const head = Buffer.alloc(4);
      head.writeUInt32BE(0xffffffff, 0);
      io.raw(head);
      return true;
    }
    case "hang-next-call":
      hangNextCall = true;
      io.send({ t: "selftest", session: io.session() ?? "", id: m.id, result: null });
      return true;
    default:
      io.send({ t: "selftest", session: io.session() ?? "", id: m.id, result: runSelftest(m.probe) });
      return true;
  }
});
