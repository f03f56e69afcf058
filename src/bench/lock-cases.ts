// The runtime lock's start-up cost: verifying this installation (node binary, dist/, runtime
// npm packages, sandbox binaries) against a lock signed in memory, as every start does.
import { generateKeyPairSync } from "node:crypto";
import { keyId } from "../crypto/dsse.js";
import { collectRuntimeLock } from "../lock/collect-lock.js";
import { verifyRuntimeLock } from "../lock/verify-lock.js";
import { signRuntimeLock } from "../lock/write-lock.js";
import { timeAsync } from "./measure.js";
import { failedRow, type Row } from "./rows.js";

export async function benchLockVerify(packageRoot: string): Promise<Row[]> {
  const base = { id: "integrity.lock.verify", section: "integrity" as const, label: "verify the runtime lock (whole installation)" };
  try {
    const { privateKey, publicKey } = generateKeyPairSync("ed25519");
    const { lock, files, bytes } = await collectRuntimeLock(packageRoot);
    const envelope = Buffer.from(JSON.stringify(signRuntimeLock(lock, { keyid: keyId(publicKey), privateKey })));
    const trusted = new Map([[keyId(publicKey), publicKey]]);
    let ok = true;
    const stats = await timeAsync({ warmup: 1, iterations: 10 }, async () => {
      ok &&= (await verifyRuntimeLock(envelope, trusted, packageRoot)).ok;
    });
    if (!ok) throw new Error("the installation does not match the lock just made");
    return [{ ...base, kind: "timing", stats, note: `${lock.components.length} components, ${files} files, ${(bytes / 1e6).toFixed(1)} MB, envelope ${(envelope.byteLength / 1024).toFixed(0)} KiB; page cache warm` }];
  } catch (err) {
    return [failedRow(base, err)];
  }
}
