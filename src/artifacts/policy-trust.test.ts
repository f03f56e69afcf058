import assert from "node:assert/strict";
import { generateKeyPairSync, type KeyObject } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { keyId, type SigningKey } from "../crypto/dsse.js";
import { ArtifactRollback } from "./errors.js"
import { SignatureInvalid } from "../crypto/errors.js";
import { signArtifact, signDigest } from "./sign-file.js";
import type { TrustBundle } from "./trust-bundle.js";
import { loadPolicy } from "../policy/load-policy.js";
import { makePolicyDir, policyYaml, watToWasm } from "../testing/policy-fixture.js";
import { policyTrust, SIGNATURES_DIR } from "./policy-trust.js";
import { startFileSwapper } from "./swap-race.js";
import { sha256Hex } from "../crypto/digest.js";

/** A module that would print something else: what an attacker swaps in. */
const EVIL_WAT = `(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "{\\"pwned\\":1}")
  (func (export "_start")
    (i32.store (i32.const 0) (i32.const 16))
    (i32.store (i32.const 4) (i32.const 11))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))`;

interface Signed {
  readonly dataDir: string;
  readonly policyPath: string;
  readonly modulePath: string;
  readonly moduleSha256: string;
  readonly bundle: TrustBundle;
  readonly key: SigningKey;
}

function publisher(): { key: SigningKey; signers: ReadonlyMap<string, KeyObject> } {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  const keyid = keyId(publicKey);
  return { key: { keyid, privateKey }, signers: new Map([[keyid, publicKey]]) };
}

/** A one-tool policy signed (version `version`) beside itself, its module signed into the data directory's store. */
async function signedPolicy(version = 1): Promise<Signed> {
  const p = await makePolicyDir();
  const { key, signers } = publisher();
  const dataDir = mkdtempSync(join(tmpdir(), "cordon-trust-test-"));
  mkdirSync(join(dataDir, SIGNATURES_DIR));
  const policyPath = p.write(policyYaml(p.moduleSha256));
  const bytes = readFileSync(policyPath);
  writeFileSync(`${policyPath}.sig.json`, JSON.stringify(signArtifact(bytes, "policy.yaml", key, { kind: "policy", version })));
  const modulePath = join(p.dir, "modules", "tool.wasm");
  const moduleBytes = readFileSync(modulePath);
  writeFileSync(join(dataDir, SIGNATURES_DIR, `${p.moduleSha256}.sig.json`), JSON.stringify(signArtifact(moduleBytes, "tool.wasm", key, { kind: "module" })));
  const bundle: TrustBundle = { version: 1, sha256: "0".repeat(64), issuers: [], policySigners: signers, moduleSigners: signers, launchSigners: new Map() };
  return { dataDir, policyPath, modulePath, moduleSha256: p.moduleSha256, bundle, key };
}

describe("strict mode's policy trust", () => {
  it("loads a signed policy and its signed module, and refuses a tampered policy, a tampered module and an older version", async () => {
    const s = await signedPolicy(2);
    const trust = policyTrust(s.bundle, s.dataDir);
    assert.equal(loadPolicy(s.policyPath, trust).tools.get("tool")?.tier, "wasm");
    assert.equal(trust.facts.version, 2);

    const original = readFileSync(s.policyPath, "utf8");
    writeFileSync(s.policyPath, original.replace("wallClockMs: 200", "wallClockMs: 20000"));
    assert.throws(() => loadPolicy(s.policyPath, policyTrust(s.bundle, s.dataDir)), SignatureInvalid);
    writeFileSync(s.policyPath, original);

    const moduleBytes = readFileSync(s.modulePath);
    writeFileSync(s.modulePath, await watToWasm(EVIL_WAT));
    assert.throws(() => loadPolicy(s.policyPath, policyTrust(s.bundle, s.dataDir)), SignatureInvalid);
    writeFileSync(s.modulePath, moduleBytes);

    writeFileSync(`${s.policyPath}.sig.json`, JSON.stringify(signArtifact(readFileSync(s.policyPath), "policy.yaml", s.key, { kind: "policy", version: 1 })));
    assert.throws(() => loadPolicy(s.policyPath, policyTrust(s.bundle, s.dataDir)), ArtifactRollback);
  });

  it("runs 0 unverified bytes while a worker swaps the module file between its signed and evil bytes (10,000 loads)", async () => {
    const s = await signedPolicy();
    const good = `${s.modulePath}.good`;
    const evil = `${s.modulePath}.evil`;
    writeFileSync(good, readFileSync(s.modulePath));
    writeFileSync(evil, await watToWasm(EVIL_WAT));
    const trust = policyTrust(s.bundle, s.dataDir);
    const counts = { verified: 0, refused: 0, unverified: 0 };
    const swapper = await startFileSwapper({ target: s.modulePath, good, evil });
    try {
      for (let i = 0; i < 10_000; i++) {
        try {
          const tool = loadPolicy(s.policyPath, trust).tools.get("tool");
          if (tool?.tier === "wasm" && sha256Hex(tool.moduleBytes) === s.moduleSha256) counts.verified += 1;
          else counts.unverified += 1;
        } catch (err) {
          if (!(err instanceof SignatureInvalid)) throw err;
          counts.refused += 1;
        }
      }
    } finally {
      const swaps = await swapper.stop();
      assert.ok(swaps > 0);
    }
    assert.equal(counts.unverified, 0);
    assert.equal(counts.verified + counts.refused, 10_000);
    // Both versions were really seen: the race happened.
    assert.ok(counts.verified > 0 && counts.refused > 0, JSON.stringify(counts));
  });
});

describe("strict mode: container images, signed by their digest", () => {
  it("accepts a signature over the streamed digest of kind image, and refuses another digest, another kind or no signature", () => {
    const { key, signers } = publisher();
    const dataDir = mkdtempSync(join(tmpdir(), "cordon-trust-image-"));
    mkdirSync(join(dataDir, SIGNATURES_DIR));
    const trust = policyTrust({ policySigners: signers, moduleSigners: signers } as unknown as TrustBundle, dataDir);
    const digest = sha256Hex(new TextEncoder().encode("an image"));
    const other = sha256Hex(new TextEncoder().encode("another image"));
    assert.throws(() => trust.checkArtifactDigest("/x/image.tar", digest), SignatureInvalid);
    writeFileSync(join(dataDir, SIGNATURES_DIR, `${digest}.sig.json`), JSON.stringify(signDigest(digest, "image.tar", key, { kind: "image" })));
    trust.checkArtifactDigest("/x/image.tar", digest);
    // A signature stored under this digest but made over another one is refused.
    writeFileSync(join(dataDir, SIGNATURES_DIR, `${other}.sig.json`), JSON.stringify(signDigest(digest, "image.tar", key, { kind: "image" })));
    assert.throws(() => trust.checkArtifactDigest("/x/image.tar", other), SignatureInvalid);
    // A module signature is not an image signature.
    writeFileSync(join(dataDir, SIGNATURES_DIR, `${digest}.sig.json`), JSON.stringify(signDigest(digest, "image.tar", key, { kind: "module" })));
    assert.throws(() => trust.checkArtifactDigest("/x/image.tar", digest), SignatureInvalid);
  });
});
