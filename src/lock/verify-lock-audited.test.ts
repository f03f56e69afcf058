import assert from "node:assert/strict";
import { appendFileSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { AuditLog } from "../audit/index.js";
import { SignatureInvalid } from "../crypto/errors.js";
import { makeLockFixture, testKey } from "./lock-fixture.js";
import { verifyRuntimeLockAudited } from "./verify-lock-audited.js";
import { writeRuntimeLock } from "./write-lock.js";

describe("verifyRuntimeLockAudited", () => {
  it("records nothing for a matching runtime, one lock.refused naming the file for a tampered one, and one for a lock by an untrusted key", async () => {
    const f = makeLockFixture();
    const signer = testKey();
    const out = join(f.root, "cordon.lock.json");
    await writeRuntimeLock(f.root, signer.key, out, f.options);
    const envelope = readFileSync(out);
    const live = AuditLog.memory();
    const audit = { append: (e: Parameters<AuditLog["append"]>[0]) => live.append(e) };
    assert.equal((await verifyRuntimeLockAudited(envelope, signer.trusted, f.root, audit, f.options)).ok, true);
    assert.equal(live.recordsAfter(0).length, 0);

    appendFileSync(join(f.root, "dist/cli/main.js"), "globalThis.pwned = 1;\n");
    assert.equal((await verifyRuntimeLockAudited(envelope, signer.trusted, f.root, audit, f.options)).ok, false);
    assert.deepEqual(
      live.recordsAfter(0).map((r) => [r.type, r.enforcer, r.code, r["component"], r["file"], r["reason"]]),
      [["lock.refused", "runtime-lock", "ERR_RUNTIME_LOCK_MISMATCH", "cordon:dist", "dist/cli/main.js", "changed"]],
    );

    await assert.rejects(verifyRuntimeLockAudited(envelope, testKey().trusted, f.root, audit, f.options), SignatureInvalid);
    assert.deepEqual(live.recordsAfter(1).map((r) => [r.type, r.enforcer, r.code]), [["lock.refused", "runtime-lock", "ERR_SIGNATURE_INVALID"]]);
  });
});
