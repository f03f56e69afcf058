// Follows an audit file as it grows (`cordon watch`): complete lines only, each parsed once;
// a file that shrinks (rotated, replaced) is read again from its start.
import { open, stat } from "node:fs/promises";
import { StringDecoder } from "node:string_decoder";
import { setTimeout as sleep } from "node:timers/promises";
import type { AuditRecord } from "../audit/index.js";

const MAX_READ = 4 * 1024 * 1024;
/** A line longer than this is not an audit record (records are capped at 64 KiB); it is skipped. */
const MAX_LINE = 256 * 1024;

export interface TailOptions {
  readonly path: string;
  /** Replay the whole file first (default: only records appended from now on). */
  readonly fromStart?: boolean;
  readonly pollMs?: number;
  readonly signal: AbortSignal;
  readonly onRecord: (record: AuditRecord) => void;
}

/** Resolves when `signal` aborts. */
export async function tailAudit(opts: TailOptions): Promise<void> {
  let offset = opts.fromStart === true ? 0 : await sizeOf(opts.path);
  let decoder = new StringDecoder("utf8");
  let pending = "";
  const buf = Buffer.alloc(MAX_READ);
  while (!opts.signal.aborted) {
    const size = await sizeOf(opts.path);
    if (size < offset) {
      offset = 0;
      pending = "";
      decoder = new StringDecoder("utf8");
    }
    if (size > offset) {
      const fh = await open(opts.path, "r").catch(() => null);
      if (fh !== null) {
        try {
          const { bytesRead } = await fh.read(buf, 0, Math.min(MAX_READ, size - offset), offset);
          offset += bytesRead;
          pending += decoder.write(buf.subarray(0, bytesRead));
        } finally {
          await fh.close();
        }
        const lines = pending.split("\n");
        pending = lines.pop() ?? "";
        if (pending.length > MAX_LINE) pending = "";
        for (const line of lines) emit(line, opts.onRecord);
        continue;
      }
    }
    try {
      await sleep(opts.pollMs ?? 250, undefined, { signal: opts.signal });
    } catch {
      return;
    }
  }
}

function emit(line: string, onRecord: (record: AuditRecord) => void): void {
  if (line === "") return;
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return;
  }
  if (typeof value === "object" && value !== null && typeof (value as { type?: unknown }).type === "string" && typeof (value as { seq?: unknown }).seq === "number") {
    onRecord(value as AuditRecord);
  }
}

async function sizeOf(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch {
    return 0;
  }
}
