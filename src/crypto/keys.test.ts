import assert from "node:assert/strict";
import { chmodSync, mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { keyId } from "./dsse.js";
import { KeyUnusable } from "./errors.js";
import { exposureProblem } from "./file-trust.js";
import { initKey, loadPublicKey, loadSigningKey } from "./keys.js";

function dir(): string {
  return mkdtempSync(join(tmpdir(), "cordon-keys-"));
}

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    return (err as { code: string }).code;
  }
  return "(no error)";
}

describe("initKey", () => {
  it("writes the private key with mode 0600 and the public key beside it; the keyid is the public key's fingerprint", () => {
    const path = join(dir(), "signing.key");
    const id = initKey(path);
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.match(readFileSync(path, "utf8"), /^-----BEGIN PRIVATE KEY-----/);
    assert.match(readFileSync(`${path}.pub`, "utf8"), /^-----BEGIN PUBLIC KEY-----/);
    const key = loadSigningKey(path);
    const pub = loadPublicKey(`${path}.pub`);
    assert.equal(key.keyid, id);
    assert.equal(pub.keyid, id);
    assert.equal(keyId(pub.publicKey), id);
  });

  it("refuses to overwrite an existing key and leaves it unchanged", () => {
    const path = join(dir(), "signing.key");
    initKey(path);
    const before = readFileSync(path);
    assert.throws(() => initKey(path), (err) => err instanceof KeyUnusable && /already exists/.test(err.reason));
    assert.deepEqual(readFileSync(path), before);
  });

  it("refuses when only the .pub exists, and leaves no private key behind", () => {
    const d = dir();
    const path = join(d, "signing.key");
    writeFileSync(`${path}.pub`, "occupied");
    assert.equal(code(() => initKey(path)), "ERR_KEY_UNUSABLE");
    assert.equal(code(() => statSync(path)), "ENOENT");
    assert.equal(readFileSync(`${path}.pub`, "utf8"), "occupied");
  });
});

describe("loadSigningKey", () => {
  it("refuses a key readable by group or others, naming the mode", () => {
    const path = join(dir(), "signing.key");
    initKey(path);
    for (const mode of [0o644, 0o640, 0o604, 0o660]) {
      chmodSync(path, mode);
      assert.throws(() => loadSigningKey(path), (err) => err instanceof KeyUnusable && err.reason.includes(`0${mode.toString(8)}`));
    }
    chmodSync(path, 0o400);
    assert.equal(loadSigningKey(path).privateKey.asymmetricKeyType, "ed25519");
  });

  it("refuses a key owned by another uid", () => {
    const path = join(dir(), "signing.key");
    initKey(path);
    const owner = statSync(path).uid;
    assert.throws(() => loadSigningKey(path, { uid: owner + 1 }), (err) => err instanceof KeyUnusable && /owned by uid/.test(err.reason));
  });

  it("refuses a missing file, a directory and a non-Ed25519 or garbage key without echoing the contents", () => {
    const d = dir();
    assert.equal(code(() => loadSigningKey(join(d, "none"))), "ERR_KEY_UNUSABLE");
    assert.equal(code(() => loadSigningKey(d)), "ERR_KEY_UNUSABLE");
    const junk = join(d, "junk.key");
    writeFileSync(junk, "-----BEGIN PRIVATE KEY-----\nSECRETSECRET\n-----END PRIVATE KEY-----\n", { mode: 0o600 });
    assert.throws(() => loadSigningKey(junk), (err) => err instanceof KeyUnusable && !err.message.includes("SECRETSECRET") && !JSON.stringify(err.fields()).includes("SECRETSECRET"));
  });
});

describe("loadPublicKey", () => {
  it("refuses a public key that group or others may write, and a private key offered as public", () => {
    const path = join(dir(), "k.key");
    initKey(path);
    chmodSync(`${path}.pub`, 0o664);
    assert.throws(() => loadPublicKey(`${path}.pub`), (err) => err instanceof KeyUnusable && err.reason.includes("0664"));
    chmodSync(`${path}.pub`, 0o644);
    assert.equal(loadPublicKey(`${path}.pub`).publicKey.type, "public");
    assert.equal(code(() => loadPublicKey(path)), "ERR_KEY_UNUSABLE");
  });
});

describe("exposureProblem", () => {
  it("accepts only owner-only secrets and owner- or root-owned, non-shared-writable trusted files", () => {
    assert.equal(exposureProblem({ uid: 5, mode: 0o100600 }, "secret", 5), null);
    assert.notEqual(exposureProblem({ uid: 0, mode: 0o100600 }, "secret", 5), null);
    assert.equal(exposureProblem({ uid: 0, mode: 0o100644 }, "trusted", 5), null);
    assert.notEqual(exposureProblem({ uid: 5, mode: 0o100646 }, "trusted", 5), null);
    assert.notEqual(exposureProblem({ uid: 6, mode: 0o100644 }, "trusted", 5), null);
  });
});
