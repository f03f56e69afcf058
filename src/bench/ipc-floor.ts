// The floor under a call through a cell: a message the size of an echo call frame sent to a
// second node process over a socketpair (what fd 3 of a cell is) and echoed straight back. No
// sandbox, no framing, no JSON: what any out-of-process design pays per call on this host.
import { spawn } from "node:child_process";
import type { Duplex } from "node:stream";
import { settle, summarise, type Plan } from "./measure.js";
import { failedRow, type Row } from "./rows.js";

const PLAN: Plan = { warmup: 300, iterations: 3000 };
/** About the size of an echo call frame and its result frame. */
const MESSAGE_BYTES = 160;
const ROUND_TRIP_TIMEOUT_MS = 5000;
/** The peer: writes back every byte it reads on fd 3. */
const PEER = "const s = new (require('node:net').Socket)({ fd: 3, readable: true, writable: true }); s.on('data', (d) => s.write(d)); s.on('end', () => process.exit(0));";

/** Sends `message` and resolves when as many bytes have come back. */
function pinger(socket: Duplex, message: Buffer): () => Promise<void> {
  let owed = 0;
  let done: (() => void) | null = null;
  socket.on("data", (d: Buffer) => {
    owed -= d.byteLength;
    if (owed <= 0 && done !== null) {
      const resolve = done;
      done = null;
      resolve();
    }
  });
  return () =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no echo within ${ROUND_TRIP_TIMEOUT_MS} ms`)), ROUND_TRIP_TIMEOUT_MS);
      done = () => {
        clearTimeout(timer);
        resolve();
      };
      owed += message.byteLength;
      socket.write(message);
    });
}

export async function benchIpcFloor(): Promise<Row[]> {
  const base = { id: "cells.floor.ipc-round-trip", section: "cells", label: `floor: ${MESSAGE_BYTES}-byte round trip to another node process (socketpair)` } as const;
  const child = spawn(process.execPath, ["-e", PEER], { stdio: ["ignore", "ignore", "pipe", "pipe"], shell: false });
  const exited = new Promise<void>((resolve) => child.on("close", () => resolve()));
  try {
    const socket = child.stdio[3];
    if (socket === null || socket === undefined || !("write" in socket)) throw new Error("no socketpair on fd 3");
    const failed = new Promise<never>((_, reject) => {
      child.on("error", reject);
      child.on("close", (code, signal) => reject(new Error(`the peer exited ${code ?? signal}`)));
    });
    failed.catch(() => undefined);
    const roundTrip = pinger(socket as Duplex, Buffer.alloc(MESSAGE_BYTES, 0x61));
    for (let i = 0; i < PLAN.warmup; i++) await Promise.race([roundTrip(), failed]);
    const samples: number[] = [];
    for (let i = 0; i < PLAN.iterations; i++) {
      const start = process.hrtime.bigint();
      await Promise.race([roundTrip(), failed]);
      samples.push(Number(process.hrtime.bigint() - start));
    }
    return [
      {
        ...base,
        kind: "timing",
        stats: summarise(samples),
        note: "a write, a wake-up of the other process, a read, and the same back; a call through a cell pays this plus framing, the wire format and the cell's own work",
      },
    ];
  } catch (err) {
    return [failedRow(base, err)];
  } finally {
    child.kill("SIGKILL");
    await Promise.race([exited, settle(2000)]);
  }
}
