// The cell's end of the frame socket, usable while a guest runs. A guest call is synchronous:
// the cell's event loop cannot run until it returns, so anything the call needs from the
// control plane meanwhile (a cancellation, a sampling answer) is read here directly from the
// socket's fd, which libuv holds non-blocking, and fed to the same decoder the event loop uses,
// in stream order. Every frame the cell sends is written here too, synchronously and whole, so
// frames written during a call can never interleave with a half-written one.
import { readSync, writeSync } from "node:fs";
import type { Json } from "../errors.js";
import { encodeFrame, type FrameDecoder } from "./frames.js";

const WAIT = new Int32Array(new SharedArrayBuffer(4));

/** Sleeps this thread (a guest waiting on the control plane: nothing else can run anyway). */
export function sleepMs(ms: number): void {
  Atomics.wait(WAIT, 0, 0, Math.max(0, ms));
}

function codeOf(e: unknown): string | undefined {
  return typeof e === "object" && e !== null && "code" in e && typeof e.code === "string" ? e.code : undefined;
}

export class FrameLink {
  private readonly buf = Buffer.allocUnsafe(64 * 1024);

  constructor(
    private readonly fd: number,
    private readonly decoder: FrameDecoder,
    /** Each whole message decoded from what was read, in order. */
    private readonly onMessages: (messages: Array<Record<string, Json>>) => void,
    /** The control plane went away (EOF, a broken pipe) or the stream broke: the cell must end. */
    private readonly onGone: (why: "closed" | "bad-frame") => never,
  ) {}

  /** Writes one frame whole, waiting (briefly, repeatedly) while the socket is full. */
  send(message: Record<string, Json>): void {
    this.write(encodeFrame(message));
  }

  write(bytes: Uint8Array): void {
    let off = 0;
    while (off < bytes.byteLength) {
      try {
        off += writeSync(this.fd, bytes, off, bytes.byteLength - off);
      } catch (e) {
        const code = codeOf(e);
        if (code === "EAGAIN" || code === "EWOULDBLOCK") sleepMs(1);
        else this.onGone("closed");
      }
    }
  }

  /** Takes in whatever the control plane has sent that the event loop has not read yet. Never blocks. */
  poll(): void {
    for (;;) {
      let n: number;
      try {
        n = readSync(this.fd, this.buf, 0, this.buf.length, null);
      } catch (e) {
        const code = codeOf(e);
        if (code === "EAGAIN" || code === "EWOULDBLOCK") return;
        this.onGone("closed");
      }
      if (n === 0) this.onGone("closed");
      this.feed(Buffer.from(this.buf.subarray(0, n)));
    }
  }

  /** What the event loop read, or what poll() read: decoded the same way, in order. */
  feed(chunk: Buffer): void {
    let messages: Array<Record<string, Json>>;
    try {
      messages = this.decoder.push(chunk);
    } catch {
      this.onGone("bad-frame");
    }
    this.onMessages(messages);
  }
}
