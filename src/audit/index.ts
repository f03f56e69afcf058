// The audit module: a tamper-evident, hash-chained log of every decision cordon makes.
export { AuditLog } from "./audit-log.js";
export type { AuditLogOptions, RecordListener } from "./audit-log.js";
export {
  AuditCheckpointInvalid,
  AuditCheckpointMismatch,
  AuditCheckpointMissing,
  AuditEventInvalid,
  AuditTruncated,
  AuditUnreadable,
  AuditWitnessFork,
  AuditWitnessInvalid,
  AuditWitnessMalformed,
  AuditWitnessMismatch,
  AuditWitnessRejected,
  AuditWitnessRollback,
  AuditWitnessSignature,
  AuditWitnessStale,
  AuditWitnessStateInvalid,
  AuditWitnessTooLarge,
  AuditWitnessUnknownLog,
  AuditWitnessUnlinked,
  AuditWitnessUnreachable,
  NotCanonicalJson,
} from "./audit-errors.js";
export type { CheckpointFault, UnknownLogReason, WitnessFault } from "./audit-errors.js";
export { Checkpointer, DEFAULT_CHECKPOINT_MS, DEFAULT_CHECKPOINT_RECORDS } from "./checkpoint.js";
export type { CheckpointerOptions } from "./checkpoint.js";
export { CHECKPOINT_PAYLOAD_TYPE, checkpointPath, decodeCheckpoint, encodeCheckpoint } from "./checkpoint-payload.js";
export type { Checkpoint } from "./checkpoint-payload.js";
export { buildRecord, encodeRecord, hashRecord } from "./build-record.js";
export { canonicalJson, MAX_JSON_DEPTH } from "./canonical-json.js";
export { MAX_EVENT_BYTES, RESERVED_FIELD_NAMES, SECRET_FIELD_NAMES } from "./check-event.js";
export { FileSink } from "./file-sink.js";
export { MemorySink } from "./memory-sink.js";
export { readAuditFile } from "./read-audit-file.js";
export { GENESIS_HASH } from "./types.js";
export type { AuditEvent, AuditRecord, AuditSink, ChainFault, ChainHead, ChainVerdict, WitnessStatus } from "./types.js";
export { auditVerdictOk, verifyAuditFile } from "./verify-audit-file.js";
export type { AuditFileVerdict, VerifyAuditOptions, WitnessSource } from "./verify-audit-file.js";
export { verifyWitnessed } from "./verify-witness.js";
export type { WitnessEntry, WitnessSubject, WitnessVerdict } from "./verify-witness.js";
export { WitnessAnchor } from "./witness-anchor.js";
export type { AnchorSetup, WitnessTarget } from "./witness-anchor.js";
export { parseWitnessUrl, WitnessClient } from "./witness-client.js";
export type { Fetch, WitnessClientOptions } from "./witness-client.js";
export {
  checkpointDigest, COSIGN_CONTENT_TYPE, COSIGN_PATH, COSIGNATURE_PAYLOAD_TYPE, cosignaturePath, decodeCosignature, encodeCosignature, latestPath,
  LOG_NAME, MAX_SEGMENT_RECORDS, MAX_WITNESS_REQUEST_BYTES, openCosignature, WITNESS_ENFORCER,
} from "./witness-payload.js";
export type { Cosignature, CosignRequestHead, WitnessLatest } from "./witness-payload.js";
export { verifyCheckpoints } from "./verify-checkpoints.js";
export type { CheckpointSubject, CheckpointVerdict } from "./verify-checkpoints.js";
export { checkLine, verifyChain } from "./verify-chain.js";
