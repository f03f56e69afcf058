import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { chmodSync, chownSync, mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { checkArtifactVersion, readVersionState, versionsPath } from "./artifact-versions.js";
import { bundleDocument, signBundle, testIssuer, testRoot, type TestRoot } from "../testing/bundle-fixture.js";
import type { Envelope } from "../crypto/dsse.js";
import { ArtifactRollback, TrustBundleInvalid } from "./errors.js"
import { KeyUnusable } from "../crypto/errors.js";
import { initTrust } from "../cli/init-trust.js";
import { initKey } from "../crypto/keys.js";
import { loadTrustBundle, trustBundlePath, trustRootPath } from "./load-trust-bundle.js";
import { parseTrustBundle, type TrustBundleDocument } from "./trust-bundle.js";

function home(): string {
  return mkdtempSync(join(tmpdir(), "cordon-trust-"));
}

function pin(dir: string, root: TestRoot): void {
  writeFileSync(trustRootPath(dir), root.publicKey.export({ type: "spki", format: "pem" }), { mode: 0o644 });
}

function install(dir: string, doc: unknown, root: TestRoot): void {
  writeFileSync(trustBundlePath(dir), signBundle(doc, root));
}

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    return (err as { code: string }).code;
  }
  return "(accepted)";
}

function issuesOf(doc: unknown): string[] {
  try {
    parseTrustBundle(Buffer.from(JSON.stringify(doc)));
  } catch (err) {
    if (err instanceof TrustBundleInvalid) return err.issues.map((i) => `${i.path}: ${i.problem}`);
    throw err;
  }
  return [];
}

describe("loadTrustBundle", () => {
  it("loads a bundle signed by the pinned root and records its version (mode 0600)", async () => {
    const dir = home();
    const root = testRoot();
    const issuer = await testIssuer("EdDSA");
    pin(dir, root);
    install(dir, bundleDocument([issuer], 3), root);
    const { bundle, rootKeyid, highestVersion } = loadTrustBundle({ dataDir: dir });
    assert.equal(bundle.version, 3);
    assert.equal(rootKeyid, root.keyid);
    assert.equal(highestVersion, 3);
    assert.equal(bundle.issuers[0]?.jwks.keys[0]?.kid, issuer.kid);
    assert.deepEqual(readVersionState(versionsPath(dir)), { "trust-bundle": 3 });
    assert.equal(statSync(versionsPath(dir)).mode & 0o777, 0o600);
  });

  it("refuses a tampered bundle (audience edited in the payload) and records nothing", async () => {
    const dir = home();
    const root = testRoot();
    pin(dir, root);
    const env = JSON.parse(signBundle(bundleDocument([await testIssuer()], 5), root).toString()) as Envelope;
    const doc = JSON.parse(Buffer.from(env.payload, "base64").toString()) as TrustBundleDocument;
    (doc.issuers[0] as { audience: string }).audience = "https://attacker.test/";
    writeFileSync(trustBundlePath(dir), JSON.stringify({ ...env, payload: Buffer.from(JSON.stringify(doc)).toString("base64") }));
    assert.equal(codeOf(() => loadTrustBundle({ dataDir: dir })), "ERR_SIGNATURE_INVALID");
    assert.deepEqual(readVersionState(versionsPath(dir)), {});
  });

  it("refuses a bundle signed by another root, and one signed by the root under another payload type", async () => {
    const dir = home();
    const root = testRoot();
    pin(dir, root);
    install(dir, bundleDocument([await testIssuer()]), testRoot());
    assert.equal(codeOf(() => loadTrustBundle({ dataDir: dir })), "ERR_SIGNATURE_INVALID");
    const env = JSON.parse(signBundle(bundleDocument([await testIssuer()]), root).toString()) as Envelope;
    writeFileSync(trustBundlePath(dir), JSON.stringify({ ...env, payloadType: "application/vnd.in-toto+json" }));
    assert.equal(codeOf(() => loadTrustBundle({ dataDir: dir })), "ERR_SIGNATURE_INVALID");
  });

  it("refuses a rollback to a validly signed older version; accepts the same version and a newer one", async () => {
    const dir = home();
    const root = testRoot();
    const issuer = await testIssuer();
    pin(dir, root);
    install(dir, bundleDocument([issuer], 4), root);
    loadTrustBundle({ dataDir: dir });
    install(dir, bundleDocument([issuer], 3), root);
    assert.throws(() => loadTrustBundle({ dataDir: dir }), (err) => err instanceof ArtifactRollback && err.code === "ERR_ARTIFACT_ROLLBACK" && err.version === 3 && err.highest === 4);
    install(dir, bundleDocument([issuer], 4), root);
    assert.equal(loadTrustBundle({ dataDir: dir }).bundle.version, 4);
    install(dir, bundleDocument([issuer], 9), root);
    assert.equal(loadTrustBundle({ dataDir: dir }).highestVersion, 9);
    assert.deepEqual(readVersionState(versionsPath(dir)), { "trust-bundle": 9 });
  });

  it("refuses a root key or data directory that others may write, or that another uid owns", async () => {
    const root = testRoot();
    const doc = bundleDocument([await testIssuer()]);
    const dir = home();
    pin(dir, root);
    install(dir, doc, root);
    chmodSync(trustRootPath(dir), 0o666);
    assert.throws(() => loadTrustBundle({ dataDir: dir }), (err) => err instanceof KeyUnusable && /0666/.test(err.reason));
    chmodSync(trustRootPath(dir), 0o644);
    chmodSync(dir, 0o777);
    assert.throws(() => loadTrustBundle({ dataDir: dir }), (err) => err instanceof KeyUnusable && /directory .* 0777/.test(err.reason));
    chmodSync(dir, 0o700);
    // Root-owned trust files are accepted, so as root the file is given away; otherwise the
    // check runs as if another uid were loading it.
    const ownedByOther = /owned by uid/;
    if (process.getuid?.() === 0) {
      chownSync(trustRootPath(dir), 12345, 12345);
      assert.throws(() => loadTrustBundle({ dataDir: dir }), (err) => err instanceof KeyUnusable && ownedByOther.test(err.reason));
      chownSync(trustRootPath(dir), 0, 0);
    } else {
      assert.throws(() => loadTrustBundle({ dataDir: dir, uid: statSync(dir).uid + 1000 }), (err) => err instanceof KeyUnusable && ownedByOther.test(err.reason));
    }
    assert.equal(loadTrustBundle({ dataDir: dir }).bundle.version, 1);
    chmodSync(versionsPath(dir), 0o666);
    assert.equal(codeOf(() => loadTrustBundle({ dataDir: dir })), "ERR_VERSION_STATE_UNUSABLE");
  });
});

describe("parseTrustBundle", () => {
  it("refuses private JWK members, symmetric keys and private signer PEMs, naming each", async () => {
    const issuer = await testIssuer("ES256");
    const doc = bundleDocument([issuer]) as { issuers: Array<{ jwks: { keys: Record<string, unknown>[] } }> } & TrustBundleDocument;
    const priv = issuer.privateKey.export({ format: "jwk" });
    doc.issuers[0]?.jwks.keys.push({ ...priv, kid: "leaked" });
    doc.issuers[0]?.jwks.keys.push({ kty: "oct", k: "c2VjcmV0", kid: "hmac" });
    const rootPem = generateKeyPairSync("ed25519").privateKey.export({ type: "pkcs8", format: "pem" }) as string;
    const issues = issuesOf({ ...doc, policySigners: [{ pem: rootPem }] });
    assert.ok(issues.some((i) => i.startsWith("$.issuers[0].jwks.keys[1]") && i.includes("private key member 'd'")), issues.join("\n"));
    assert.ok(issues.some((i) => i.startsWith("$.issuers[0].jwks.keys[2]") && i.includes("symmetric (oct)")), issues.join("\n"));
    assert.ok(issues.some((i) => i.startsWith("$.policySigners[0]") && i.includes("private key")), issues.join("\n"));
    const text = issues.join("\n");
    assert.ok(!text.includes(String(priv.d)), "the private member's value must never appear");
  });

  it("refuses HMAC/none algorithms, an unbounded clock skew, unknown members and keys no allowed algorithm uses", async () => {
    const ed = await testIssuer("EdDSA");
    const base = bundleDocument([ed]);
    const issuer = base.issuers[0];
    assert.ok(issuer !== undefined);
    const cases: Array<[string, unknown]> = [
      ["algorithms", { ...base, issuers: [{ ...issuer, algorithms: ["HS256"] }] }],
      ["algorithms", { ...base, issuers: [{ ...issuer, algorithms: ["none"] }] }],
      ["clockSkewSec", { ...base, issuers: [{ ...issuer, clockSkewSec: 301 }] }],
      ["maxTokenAgeSec", { ...base, issuers: [{ ...issuer, maxTokenAgeSec: 0 }] }],
      ["audience", { ...base, issuers: [{ ...issuer, audience: "not a uri" }] }],
      ["$", { ...base, jwksUrl: "https://issuer.test/jwks" }],
      ["keys[0]", { ...base, issuers: [{ ...issuer, algorithms: ["ES256"] }] }],
      ["keys[0]", { ...base, issuers: [{ ...issuer, jwks: { keys: [{ ...ed.jwk, kid: "../../etc/passwd" }] } }] }],
      ["keys[0]", { ...base, issuers: [{ ...issuer, jwks: { keys: [{ ...ed.jwk, x5u: "https://x" }] } }] }],
      ["issuer", { ...base, issuers: [issuer, issuer] }],
      ["version", { ...base, version: 0 }],
    ];
    for (const [where, doc] of cases) {
      const issues = issuesOf(doc);
      assert.ok(issues.some((i) => i.includes(where)), `${where}: ${issues.join("; ") || "(accepted)"}`);
    }
    assert.deepEqual(issuesOf(base), []);
  });

  it("refuses an RSA key under 2048 bits", () => {
    const small = generateKeyPairSync("rsa", { modulusLength: 1024 }).publicKey.export({ format: "jwk" });
    const doc = { version: 1, issuers: [{ issuer: "i", audience: "https://a/", algorithms: ["RS256"], jwks: { keys: [small] }, maxTokenAgeSec: 60, clockSkewSec: 0 }], policySigners: [], moduleSigners: [] };
    assert.ok(issuesOf(doc).some((i) => i.includes("2048")));
  });
});

describe("checkArtifactVersion", () => {
  it("raises the mark for a newer version, keeps it for the same one, refuses an older one", () => {
    const s1 = checkArtifactVersion({}, "policy", 2);
    assert.deepEqual(s1, { policy: 2 });
    assert.equal(checkArtifactVersion(s1, "policy", 2), s1);
    assert.deepEqual(checkArtifactVersion(s1, "trust-bundle", 1), { policy: 2, "trust-bundle": 1 });
    assert.throws(() => checkArtifactVersion(s1, "policy", 1), ArtifactRollback);
  });
});

describe("initTrust", () => {
  it("creates and pins the root, signs a bundle from key files, refuses a different root and a lower version", async () => {
    const dir = home();
    const keys = home();
    initKey(join(keys, "issuer.key"));
    initKey(join(keys, "policy.key"));
    const input = {
      version: 2,
      issuers: [{ issuer: "https://cordon.local", audience: "https://cordon.local/mcp", algorithms: ["EdDSA"], keyFiles: ["issuer.key.pub"], requireTyp: "at+jwt", maxTokenAgeSec: 3600, clockSkewSec: 30 }],
      policySigners: [{ keyFile: "policy.key.pub" }],
      moduleSigners: [],
    };
    const r = await initTrust({ dataDir: dir, input, baseDir: keys });
    assert.equal(r.createdRoot, true);
    assert.equal(statSync(r.rootKeyPath).mode & 0o777, 0o600);
    assert.equal(r.bundle.version, 2);
    assert.equal(r.bundle.policySigners.size, 1);
    assert.match(r.bundle.issuers[0]?.jwks.keys[0]?.kid ?? "", /^[A-Za-z0-9_-]{43}$/);
    assert.equal(loadTrustBundle({ dataDir: dir }).bundle.sha256, r.bundle.sha256);

    const before = readFileSync(trustBundlePath(dir));
    await assert.rejects(initTrust({ dataDir: dir, input: { ...input, version: 1 }, baseDir: keys }), ArtifactRollback);
    assert.deepEqual(readFileSync(trustBundlePath(dir)), before);

    const otherRoot = join(keys, "other-root.key");
    initKey(otherRoot);
    await assert.rejects(initTrust({ dataDir: dir, input: { ...input, version: 3 }, baseDir: keys, rootKeyPath: otherRoot }), (err) => err instanceof KeyUnusable && /different root/.test(err.reason));
    assert.deepEqual(readFileSync(trustBundlePath(dir)), before);

    await assert.rejects(initTrust({ dataDir: dir, input: { ...input, version: 3, issuers: [{ ...input.issuers[0], keyFiles: ["issuer.key"] }] }, baseDir: keys }), TrustBundleInvalid);
  });
});
