// Length-prefixed frames over a stream: a 4-byte big-endian length, then that many bytes of
// UTF-8 JSON. Both sides decode with a hard size cap; anything malformed is a typed error and
// the peer that sent it is treated as hostile (the gateway kills a cell that does it).
import { CordonError, type Json } from "../errors.js";

export const FRAME_HEADER_BYTES = 4;
/** Large enough for a role's modules (base64) in one load frame. */
export const DEFAULT_MAX_FRAME_BYTES = 64 * 1024 * 1024;

export type FrameFault = "oversized" | "not-utf8" | "not-json" | "not-object" | "truncated";

export class FrameInvalid extends CordonError {
  readonly code = "ERR_FRAME_INVALID";
  constructor(readonly fault: FrameFault, readonly bytes: number) {
    super(`invalid frame (${fault}, ${bytes} bytes)`);
  }
  fields(): Record<string, Json> {
    return { fault: this.fault, bytes: this.bytes };
  }
}

export function encodeFrame(message: Json, maxBytes = DEFAULT_MAX_FRAME_BYTES): Buffer {
  const body = Buffer.from(JSON.stringify(message), "utf8");
  if (body.byteLength > maxBytes) throw new FrameInvalid("oversized", body.byteLength);
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + body.byteLength);
  frame.writeUInt32BE(body.byteLength, 0);
  body.copy(frame, FRAME_HEADER_BYTES);
  return frame;
}

const UTF8 = new TextDecoder("utf-8", { fatal: true });

function decodeBody(body: Buffer): Record<string, Json> {
  let text: string;
  try {
    text = UTF8.decode(body);
  } catch {
    throw new FrameInvalid("not-utf8", body.byteLength);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new FrameInvalid("not-json", body.byteLength);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new FrameInvalid("not-object", body.byteLength);
  return value as Record<string, Json>;
}

/**
 * Incremental decoder: push chunks, get whole messages. After the first error it stays failed
 * (a stream that lied about one length cannot be re-synchronised).
 */
export class FrameDecoder {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private failed: FrameInvalid | null = null;

  constructor(private readonly maxBytes = DEFAULT_MAX_FRAME_BYTES) {}

  push(chunk: Buffer): Array<Record<string, Json>> {
    if (this.failed !== null) throw this.failed;
    this.chunks.push(chunk);
    this.buffered += chunk.byteLength;
    const out: Array<Record<string, Json>> = [];
    for (;;) {
      if (this.buffered < FRAME_HEADER_BYTES) break;
      const head = this.peek(FRAME_HEADER_BYTES);
      const length = head.readUInt32BE(0);
      if (length > this.maxBytes) return this.fail(new FrameInvalid("oversized", length));
      if (this.buffered < FRAME_HEADER_BYTES + length) break;
      const whole = this.take(FRAME_HEADER_BYTES + length);
      try {
        out.push(decodeBody(whole.subarray(FRAME_HEADER_BYTES)));
      } catch (err) {
        return this.fail(err as FrameInvalid);
      }
    }
    return out;
  }

  /** Call at end of stream: leftover bytes mean the peer died mid-frame. */
  end(): void {
    if (this.failed === null && this.buffered > 0) this.fail(new FrameInvalid("truncated", this.buffered));
  }

  private fail(err: FrameInvalid): never {
    this.failed = err;
    this.chunks = [];
    this.buffered = 0;
    throw err;
  }

  private peek(n: number): Buffer {
    const first = this.chunks[0];
    if (first !== undefined && first.byteLength >= n) return first.subarray(0, n);
    return Buffer.concat(this.chunks).subarray(0, n);
  }

  private take(n: number): Buffer {
    const all = this.chunks.length === 1 ? (this.chunks[0] as Buffer) : Buffer.concat(this.chunks);
    const head = all.subarray(0, n);
    const rest = all.subarray(n);
    this.chunks = rest.byteLength > 0 ? [rest] : [];
    this.buffered = rest.byteLength;
    return head;
  }
}
