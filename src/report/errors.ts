// The reports' and exports' failures, each with a stable code.
import { CordonError, type Json } from "../errors.js";

/** A report file could not be written (its directory is missing or not writable). */
export class ReportUnwritable extends CordonError {
  readonly code = "ERR_REPORT_UNWRITABLE";
  constructor(readonly file: string, readonly reason: string) {
    super(`cannot write the report to ${file} (${reason})`, "give a path in an existing, writable directory");
  }
  fields(): Record<string, Json> {
    return { file: this.file, reason: this.reason };
  }
}

/** An export format cordon does not produce. */
export class ExportFormatUnknown extends CordonError {
  readonly code = "ERR_EXPORT_FORMAT";
  constructor(readonly format: string) {
    super(`unknown export format ${JSON.stringify(format.slice(0, 32))}`, "use --format ocsf or --format otel");
  }
  fields(): Record<string, Json> {
    return { format: this.format.slice(0, 32) };
  }
}

/** The log being exported stops being a valid chain: nothing from that record on is exported. */
export class ExportChainBroken extends CordonError {
  readonly code = "ERR_EXPORT_CHAIN_BROKEN";
  constructor(readonly firstBadSeq: number, readonly reason: string) {
    super(`the audit chain breaks at seq ${firstBadSeq} (${reason}); records before it were exported, none after`, "run cordon audit verify on the file");
  }
  fields(): Record<string, Json> {
    return { firstBadSeq: this.firstBadSeq, reason: this.reason };
  }
}
