// CLI verbs of the hash-locked runtime: `cordon lock`, `cordon lock verify`, `cordon sbom`.
import { readFile, writeFile } from "node:fs/promises";
import { RuntimeLockMismatch } from "../lock/errors.js";
import { loadSigningKeyFile, loadTrustedKeyFile } from "../crypto/load-key-file.js";
import { buildSbom } from "../lock/build-sbom.js";
import { lockRows, verifyRuntimeLock } from "../lock/verify-lock.js";
import { defaultLockPath, writeRuntimeLock } from "../lock/write-lock.js";
import { reportError, type Io } from "./commands.js";
import { formatTable } from "./table.js";

const mb = (bytes: number) => (bytes / 1e6).toFixed(1);

/** `cordon lock --key KEY [--out FILE]`: measure this installation and sign the result. */
export async function lockCommand(opts: { packageRoot: string; key: string; out: string | undefined }, io: Io): Promise<number> {
  const key = await loadSigningKeyFile(opts.key);
  const written = await writeRuntimeLock(opts.packageRoot, key, opts.out ?? defaultLockPath(opts.packageRoot));
  io.out(`locked ${written.components} components, ${written.files} files (${mb(written.bytes)} MB), signed by ${key.keyid.slice(0, 16)}…`);
  if (written.absent.length > 0) io.out(`absent on this host (locked as absent): ${written.absent.join(", ")}`);
  io.out(`wrote ${written.path}`);
  return 0;
}

/** `cordon lock verify --key PUB [--lock FILE] [--json]`: one row per locked component. */
export async function lockVerifyCommand(opts: { packageRoot: string; key: string; lock: string | undefined; json: boolean }, io: Io): Promise<number> {
  const trusted = await loadTrustedKeyFile(opts.key);
  const envelope = await readFile(opts.lock ?? defaultLockPath(opts.packageRoot));
  const result = await verifyRuntimeLock(envelope, trusted, opts.packageRoot);
  const rows = lockRows(result);
  if (opts.json) {
    io.out(JSON.stringify({ ok: result.ok, ms: result.ms, files: result.files, bytes: result.bytes, rows }, null, 2));
  } else {
    io.out(formatTable(["component", "status", "detail"], rows.map((r) => [r.component, r.status, r.detail])));
    io.out(`\n${result.files} files (${mb(result.bytes)} MB) checked in ${result.ms} ms`);
  }
  const bad = result.components.filter((c) => c.status !== "ok");
  const first = bad[0];
  if (first === undefined) return 0;
  reportError(new RuntimeLockMismatch(first.name, first.file, first.reason ?? "changed", bad.length), io);
  return 1;
}

/** `cordon sbom [--out FILE]`: CycloneDX 1.5 JSON of the runtime. */
export async function sbomCommand(opts: { packageRoot: string; out: string | undefined }, io: Io): Promise<number> {
  const { bom, base } = await buildSbom(opts.packageRoot);
  const text = `${JSON.stringify(bom, null, 2)}\n`;
  if (opts.out === undefined) {
    io.out(text.trimEnd());
  } else {
    await writeFile(opts.out, text);
    io.err(`wrote ${opts.out} (${(bom["components"] as unknown[]).length} components; npm packages from ${base})`);
  }
  return 0;
}
