// `cordon attest show SESSION`: the session's signed launch statement, from the audit log,
// checked against the launch key recorded (in the same hash chain) when its runtime started.
import { createPublicKey } from "node:crypto";
import { readAuditFile } from "../audit/read-audit-file.js";
import { verifyChain } from "../audit/verify-chain.js";
import { AuditCorrupt, UsageError } from "../errors.js";
import { keyId, verifyEnvelope } from "../crypto/dsse.js";
import { IN_TOTO_PAYLOAD_TYPE } from "../attest/launch-format.js";
import type { Io } from "./commands.js";

export async function attestShow(opts: { file: string; session: string }, io: Io): Promise<number> {
  if (opts.session.length < 8) throw new UsageError("give the session id (at least its first 8 characters)");
  const text = await readAuditFile(opts.file);
  const chain = verifyChain(text);
  if (!chain.ok) throw new AuditCorrupt(chain.firstBadSeq, chain.reason);
  let launchKeys = new Map<string, ReturnType<typeof createPublicKey>>();
  for (const line of text.split("\n")) {
    if (line === "") continue;
    const r = JSON.parse(line) as Record<string, unknown>;
    if (r["type"] === "policy.loaded" && typeof r["launchPublicKey"] === "string") {
      const key = createPublicKey({ key: Buffer.from(r["launchPublicKey"], "base64"), format: "der", type: "spki" });
      launchKeys = new Map([[keyId(key), key]]);
    }
    if (r["type"] !== "session.attested" || typeof r["session"] !== "string" || !r["session"].startsWith(opts.session)) continue;
    const payload = verifyEnvelope(Buffer.from(String(r["statement"])), IN_TOTO_PAYLOAD_TYPE, launchKeys, `launch statement of ${r["session"]}`);
    io.out(JSON.stringify({ session: r["session"], auditSeq: r["seq"], launch: r["launch"], launchKeyId: r["launchKeyId"], verifiedBy: r["verifiedBy"], signature: "valid (per-boot launch key recorded in this chain)", statement: JSON.parse(payload.toString("utf8")) as unknown }, null, 2));
    return 0;
  }
  io.err(`no launch statement for session ${opts.session} in ${opts.file}`);
  return 1;
}
