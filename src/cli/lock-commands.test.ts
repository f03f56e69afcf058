// The lock, sbom and checkpointed `audit verify` verbs through the real `cordon` binary.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createPrivateKey, createPublicKey, generateKeyPairSync } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { AuditLog } from "../audit/audit-log.js";
import { Checkpointer } from "../audit/checkpoint.js";
import { keyId } from "../crypto/dsse.js";

const MAIN = fileURLToPath(new URL("./main.js", import.meta.url));

function cordon(args: string[], home: string) {
  const r = spawnSync(process.execPath, [MAIN, ...args], { encoding: "utf8", env: { PATH: process.env["PATH"] ?? "", CORDON_HOME: home }, timeout: 120_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

function keyFiles(dir: string, mode = 0o600): { key: string; pub: string } {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  const key = join(dir, "signing.pem");
  const pub = join(dir, "signing.pub.pem");
  writeFileSync(key, privateKey.export({ type: "pkcs8", format: "pem" }), { mode });
  writeFileSync(pub, publicKey.export({ type: "spki", format: "pem" }));
  return { key, pub };
}

describe("cordon lock, sbom and audit verify --key", () => {
  it("lock signs this installation and lock verify passes it, one row per component", () => {
    const dir = mkdtempSync(join(tmpdir(), "cordon-lock-cli-"));
    const { key, pub } = keyFiles(dir);
    const lockFile = join(dir, "cordon.lock.json");
    const locked = cordon(["lock", "--key", key, "--out", lockFile], dir);
    assert.equal(locked.code, 0, locked.err);
    assert.equal((JSON.parse(readFileSync(lockFile, "utf8")) as { payloadType: string }).payloadType, "application/vnd.cordon.runtime-lock+json");
    const verified = cordon(["lock", "verify", "--key", pub, "--lock", lockFile, "--json"], dir);
    assert.equal(verified.code, 0, verified.err + verified.out);
    const { ok, rows } = JSON.parse(verified.out) as { ok: boolean; rows: { component: string; status: string }[] };
    assert.equal(ok, true);
    const names = rows.map((r) => r.component);
    for (const c of ["node", "cordon:dist", "cordon:native", "cordon:package", "sandbox:bwrap", "sandbox:runsc", "sandbox:qemu-system-x86_64"]) assert.ok(names.includes(c), c);
    assert.ok(names.some((n) => n.startsWith("npm:zod@4")));
    assert.ok(!names.some((n) => n.startsWith("npm:typescript@")), "dev dependencies are not part of the runtime");
    const wrongKey = keyFiles(mkdtempSync(join(tmpdir(), "cordon-lock-cli-")));
    const refused = cordon(["lock", "verify", "--key", wrongKey.pub, "--lock", lockFile], dir);
    assert.equal(refused.code, 1);
    assert.match(refused.err, /ERR_SIGNATURE_INVALID/);
  });

  it("lock refuses a signing key that group or others can read", () => {
    const dir = mkdtempSync(join(tmpdir(), "cordon-lock-cli-"));
    const { key } = keyFiles(dir, 0o644);
    const r = cordon(["lock", "--key", key, "--out", join(dir, "lock.json")], dir);
    assert.equal(r.code, 1);
    assert.match(r.err, /ERR_KEY_UNUSABLE/);
    assert.doesNotMatch(r.err, /PRIVATE KEY/);
  });

  it("sbom prints CycloneDX 1.5 with runtime packages and hashed host binaries", () => {
    const dir = mkdtempSync(join(tmpdir(), "cordon-sbom-cli-"));
    const r = cordon(["sbom"], dir);
    assert.equal(r.code, 0, r.err);
    const bom = JSON.parse(r.out) as { specVersion: string; components: { "bom-ref": string; hashes?: { alg: string }[] }[] };
    assert.equal(bom.specVersion, "1.5");
    const refs = bom.components.map((c) => c["bom-ref"]);
    assert.ok(refs.some((ref) => ref.startsWith("zod@4")));
    assert.ok(!refs.some((ref) => ref.startsWith("typescript@")));
    for (const host of ["host:node", "host:bwrap"]) {
      assert.deepEqual(bom.components.find((c) => c["bom-ref"] === host)?.hashes?.map((h) => h.alg), ["SHA-256"], host);
    }
  });

  it("audit verify --key checks the signed checkpoints and catches a truncated log", async () => {
    const dir = mkdtempSync(join(tmpdir(), "cordon-audit-cli-"));
    const { key, pub } = keyFiles(dir);
    const privateKey = createPrivateKey(readFileSync(key));
    const publicKey = createPublicKey(readFileSync(pub));
    const path = join(dir, "audit.jsonl");
    const log = await AuditLog.open(path);
    const cp = await Checkpointer.start(log, { auditPath: path, key: { keyid: keyId(publicKey), privateKey }, everyRecords: 2 });
    for (let i = 0; i < 6; i++) await log.append({ type: "call.allowed", n: i });
    await log.close();
    await cp.close();
    const ok = cordon(["audit", "verify", path, "--key", pub], dir);
    assert.equal(ok.code, 0, ok.out + ok.err);
    assert.match(ok.out, /checkpoints: \d+ signed, the last at seq 6/);
    assert.match(cordon(["audit", "verify", path], dir).out, /not checked/);
    writeFileSync(path, readFileSync(path, "utf8").split("\n").slice(0, 3).join("\n") + "\n");
    assert.equal(cordon(["audit", "verify", path], dir).code, 0, "the chain alone cannot see a truncation");
    const cut = cordon(["audit", "verify", path, "--key", pub], dir);
    assert.equal(cut.code, 1);
    assert.match(cut.err, /ERR_AUDIT_TRUNCATED/);
  });
});
