import assert from "node:assert/strict";
import { appendFileSync, chmodSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import fc from "fast-check";
import { signEnvelope } from "../crypto/dsse.js";
import { RuntimeLockMismatch, RuntimeLockRefused } from "./errors.js"
import { SignatureInvalid } from "../crypto/errors.js";
import { collectRuntimeLock } from "./collect-lock.js";
import { compareLock } from "./compare-lock.js";
import { makeLockFixture, testKey, type LockFixture } from "./lock-fixture.js";
import { encodeLock, LOCK_PAYLOAD_TYPE, type LockedComponent, type RuntimeLock } from "./manifest.js";
import { assertRuntimeLock, lockRows, verifyRuntimeLock } from "./verify-lock.js";
import { writeRuntimeLock } from "./write-lock.js";

const signer = testKey();

async function locked(f: LockFixture): Promise<Buffer> {
  const out = join(f.root, "cordon.lock.json");
  await writeRuntimeLock(f.root, signer.key, out, f.options);
  return readFileSync(out);
}

async function expectMismatch(f: LockFixture, env: Buffer, component: string, file: string | null, reason: string): Promise<void> {
  await assert.rejects(assertRuntimeLock(env, signer.trusted, f.root, f.options), (err: unknown) => {
    assert.ok(err instanceof RuntimeLockMismatch);
    assert.equal(err.code, "ERR_RUNTIME_LOCK_MISMATCH");
    assert.deepEqual({ component: err.component, file: err.file, reason: err.reason }, { component, file, reason });
    return true;
  });
}

describe("runtime lock", () => {
  it("a good lock verifies: one ok row per component, absent components recorded as absent", async () => {
    const f = makeLockFixture();
    const env = await locked(f);
    const result = await assertRuntimeLock(env, signer.trusted, f.root, f.options);
    assert.equal(result.ok, true);
    const rows = lockRows(result);
    assert.deepEqual(rows.map((r) => [r.component, r.status]), [
      ["cordon:dist", "ok"],
      ["cordon:native", "ok"],
      ["cordon:package", "ok"],
      ["node", "ok"],
      ["npm:@scope/opt@3.0.0", "ok"],
      ["npm:dep@1.0.0", "ok"],
      ["npm:inner@0.1.0", "ok"],
      ["sandbox:bwrap", "ok"],
      ["sandbox:runsc", "ok"],
    ]);
    assert.match(rows.find((r) => r.component === "sandbox:runsc")?.detail ?? "", /absent/);
    assert.equal(result.files, 10); // dist 2, native 1, package.json + lockfile, node, bwrap, dep 2, inner 1
  });

  it("the manifest holds the lockfile integrity and the files on disk of runtime packages only", async () => {
    const f = makeLockFixture();
    const { lock } = await collectRuntimeLock(f.root, f.options);
    const dep = lock.components.find((c) => c.name === "npm:dep@1.0.0");
    assert.equal(dep?.integrity, "sha512-ZGVw");
    assert.deepEqual(Object.keys(dep?.files ?? {}), ["node_modules/dep/index.js", "node_modules/dep/package.json"]);
    assert.equal(lock.components.some((c) => c.name.startsWith("npm:devdep")), false);
    assert.equal(lock.components.find((c) => c.name === "sandbox:runsc")?.absent, true);
    // The same runtime always gives the same bytes.
    assert.deepEqual(encodeLock(lock), encodeLock((await collectRuntimeLock(f.root, f.options)).lock));
  });

  it("a tampered dist file is a mismatch naming the file", async () => {
    const f = makeLockFixture();
    const env = await locked(f);
    appendFileSync(join(f.root, "dist/lock/verify-lock.js"), "globalThis.pwned = 1;\n");
    const result = await verifyRuntimeLock(env, signer.trusted, f.root, f.options);
    assert.equal(result.ok, false);
    const dist = result.components.find((c) => c.name === "cordon:dist");
    assert.equal(dist?.status, "mismatch");
    assert.equal(dist?.file, "dist/lock/verify-lock.js");
    assert.deepEqual(result.components.filter((c) => c.status !== "ok").map((c) => c.name), ["cordon:dist"]);
    await expectMismatch(f, env, "cordon:dist", "dist/lock/verify-lock.js", "changed");
  });

  it("an extra file under dist/ that was not locked is a mismatch", async () => {
    const f = makeLockFixture();
    const env = await locked(f);
    f.write("dist/cli/preload.js", "process.env.X = 1;\n");
    await expectMismatch(f, env, "cordon:dist", "dist/cli/preload.js", "extra");
  });

  it("a deleted file, a file swapped for a symlink, and a whole missing folder are each caught", async () => {
    const f = makeLockFixture();
    const env = await locked(f);
    rmSync(join(f.root, "dist/cli/main.js"));
    await expectMismatch(f, env, "cordon:dist", "dist/cli/main.js", "missing");
    symlinkSync("/etc/hostname", join(f.root, "dist/cli/main.js"));
    await expectMismatch(f, env, "cordon:dist", "dist/cli/main.js", "changed");
    rmSync(join(f.root, "build/native"), { recursive: true });
    const r = await verifyRuntimeLock(env, signer.trusted, f.root, f.options);
    assert.equal(r.components.find((c) => c.name === "cordon:native")?.status, "missing");
  });

  it("a tampered runtime dependency, a stray package shadowing one, and a changed lockfile are caught; dev packages are not locked", async () => {
    const f = makeLockFixture();
    const env = await locked(f);
    f.write("node_modules/devdep/index.js", "changed dev package\n");
    assert.equal((await verifyRuntimeLock(env, signer.trusted, f.root, f.options)).ok, true);
    f.write("node_modules/dep/node_modules/inner/index.js", "module.exports = 'evil';\n");
    await expectMismatch(f, env, "npm:inner@0.1.0", "node_modules/dep/node_modules/inner/index.js", "changed");
    f.write("node_modules/dep/node_modules/inner/index.js", "module.exports = 2;\n");
    f.write("node_modules/dep/node_modules/shadow/index.js", "module.exports = 'evil';\n");
    await expectMismatch(f, env, "npm:node_modules/dep/node_modules/shadow", "node_modules/dep/node_modules/shadow", "unlocked");
    rmSync(join(f.root, "node_modules/dep/node_modules/shadow"), { recursive: true });
    const lockfile = join(f.root, "package-lock.json");
    writeFileSync(lockfile, readFileSync(lockfile, "utf8").replace('"dev": true', '"dev": false'));
    const r = await verifyRuntimeLock(env, signer.trusted, f.root, f.options);
    assert.deepEqual(r.components.filter((c) => c.status !== "ok").map((c) => [c.name, c.status]), [
      ["cordon:package", "mismatch"],
      ["npm:devdep@2.0.0", "extra"],
    ]);
  });

  it("a replaced node binary, a sandbox binary that appears, and a moved one are caught", async () => {
    const f = makeLockFixture();
    const env = await locked(f);
    writeFileSync(join(f.bin, "runsc"), "#!/bin/sh\n");
    chmodSync(join(f.bin, "runsc"), 0o755);
    await expectMismatch(f, env, "sandbox:runsc", join(f.bin, "runsc"), "unlocked");
    rmSync(join(f.bin, "runsc"));
    appendFileSync(join(f.bin, "node"), "# trojan\n");
    await expectMismatch(f, env, "node", join(f.bin, "node"), "changed");
    const other = join(f.root, "other-bin");
    mkdirSync(other);
    writeFileSync(join(other, "bwrap"), "#!/bin/sh\n# fake bwrap\n");
    chmodSync(join(other, "bwrap"), 0o755);
    const r = await verifyRuntimeLock(env, signer.trusted, f.root, { ...f.options, searchPath: `${other}:${f.bin}` });
    const bwrap = r.components.find((c) => c.name === "sandbox:bwrap");
    assert.deepEqual([bwrap?.status, bwrap?.reason], ["mismatch", "moved"]);
  });

  it("an unsigned, wrongly signed, retyped or edited lock is SignatureInvalid before anything is measured", async () => {
    const f = makeLockFixture();
    const env = await locked(f);
    const other = testKey();
    const isInvalid = (err: unknown) => err instanceof SignatureInvalid && err.code === "ERR_SIGNATURE_INVALID";
    await assert.rejects(verifyRuntimeLock(env, other.trusted, f.root, f.options), isInvalid);
    const parsed = JSON.parse(env.toString("utf8")) as { payloadType: string; payload: string; signatures: unknown[] };
    await assert.rejects(verifyRuntimeLock(Buffer.from(JSON.stringify({ ...parsed, signatures: [] })), signer.trusted, f.root, f.options), isInvalid);
    const { lock } = await collectRuntimeLock(f.root, f.options);
    const retyped = signEnvelope("application/vnd.cordon.audit-checkpoint+json", encodeLock(lock), signer.key);
    await assert.rejects(verifyRuntimeLock(Buffer.from(JSON.stringify(retyped)), signer.trusted, f.root, f.options), isInvalid);
    const payload = Buffer.from(parsed.payload, "base64").toString("utf8").replace("cordon:dist", "cordon:dizt");
    const edited = { ...parsed, payload: Buffer.from(payload).toString("base64") };
    await assert.rejects(verifyRuntimeLock(Buffer.from(JSON.stringify(edited)), signer.trusted, f.root, f.options), isInvalid);
    const notALock = signEnvelope(LOCK_PAYLOAD_TYPE, Buffer.from('{"version":1}'), signer.key);
    await assert.rejects(verifyRuntimeLock(Buffer.from(JSON.stringify(notALock)), signer.trusted, f.root, f.options), isInvalid);
    const badDigest: RuntimeLock = { ...lock, components: lock.components.map((c) => (c.name === "cordon:dist" ? { ...c, files: { "dist/cli/main.js": "md5:abc" } } : c)) };
    const signedBad = signEnvelope(LOCK_PAYLOAD_TYPE, encodeLock(badDigest), signer.key);
    await assert.rejects(verifyRuntimeLock(Buffer.from(JSON.stringify(signedBad)), signer.trusted, f.root, f.options), isInvalid);
  });

  it("lock refuses an unclean runtime: a stray package, a missing dist, a missing required dependency", async () => {
    const isRefused = (reason: string) => (err: unknown) => err instanceof RuntimeLockRefused && err.reason === reason;
    const a = makeLockFixture();
    a.write("node_modules/left-pad/index.js", "x");
    await assert.rejects(collectRuntimeLock(a.root, a.options), isRefused("stray"));
    const b = makeLockFixture();
    rmSync(join(b.root, "dist"), { recursive: true });
    await assert.rejects(collectRuntimeLock(b.root, b.options), isRefused("absent"));
    const c = makeLockFixture();
    rmSync(join(c.root, "node_modules/dep"), { recursive: true });
    await assert.rejects(collectRuntimeLock(c.root, c.options), isRefused("absent"));
  });
});

describe("compareLock", () => {
  const component = (name: string, files: Record<string, string>): LockedComponent => ({ name, base: "package", paths: [name], files });
  const digest = fc.stringMatching(/^[0-9a-f]{64}$/).map((h) => `sha256:${h}`);
  const files = fc.dictionary(fc.stringMatching(/^[a-z]{1,8}\/[a-z]{1,8}\.js$/), digest, { minKeys: 1, maxKeys: 12 });

  it("names exactly the changed, added or removed file, and nothing else differs", () => {
    fc.assert(
      fc.property(files, fc.nat(), fc.constantFrom("changed", "extra", "missing"), digest, (before, pick, fault, other) => {
        const keys = Object.keys(before).sort();
        const target = keys[pick % keys.length] as string;
        const after: Record<string, string> = { ...before };
        if (fault === "changed") after[target] = before[target] === other ? `sha256:${"0".repeat(64)}` : other;
        if (fault === "missing") delete after[target];
        const added = `${target}.extra`;
        if (fault === "extra") after[added] = other;
        const lock: RuntimeLock = { version: 1, platform: "linux-x64", components: [component("cordon:dist", before)] };
        const [check] = compareLock(lock, { components: [component("cordon:dist", after)], strays: [], optional: new Set(), files: 0, bytes: 0 });
        assert.equal(check?.status, "mismatch");
        assert.equal(check?.reason, fault);
        assert.equal(check?.file, fault === "extra" ? added : target);
        const same = compareLock(lock, { components: [component("cordon:dist", before)], strays: [], optional: new Set(), files: 0, bytes: 0 });
        assert.equal(same[0]?.status, "ok");
      }),
    );
  });
});
