// Starting from a registry: the verified cache serves a start when the registry is down
// (audited), nothing cached is refused, a production policy needs a digest, a cached file that
// changed is refused; Basic auth against the real registry with credentials from an
// owner-only file; large blobs uploaded in chunks and streamed back under a cap with progress.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { devHome, recorder, tempDir, type DevHome } from "../testing/oci-fixture.js";
import { ContentCache } from "./content-cache.js";
import { loadRegistryCredentials, RegistryCredentials, registryAuthPath } from "./credentials.js";
import { startLoopbackRegistry, type LoopbackRegistry } from "./loopback-registry.js";
import { publishRelease } from "./publish-release.js";
import { parseReference } from "./reference.js";
import { RegistryClient, sha256Digest } from "./registry-client.js";
import { startFrom } from "./start-from.js";
import { EXAMPLE_POLICY } from "../config/defaults.js";
import { dirname } from "node:path";

let dir: string;
let reg: LoopbackRegistry;
let home: DevHome;
let client: RegistryClient;
let pinned: string;
let digest: string;
const grantsDir = dirname(EXAMPLE_POLICY);

before(async () => {
  dir = tempDir();
  reg = await startLoopbackRegistry(join(dir, "registry"));
  home = await devHome(dir);
  client = new RegistryClient({ registry: reg.registry, scheme: "http:" });
  ({ pinned, digest } = await publishRelease({ dataDir: home.dataDir, policyPath: home.policy, reference: parseReference(`${reg.registry}/cordon/start:v1`), client }));
});

after(async () => {
  client.close();
  await reg.close();
  rmSync(dir, { recursive: true, force: true });
});

void test("a start pulls and lays out the release; with the registry down the verified cache serves it (oci.cache-used); nothing cached is refused", async () => {
  const audit = recorder();
  const up = await startFrom({ dataDir: home.dataDir, reference: pinned, audit, grantsDir });
  assert.deepEqual([up.source, up.digest, up.profile], ["registry", digest, "production"]);
  assert.equal(readFileSync(up.policyPath, "utf8"), readFileSync(EXAMPLE_POLICY, "utf8"));
  const down = new RegistryClient({ registry: "127.0.0.1:9", scheme: "http:" });
  const cached = await startFrom({ dataDir: home.dataDir, reference: pinned, audit, grantsDir, client: down });
  assert.equal(cached.source, "cache");
  await assert.rejects(startFrom({ dataDir: home.dataDir, reference: `${reg.registry}/cordon/start@sha256:${"0".repeat(64)}`, audit, grantsDir, client: down }), { code: "ERR_OCI_NOT_CACHED" });
  down.close();
  assert.deepEqual(audit.records.map((r) => [r.type, r.enforcer ?? null, r.code ?? r["reason"] ?? null]), [
    ["oci.pulled", null, null],
    ["oci.cache-used", null, "ERR_OCI_UNREACHABLE"],
    ["oci.refused", "oci-verify", "ERR_OCI_NOT_CACHED"],
  ]);
});

void test("a production policy starts only from a digest: the tag resolves and pins, and the start is refused naming the digest", async () => {
  const audit = recorder();
  await assert.rejects(startFrom({ dataDir: home.dataDir, reference: `${reg.registry}/cordon/start:v1`, audit, grantsDir, client }), (err: { code: string; pinned: string }) => err.code === "ERR_OCI_DIGEST_REQUIRED" && err.pinned === digest);
  assert.equal(audit.records.at(-1)?.code, "ERR_OCI_DIGEST_REQUIRED");
});

void test("a cached file that changed after it was verified is refused, not laid out", async () => {
  const cache = ContentCache.open(home.dataDir);
  const release = cache.verified(digest);
  const module = release?.artifacts.find((a) => a.kind === "module");
  assert.ok(module !== undefined);
  const path = cache.blobPath(module.digest);
  const bytes = readFileSync(path);
  chmodSync(path, 0o600);
  writeFileSync(path, Buffer.concat([bytes, Buffer.from([0])]));
  const audit = recorder();
  const down = new RegistryClient({ registry: "127.0.0.1:9", scheme: "http:" });
  await assert.rejects(startFrom({ dataDir: home.dataDir, reference: pinned, audit, grantsDir, client: down }), { code: "ERR_OCI_DIGEST_MISMATCH" });
  down.close();
  writeFileSync(path, bytes);
});

void test("Basic auth against the real registry: credentials from an owner-only file; a readable file, none, or wrong ones are refused", async () => {
  const hash = spawnSync("python3", ["-W", "ignore", "-c", "import crypt,sys; print('ci:' + crypt.crypt(sys.argv[1], crypt.mksalt(crypt.METHOD_BLOWFISH)))", "s3cret-pass"], { encoding: "utf8", shell: false });
  assert.equal(hash.status, 0, hash.stderr);
  writeFileSync(join(dir, "htpasswd"), hash.stdout);
  const authed = await startLoopbackRegistry(join(dir, "authed"), { htpasswd: join(dir, "htpasswd") });
  try {
    const auth = registryAuthPath(home.dataDir);
    writeFileSync(auth, JSON.stringify({ registries: { [authed.registry]: { username: "ci", password: "s3cret-pass" } } }), { mode: 0o644 });
    chmodSync(auth, 0o644);
    assert.throws(() => loadRegistryCredentials(auth, authed.registry), { code: "ERR_OCI_CREDENTIALS_UNUSABLE" });
    chmodSync(auth, 0o600);
    const credentials = loadRegistryCredentials(auth, authed.registry);
    assert.equal(JSON.stringify({ credentials }), '{"credentials":"[registry credentials]"}');
    const none = new RegistryClient({ registry: authed.registry, scheme: "http:" });
    await assert.rejects(none.ping(), { code: "ERR_OCI_UNAUTHORIZED" });
    none.close();
    const wrong = new RegistryClient({ registry: authed.registry, scheme: "http:", credentials: new RegistryCredentials({ username: "ci", password: "not-it" }) });
    await assert.rejects(wrong.ping(), { code: "ERR_OCI_UNAUTHORIZED" });
    wrong.close();
    const ok = new RegistryClient({ registry: authed.registry, scheme: "http:", credentials });
    const published = await publishRelease({ dataDir: home.dataDir, policyPath: home.policy, reference: parseReference(`${authed.registry}/cordon/private:v1`), client: ok });
    const audit = recorder();
    const up = await startFrom({ dataDir: home.dataDir, reference: published.pinned, audit, grantsDir, client: ok });
    assert.equal(up.digest, published.digest);
    ok.close();
    assert.ok(!JSON.stringify(audit.records).includes("s3cret"), "no credential in any record");
  } finally {
    await authed.close();
  }
});

void test("a large blob goes up in chunks and comes back streamed to disk, hashed as it arrives, with progress; under a smaller cap it is cut", async () => {
  const size = 20 * 1024 * 1024 + 123;
  const big = Buffer.alloc(size);
  for (let i = 0; i < size; i += 4096) big[i] = i % 251;
  const d = sha256Digest(big);
  const chunked = new RegistryClient({ registry: reg.registry, scheme: "http:", chunkBytes: 4 * 1024 * 1024 });
  assert.equal(await chunked.pushBlob("cordon/big", d, size, (o, l) => big.subarray(o, o + l)), "chunked");
  chunked.close();
  const cache = ContentCache.open(home.dataDir);
  const w = cache.writer();
  const seen: number[] = [];
  await client.getBlob("cordon/big", { digest: d, size }, { what: "an image", cap: 64 * 1024 * 1024, sink: (c) => w.write(c), onBytes: (n) => seen.push(n) });
  w.commit(d, "an image");
  assert.equal(cache.size(d), size);
  assert.equal(seen.at(-1), size);
  assert.ok(seen.length > 1, "progress as it arrives");
  const w2 = cache.writer();
  await assert.rejects(client.getBlob("cordon/big", { digest: d, size }, { what: "an image", cap: 1024 * 1024, sink: (c) => w2.write(c) }), { code: "ERR_OCI_TOO_LARGE", received: 0 });
  w2.abort();
});

void test("the Bearer challenge flow: the token service on the registry's host gets the Basic credentials, the registry gets only the token", async () => {
  const { createServer } = await import("node:http");
  const seen: string[] = [];
  const server = createServer((req, res) => {
    const auth = req.headers.authorization ?? "";
    if (req.url?.startsWith("/token")) {
      const url = new URL(req.url, "http://x");
      seen.push(`token ${auth.split(" ")[0] ?? ""} ${url.searchParams.get("service") ?? ""} ${url.searchParams.get("scope") ?? ""}`);
      if (auth !== `Basic ${Buffer.from("ci:pw").toString("base64")}`) return void res.writeHead(401).end();
      return void res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ token: "t0k" }));
    }
    seen.push(`registry ${auth}`);
    if (auth !== "Bearer t0k") {
      const port = (server.address() as { port: number }).port;
      return void res.writeHead(401, { "www-authenticate": `Bearer realm="http://127.0.0.1:${port}/token",service="loopback",scope="registry:catalog:*"` }).end();
    }
    res.writeHead(200).end("{}");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  const c = new RegistryClient({ registry: `127.0.0.1:${port}`, scheme: "http:", credentials: new RegistryCredentials({ username: "ci", password: "pw" }) });
  await c.ping();
  c.close();
  server.closeAllConnections();
  server.close();
  assert.deepEqual(seen, ["registry ", "token Basic loopback registry:catalog:*", "registry Bearer t0k"]);
});
