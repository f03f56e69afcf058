// Signed audit checkpoints: what they cost the audit log. Records per second into a real file
// log (fdatasync per group commit) with no checkpointer, and with one every 1000, 100 and 10
// records; appends issued one at a time (each awaited) and 64 in flight. Configurations are
// interleaved over rounds and the median round is reported. Also: one checkpoint's signing cost.
import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AuditLog } from "../audit/audit-log.js";
import { Checkpointer } from "../audit/checkpoint.js";
import { CHECKPOINT_PAYLOAD_TYPE, encodeCheckpoint } from "../audit/checkpoint-payload.js";
import { keyId, signEnvelope, type SigningKey } from "../crypto/dsse.js";
import { settle, timeSync } from "./measure.js";
import { failedRow, type InfoRow, type Row } from "./rows.js";

const ROUNDS = 3;
const EVERY: readonly (number | null)[] = [null, 1000, 100, 10];
const PATTERNS = [
  { key: "sequential", label: "one at a time", records: 1_000, window: 1 },
  { key: "window64", label: "64 in flight", records: 10_000, window: 64 },
] as const;

function signingKey(): SigningKey {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  return { keyid: keyId(publicKey), privateKey };
}

/** Seconds to append `records` records keeping `window` appends in flight, checkpointing every `every` (or never). */
async function appendRun(dir: string, records: number, window: number, every: number | null, key: SigningKey): Promise<{ seconds: number; checkpoints: number }> {
  const path = join(dir, `audit-${every ?? "none"}-${window}-${Math.random().toString(36).slice(2)}.jsonl`);
  const log = await AuditLog.open(path);
  const cp = every === null ? null : await Checkpointer.start(log, { auditPath: path, key, everyRecords: every, everyMs: 3_600_000 });
  const start = process.hrtime.bigint();
  let issued = 0;
  const lane = async (): Promise<void> => {
    while (issued < records) {
      issued++;
      await log.append({ type: "call.allowed", enforcer: "role-toolset", tool: "echo", inputBytes: 7 });
    }
  };
  await Promise.all(Array.from({ length: window }, lane));
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  await log.close();
  await cp?.close();
  return { seconds, checkpoints: cp?.written ?? 0 };
}

const median = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;

export async function benchCheckpoints(): Promise<Row[]> {
  const rows: Row[] = [];
  const key = signingKey();
  const payload = encodeCheckpoint({ log: "audit.jsonl", seq: 123_456, head: "ab".repeat(32), at: new Date(0).toISOString() });
  rows.push({
    id: "audit.checkpoint.sign",
    section: "integrity",
    kind: "timing",
    label: "sign one checkpoint (Ed25519 DSSE, no write)",
    stats: timeSync({ warmup: 200, iterations: 2_000 }, () => void signEnvelope(CHECKPOINT_PAYLOAD_TYPE, payload, key)),
  });
  const dir = mkdtempSync(join(tmpdir(), "cordon-bench-cp-"));
  try {
    for (const pattern of PATTERNS) {
      const secs = new Map<number | null, number[]>(EVERY.map((e) => [e, []]));
      const written = new Map<number | null, number>();
      try {
        for (let round = 0; round < ROUNDS; round++) {
          for (const every of EVERY) {
            const r = await appendRun(dir, pattern.records, pattern.window, every, key);
            secs.get(every)?.push(r.seconds);
            written.set(every, r.checkpoints);
            await settle(20);
          }
        }
      } catch (err) {
        rows.push(failedRow({ id: `audit.append.${pattern.key}`, section: "integrity", label: `append ${pattern.label}` }, err));
        continue;
      }
      const base = pattern.records / median(secs.get(null) ?? []);
      for (const every of EVERY) {
        const rate = pattern.records / median(secs.get(every) ?? []);
        const row: InfoRow = {
          id: `audit.append.${pattern.key}.${every === null ? "no-checkpoints" : `every-${every}`}`,
          section: "integrity",
          kind: "info",
          label: `append ${pattern.label}, ${every === null ? "no checkpoints" : `checkpoint every ${every}`}`,
          text: `${Math.round(rate)} records/s${every === null ? "" : ` (${((rate / base) * 100).toFixed(1)}% of no checkpoints; ${written.get(every) ?? 0} checkpoints)`}`,
          data: { recordsPerSecond: Math.round(rate), records: pattern.records, window: pattern.window, every: every ?? 0, relative: every === null ? 1 : Math.round((rate / base) * 1000) / 1000 },
        };
        rows.push(row);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}
