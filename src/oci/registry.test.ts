// cordon against a real registry on loopback (Debian's docker-registry, distribution 2.8):
// publish, then pull and verify; skopeo, an independent client, reads what cordon pushed.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { devHome, recorder, rootOnlyHome, skopeo, tempDir, type DevHome } from "../testing/oci-fixture.js";
import { startLoopbackRegistry, type LoopbackRegistry } from "./loopback-registry.js";
import { publishRelease } from "./publish-release.js";
import { parseReference } from "./reference.js";
import { RegistryClient } from "./registry-client.js";
import { pullAudited } from "./start-from.js";
import { trustBundlePath } from "../artifacts/load-trust-bundle.js";
import { ContentCache } from "./content-cache.js";
import { artifactRefs, type ArtifactRef } from "./policy-artifacts.js";
import { parsePolicy } from "../policy/load-policy.js";

/** What the example policy pins, as a release carries it. */
function exampleRefs(): ArtifactRef[] {
  return artifactRefs(parsePolicy(readFileSync(home.policy, "utf8")).spec);
}

let dir: string;
let reg: LoopbackRegistry;
let home: DevHome;
let client: RegistryClient;

before(async () => {
  dir = tempDir();
  reg = await startLoopbackRegistry(join(dir, "registry"));
  home = await devHome(dir);
  client = new RegistryClient({ registry: reg.registry, scheme: "http:" });
});

after(async () => {
  client.close();
  await reg.close();
  rmSync(dir, { recursive: true, force: true });
});

void test("publish pushes the release; skopeo reads the index and each manifest cordon pushed", async () => {
  const ref = parseReference(`${reg.registry}/cordon/example:v1`);
  const published = await publishRelease({ dataDir: home.dataDir, policyPath: home.policy, reference: ref, client });
  assert.match(published.digest, /^sha256:[0-9a-f]{64}$/);
  assert.equal(published.referrers, "tag-schema", "distribution 2.8 has no referrers API");
  const refs = exampleRefs();
  assert.ok(refs.some((r) => r.kind === "rootfs"), "the example policy pins a container image, so a rootfs travels too");
  assert.equal(published.artifacts, 2 + new Set(refs.map((r) => `${r.kind}:${r.sha256}`)).size, "the trust bundle, the policy, and each distinct artifact it pins once");
  const raw = skopeo(["inspect", "--raw", "--tls-verify=false", `docker://${reg.registry}/cordon/example:v1`]);
  assert.equal(raw.status, 0, raw.stderr);
  assert.equal(`sha256:${createHash("sha256").update(raw.stdout).digest("hex")}`, published.digest);
  const index = JSON.parse(raw.stdout) as { artifactType: string; manifests: Array<{ digest: string; artifactType: string }> };
  assert.equal(index.artifactType, "application/vnd.cordon.release.v1+json");
  const policy = index.manifests.find((m) => m.artifactType === "application/vnd.cordon.policy.v1");
  assert.ok(policy !== undefined);
  const m = skopeo(["inspect", "--raw", "--tls-verify=false", `docker://${reg.registry}/cordon/example@${policy.digest}`]);
  assert.equal(m.status, 0, m.stderr);
  const manifest = JSON.parse(m.stdout) as { layers: Array<{ digest: string }>; annotations: Record<string, string> };
  assert.equal(manifest.annotations["dev.cordon.kind"], "policy");
  assert.equal(manifest.layers[0]?.digest, `sha256:${createHash("sha256").update(readFileSync(home.policy)).digest("hex")}`);
  // The signature, through the referrers tag schema: sha256-<hex> is an index of Sigstore bundle manifests.
  const sigs = skopeo(["inspect", "--raw", "--tls-verify=false", `docker://${reg.registry}/cordon/example:${policy.digest.replace(":", "-")}`]);
  assert.equal(sigs.status, 0, sigs.stderr);
  assert.equal((JSON.parse(sigs.stdout) as { manifests: Array<{ artifactType: string }> }).manifests[0]?.artifactType, "application/vnd.dev.sigstore.bundle.v0.3+json");
  // Publishing again changes nothing: the same digest, every blob already there.
  const again = await publishRelease({ dataDir: home.dataDir, policyPath: home.policy, reference: ref, client });
  assert.equal(again.digest, published.digest);
  assert.equal(again.uploaded.monolithic + again.uploaded.chunked, 0);
});

void test("a fresh home that pins only the root pulls by digest: every artifact verified, the trust bundle installed, recorded", async () => {
  const ref = parseReference(`${reg.registry}/cordon/fresh:v1`);
  const published = await publishRelease({ dataDir: home.dataDir, policyPath: home.policy, reference: ref, client });
  const fresh = rootOnlyHome(dir, home.dataDir, "fresh-pull");
  const audit = recorder();
  const pulled = await pullAudited({ dataDir: fresh, reference: published.pinned, audit, client });
  assert.equal(pulled.digest, published.digest);
  assert.deepEqual(pulled.release.artifacts.map((a) => a.kind).sort(), ["trust-bundle", "policy", ...exampleRefs().map((r) => r.kind)].sort(), "the trust bundle, the policy and each artifact the policy pins, verified");
  assert.equal(pulled.trustBundleInstalled, true);
  assert.ok(existsSync(trustBundlePath(fresh)));
  const cache = ContentCache.open(fresh);
  assert.equal(cache.verified(published.digest)?.policyVersion, 1);
  assert.deepEqual(audit.records.map((r) => [r.type, r.enforcer ?? null]), [["oci.pulled", null]]);
});

void test("skopeo copies cordon's artifacts; its rewrite of the release index (skopeo 1.9 predates OCI 1.1's artifactType) is refused, and so are artifacts it carried without their signatures", async () => {
  const published = await publishRelease({ dataDir: home.dataDir, policyPath: home.policy, reference: parseReference(`${reg.registry}/cordon/example:v1`), client });
  const copied = skopeo(["copy", "--all", "--src-tls-verify=false", "--dest-tls-verify=false", `docker://${published.pinned}`, `docker://${reg.registry}/cordon/copy:v1`]);
  assert.equal(copied.status, 0, copied.stderr);
  const raw = skopeo(["inspect", "--raw", "--tls-verify=false", `docker://${reg.registry}/cordon/copy:v1`]);
  const rewritten = JSON.parse(raw.stdout) as { artifactType?: string; manifests: Array<{ digest: string }> };
  assert.equal(rewritten.artifactType, undefined, "skopeo 1.9 drops the index's artifactType");
  const original = await client.getManifest("cordon/example", published.digest);
  const members = (JSON.parse(original.bytes.toString("utf8")) as { manifests: Array<{ digest: string }> }).manifests.map((m) => m.digest);
  assert.deepEqual(rewritten.manifests.map((m) => m.digest), members, "each artifact manifest copied byte for byte");
  const audit = recorder();
  const fresh = rootOnlyHome(dir, home.dataDir, "fresh-copy");
  await assert.rejects(pullAudited({ dataDir: fresh, reference: `${reg.registry}/cordon/copy:v1`, audit, client }), { code: "ERR_OCI_MANIFEST_INVALID" });
  // cordon's own index beside the artifacts skopeo carried: they arrived without their signatures.
  await client.putManifest("cordon/copy", published.digest, original.bytes, "application/vnd.oci.image.index.v1+json");
  await assert.rejects(pullAudited({ dataDir: fresh, reference: `${reg.registry}/cordon/copy@${published.digest}`, audit, client }), { code: "ERR_OCI_UNSIGNED" });
  assert.deepEqual(audit.records.map((r) => [r.type, r.enforcer, r.code]), [["oci.refused", "oci-verify", "ERR_OCI_MANIFEST_INVALID"], ["oci.refused", "oci-verify", "ERR_OCI_UNSIGNED"]]);
});

void test("a tag is pinned at its first pull; moved by skopeo to another release, it is refused and the pin holds; --repin follows it", async () => {
  const a = await publishRelease({ dataDir: home.dataDir, policyPath: home.policy, reference: parseReference(`${reg.registry}/cordon/moving:v1`), client });
  const fresh = rootOnlyHome(dir, home.dataDir, "fresh-tag");
  const audit = recorder();
  const first = await pullAudited({ dataDir: fresh, reference: `${reg.registry}/cordon/moving:v1`, audit, client });
  assert.deepEqual([first.digest, first.pinnedNow], [a.digest, true]);
  const retag = skopeo(["copy", "--all", "--src-tls-verify=false", "--dest-tls-verify=false", `docker://${reg.registry}/cordon/example:v1`, `docker://${reg.registry}/cordon/moving:v1`]);
  assert.equal(retag.status, 0, retag.stderr);
  await assert.rejects(pullAudited({ dataDir: fresh, reference: `${reg.registry}/cordon/moving:v1`, audit, client }), { code: "ERR_OCI_TAG_MOVED" });
  assert.equal(ContentCache.open(fresh).pinned(`${reg.registry}/cordon/moving:v1`), a.digest);
  await assert.rejects(pullAudited({ dataDir: fresh, reference: `${reg.registry}/cordon/moving:v1`, audit, client, repin: true }), { code: "ERR_OCI_MANIFEST_INVALID" }, "followed, the moved tag's release is then verified like any other");
  assert.deepEqual(audit.records.map((r) => [r.type, r.code ?? null]), [["oci.pulled", null], ["oci.refused", "ERR_OCI_TAG_MOVED"], ["oci.refused", "ERR_OCI_MANIFEST_INVALID"]]);
});
