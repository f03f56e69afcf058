// `cordon audit export`: streams an audit file as OCSF events or OTLP log records, one JSON
// document a line, checking the chain as it goes. A record that breaks the chain ends the
// export with ERR_EXPORT_CHAIN_BROKEN: what was exported before it is intact, nothing after it
// is sent, so a SIEM never ingests a record the chain does not vouch for.
import { createReadStream } from "node:fs";
import { createInterface } from "node:readline";
import { AuditUnreadable } from "../audit/audit-errors.js";
import { checkLine, type AuditRecord, type ChainHead } from "../audit/index.js";
import { ExportChainBroken, ExportFormatUnknown } from "../report/errors.js";
import { toOcsf } from "./ocsf.js";
import { toOtlpRequest } from "./otel.js";

export type ExportFormat = "ocsf" | "otel";

export function exportFormatOf(value: string | undefined): ExportFormat {
  if (value === "ocsf" || value === "otel") return value;
  throw new ExportFormatUnknown(value ?? "(none)");
}

export interface ExportOptions {
  readonly file: string;
  readonly format: ExportFormat;
  readonly version: string;
  /** Receives each output line (no newline). */
  readonly write: (line: string) => void;
  readonly now?: () => number;
  /** OTLP records per ExportLogsServiceRequest line (default 100). */
  readonly batch?: number;
}

/** Exports every record; resolves to how many. */
export async function exportAudit(opts: ExportOptions): Promise<number> {
  const now = opts.now ?? Date.now;
  const batchSize = opts.batch ?? 100;
  const product = { version: opts.version };
  const stream = createReadStream(opts.file, { encoding: "utf8" });
  const opened = new Promise<void>((resolve, reject) => {
    stream.once("open", () => resolve());
    stream.once("error", (err: NodeJS.ErrnoException) => reject(new AuditUnreadable(opts.file, err.code ?? "unknown")));
  });
  await opened;
  const lines = createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY });
  let head: ChainHead | null = null;
  let pending: AuditRecord[] = [];
  const flush = () => {
    if (pending.length === 0) return;
    opts.write(JSON.stringify(toOtlpRequest(pending, product, now())));
    pending = [];
  };
  try {
    for await (const line of lines) {
      const checked = checkLine(line, head);
      if (typeof checked === "string") {
        flush();
        throw new ExportChainBroken(head === null ? 1 : head.seq + 1, checked);
      }
      head = { seq: checked.seq, hash: checked.hash };
      if (opts.format === "ocsf") opts.write(JSON.stringify(toOcsf(checked, product)));
      else {
        pending.push(checked);
        if (pending.length >= batchSize) flush();
      }
    }
  } finally {
    lines.close();
    stream.destroy();
  }
  flush();
  return head?.seq ?? 0;
}
