// The durable AuditSink: appends to one file and fdatasyncs before a write resolves.
//
// A write is all or nothing. If writing or syncing fails, the file is truncated back to its
// last durable length, so a failed batch never leaves a partial line for the next batch to
// land after. If even that fails, the sink refuses every later write (fail closed).
import { mkdir, open } from "node:fs/promises";
import type { FileHandle } from "node:fs/promises";
import { dirname } from "node:path";
import { AuditWriteFailed } from "../errors.js";
import { toWriteFailed } from "./audit-errors.js";
import type { AuditSink } from "./types.js";

export class FileSink implements AuditSink {
  readonly #handle: FileHandle;
  /** Length of the file up to the last durable write. */
  #size: number;
  #busy = false;
  #broken = false;
  #closed = false;

  private constructor(handle: FileHandle, size: number) {
    this.#handle = handle;
    this.#size = size;
  }

  /** Opens `path` for appending, creating it 0600 (and missing parent folders 0700). */
  static async open(path: string): Promise<FileSink> {
    const dir = dirname(path);
    let handle: FileHandle;
    try {
      await mkdir(dir, { recursive: true, mode: 0o700 });
      handle = await open(path, "a", 0o600);
    } catch (err) {
      throw toWriteFailed(err);
    }
    try {
      const stat = await handle.stat();
      if (!stat.isFile()) throw new AuditWriteFailed("not-a-regular-file");
      // The creation mode only applies to new files; an existing log gets the same protection.
      if ((stat.mode & 0o077) !== 0) await handle.chmod(0o600);
      await syncDirectory(dir);
      return new FileSink(handle, stat.size);
    } catch (err) {
      await handle.close();
      throw toWriteFailed(err);
    }
  }

  async write(lines: string): Promise<void> {
    if (this.#closed) throw new AuditWriteFailed("closed");
    if (this.#broken) throw new AuditWriteFailed("sink-broken");
    if (this.#busy) throw new AuditWriteFailed("concurrent-write");
    this.#busy = true;
    try {
      const { size } = await this.#handle.stat();
      // Someone else appended or truncated: our head no longer matches the file's.
      if (size !== this.#size) throw new AuditWriteFailed("file-changed");
      const bytes = Buffer.from(lines, "utf8");
      try {
        await writeAll(this.#handle, bytes);
        await this.#handle.datasync();
      } catch (err) {
        await this.#rollBack();
        throw toWriteFailed(err);
      }
      this.#size += bytes.length;
    } finally {
      this.#busy = false;
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#handle.close();
  }

  async #rollBack(): Promise<void> {
    try {
      await this.#handle.truncate(this.#size);
      await this.#handle.datasync();
    } catch {
      this.#broken = true;
    }
  }
}

async function writeAll(handle: FileHandle, bytes: Buffer): Promise<void> {
  let offset = 0;
  while (offset < bytes.length) {
    // The file is in append mode, so every write lands at the current end.
    const { bytesWritten } = await handle.write(bytes, offset, bytes.length - offset);
    if (bytesWritten === 0) throw new AuditWriteFailed("short-write");
    offset += bytesWritten;
  }
}

/** Makes a newly created file's directory entry durable. Best effort: not every platform can. */
async function syncDirectory(dir: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(dir, "r");
    await handle.sync();
  } catch {
    // Directories cannot be fsynced on some platforms; the file's own data is still synced.
  } finally {
    await handle?.close();
  }
}
