// Probes of distribution (enforcer oci-verify). Each starts a real registry on loopback
// (Debian's docker-registry, in the probe's temporary directory), publishes the running
// policy's signed release to it, shows that the untouched release pulls and verifies, then
// attacks one thing — the registry's storage, its referrers, its tags, or the registry itself
// (a redirecting or stalling one) — and pulls again through the audited pull a start uses,
// into a fresh home that pins only this host's root: one `oci.refused` record.
import { generateKeyPairSync } from "node:crypto";
import { chmodSync, copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { join } from "node:path";
import { trustRootPath } from "../artifacts/load-trust-bundle.js";
import { signatureFor } from "../artifacts/policy-trust.js";
import { signArtifact } from "../artifacts/sign-file.js";
import { verifySignedArtifact } from "../artifacts/verify-file.js";
import { keyId } from "../crypto/dsse.js";
import { CordonError } from "../errors.js";
import { findRegistryBinary, startLoopbackRegistry, type LoopbackRegistry } from "../oci/loopback-registry.js";
import { buildReferrersIndex, buildReleaseIndex, buildSignatureManifest, parseArtifactManifest, parseReferrers, parseReleaseIndex, referrersTag } from "../oci/manifests.js";
import { INDEX_MEDIA_TYPE, MANIFEST_MEDIA_TYPE, SIGSTORE_BUNDLE_MEDIA_TYPE } from "../oci/media-types.js";
import { publishRelease } from "../oci/publish-release.js";
import { parseReference } from "../oci/reference.js";
import { RegistryClient, sha256Digest, type Descriptor } from "../oci/registry-client.js";
import { toSigstoreBundle } from "../oci/sigstore-bundle.js";
import { pullAudited } from "../oci/start-from.js";
import { pullRelease } from "../oci/pull-release.js";
import type { Deadlines } from "../oci/http-transport.js";
import { isScalar, parseDocument, YAMLMap, YAMLSeq, type Scalar } from "yaml";
import { policyOnDisk, shadowPolicy } from "./shadow-policy.js";
import { requireTrust, trustedPublisherKey } from "./trust-keys.js";
import type { Probe, ProbeEnv, ProbeOutcome, TrustContext } from "./types.js";

const REPO = "cordon/probe";

interface Stage {
  readonly env: ProbeEnv;
  readonly trust: TrustContext;
  readonly reg: LoopbackRegistry;
  readonly client: RegistryClient;
  /** The published release, by digest. */
  readonly pinned: string;
  readonly digest: string;
  /** The policy the release carries, as signed. */
  readonly release: ReleasePolicy;
  /** Its members: kind → manifest descriptor and parsed manifest. */
  readonly members: ReadonlyArray<{ kind: string; manifest: Descriptor; layer: Descriptor }>;
}

/** A fresh data directory that pins only this host's trust root. */
function freshHome(stage: Pick<Stage, "env" | "trust">, name: string): string {
  const home = join(stage.env.tmp, name);
  mkdirSync(home, { mode: 0o700 });
  copyFileSync(trustRootPath(stage.trust.dataDir), trustRootPath(home));
  chmodSync(trustRootPath(home), 0o644);
  return home;
}

function codeOf(err: unknown): string {
  return err instanceof CordonError ? err.code : "error";
}

/** The audited pull a start uses; a control pull (record = false) leaves no record at all. */
async function pullInto(stage: Stage, home: string, reference: string, client: RegistryClient = stage.client, record = true): Promise<void> {
  if (record) await pullAudited({ dataDir: home, reference, client, audit: { append: (e) => stage.env.runtime.record(e) } });
  else await pullRelease({ dataDir: home, reference: parseReference(reference), client });
}

/** The attacked pull must be refused with `code`, with one record (prove counts it). */
async function refusedWith(code: string, what: string, pull: () => Promise<void>, extra: () => string | null = () => null): Promise<ProbeOutcome> {
  try {
    await pull();
    return { stopped: false, detail: `${what}: ACCEPTED` };
  } catch (err) {
    if (!(err instanceof CordonError)) throw err;
    const problem = err.code === code ? extra() : `refused, but by another check: ${err.code}`;
    return { stopped: problem === null, detail: problem === null ? `${what}: refused, ${err.code}` : `${what}: ${problem}` };
  }
}

interface ReleasePolicy {
  readonly path: string;
  readonly bytes: Buffer;
  readonly version: number;
}

/**
 * The policy the probes publish: the running policy less every tool that pins an image of
 * hundreds of MB (a container root filesystem, a microVM image), re-signed at its own version by
 * the publisher key. Every attack below is on the policy, its modules, the trust bundle or the
 * registry, and none needs an image; ten pushes and twenty pulls of one would be most of a prove
 * run. Without a publisher key on this host the running policy goes whole.
 */
function releasePolicy(env: ProbeEnv, trust: TrustContext): ReleasePolicy {
  const { path, bytes } = policyOnDisk(env.runtime);
  const version = verifySignedArtifact(bytes, signatureFor(path, bytes, trust.dataDir), "policy", trust.bundle.policySigners, path).version ?? 1;
  const doc = parseDocument(bytes.toString("utf8"));
  const tools = doc.get("tools") as YAMLMap<Scalar<string> | string, YAMLMap> | undefined;
  const heavy = (tools?.items ?? []).filter((pair) => pair.value instanceof YAMLMap && (pair.value.has("container") || pair.value.has("vm"))).map((pair) => String(isScalar(pair.key) ? pair.key.value : pair.key));
  const publisher = trustedPublisherKey(trust);
  if (heavy.length === 0 || !publisher.ok) return { path, bytes, version };
  for (const name of heavy) doc.deleteIn(["tools", name]);
  const roles = doc.get("roles") as YAMLMap<unknown, YAMLMap> | undefined;
  for (const pair of roles?.items ?? []) {
    const list = pair.value?.get("tools");
    if (!(list instanceof YAMLSeq)) continue;
    list.items = list.items.filter((item) => !heavy.includes(String(isScalar(item) ? item.value : item)));
    if (list.items.length === 0) doc.deleteIn(["roles", isScalar(pair.key) ? pair.key.value : pair.key]);
  }
  const shadow = shadowPolicy(env.runtime, trust.dataDir, join(env.tmp, "release"));
  const trimmed = Buffer.from(doc.toString());
  writeFileSync(shadow.policyPath, trimmed);
  writeFileSync(`${shadow.policyPath}.sig.json`, JSON.stringify(signArtifact(trimmed, "policy.yaml", publisher.value, { kind: "policy", version })));
  return { path: shadow.policyPath, bytes: trimmed, version };
}

/** Publishes the running policy to a fresh loopback registry and shows a control pull verifying. */
async function stage(env: ProbeEnv, body: (s: Stage) => Promise<ProbeOutcome>): Promise<ProbeOutcome> {
  const trust = requireTrust(env);
  if ((await findRegistryBinary()) === null) return { stopped: false, detail: "no registry", unavailable: "docker-registry (the CNCF distribution registry) is not installed: apt-get install docker-registry" };
  const reg = await startLoopbackRegistry(join(env.tmp, "registry"));
  const client = new RegistryClient({ registry: reg.registry, scheme: "http:" });
  try {
    const ref = parseReference(`${reg.registry}/${REPO}:v1`);
    const release = releasePolicy(env, trust);
    const published = await publishRelease({ dataDir: trust.dataDir, policyPath: release.path, reference: ref, client });
    const index = await client.getManifest(REPO, published.digest);
    const members = await Promise.all(parseReleaseIndex(index.bytes, "release").map(async (m) => ({ kind: m.kind, manifest: m.manifest, layer: parseArtifactManifest((await client.getManifest(REPO, m.manifest.digest)).bytes, "member").layer })));
    const s: Stage = { env, trust, reg, client, pinned: published.pinned, digest: published.digest, release, members };
    // The untouched release verifies: a refusal below is the attack's, nothing else's.
    await pullInto(s, freshHome(s, "control"), published.pinned, client, false).catch((err: unknown) => {
      throw new Error(`the untouched release did not verify (${codeOf(err)})`);
    });
    return await body(s);
  } finally {
    client.close();
    await reg.close();
  }
}

function member(s: Stage, kind: string, nth = 0): { manifest: Descriptor; layer: Descriptor } {
  const m = s.members.filter((x) => x.kind === kind)[nth];
  if (m === undefined) throw new Error(`the release has no ${kind} #${nth}`);
  return m;
}

/** Replaces the referrers (tag schema) of `subject` with one signature manifest carrying `bundle`. */
async function attachOnly(s: Stage, subject: Descriptor, bundle: Buffer): Promise<void> {
  const bundleDigest = sha256Digest(bundle);
  await s.client.pushBlob(REPO, bundleDigest, bundle.byteLength, (o, l) => bundle.subarray(o, o + l));
  const sig = buildSignatureManifest(subject, { mediaType: SIGSTORE_BUNDLE_MEDIA_TYPE, digest: bundleDigest, size: bundle.byteLength }, null);
  await s.client.putManifest(REPO, sig.descriptor.digest, sig.bytes, MANIFEST_MEDIA_TYPE);
  const index = buildReferrersIndex([{ mediaType: MANIFEST_MEDIA_TYPE, digest: sig.descriptor.digest, size: sig.descriptor.size, artifactType: SIGSTORE_BUNDLE_MEDIA_TYPE }]);
  await s.client.putManifest(REPO, referrersTag(subject.digest), index.bytes, INDEX_MEDIA_TYPE);
}

/** The genuine Sigstore bundle attached to `subject`. */
async function genuineBundle(s: Stage, subject: Descriptor): Promise<Buffer> {
  const [ref] = parseReferrers((await s.client.getManifest(REPO, referrersTag(subject.digest))).bytes, "referrers");
  if (ref === undefined) throw new Error("no signature attached");
  const m = JSON.parse((await s.client.getManifest(REPO, ref.digest)).bytes.toString("utf8")) as { layers: Descriptor[] };
  const layer = m.layers[0];
  if (layer === undefined) throw new Error("an empty signature manifest");
  return s.client.getBlob(REPO, layer, { what: "a bundle", cap: 1024 * 1024 });
}

/** A module's bytes changed in the registry's storage, its digest kept. */
export const ociBlobTampered: Probe = (env) =>
  stage(env, async (s) => {
    const { layer } = member(s, "module");
    const path = s.reg.blobDataPath(layer.digest);
    const bytes = readFileSync(path);
    bytes[bytes.byteLength >> 1] = (bytes[bytes.byteLength >> 1] ?? 0) ^ 1;
    writeFileSync(path, bytes);
    return refusedWith("ERR_OCI_DIGEST_MISMATCH", "a module whose bytes no longer match its digest", () => pullInto(s, freshHome(s, "home"), s.pinned));
  });

/** The pinned release index swapped, in the registry's storage, for another validly signed release of the same artifacts. */
export const ociManifestSwapped: Probe = (env) =>
  stage(env, async (s) => {
    const other = buildReleaseIndex([...s.members].reverse().map((m) => ({ kind: m.kind as never, manifest: m.manifest })), { "dev.cordon.policy.version": "other" });
    await s.client.putManifest(REPO, other.descriptor.digest, other.bytes, INDEX_MEDIA_TYPE);
    await pullInto(s, freshHome(s, "other"), `${s.reg.registry}/${REPO}@${other.descriptor.digest}`, s.client, false);
    writeFileSync(s.reg.blobDataPath(s.digest), other.bytes);
    return refusedWith("ERR_OCI_DIGEST_MISMATCH", "the pinned release swapped for another validly signed one", () => pullInto(s, freshHome(s, "home"), s.pinned));
  });

/** The policy's only signature made by a key the trust bundle does not list. */
export const ociSignatureUntrusted: Probe = (env) =>
  stage(env, async (s) => {
    const { bytes, version } = s.release;
    const { privateKey, publicKey } = generateKeyPairSync("ed25519");
    const envelope = signArtifact(bytes, "policy.yaml", { keyid: keyId(publicKey), privateKey }, { kind: "policy", version: version + 1 });
    await attachOnly(s, member(s, "policy").manifest, Buffer.from(JSON.stringify(toSigstoreBundle(envelope))));
    return refusedWith("ERR_SIGNATURE_INVALID", "the policy signed by a key outside the trust bundle", () => pullInto(s, freshHome(s, "home"), s.pinned));
  });

/** A shadow copy of the running policy signed one version up with the publisher key, published as :v1 (moving the tag). */
async function publishNewer(s: Stage): Promise<{ pinned: string } | { unavailable: string }> {
  const publisher = trustedPublisherKey(s.trust);
  if (!publisher.ok) return { unavailable: publisher.unavailable };
  const { bytes, version } = s.release;
  const shadow = shadowPolicy(s.env.runtime, s.trust.dataDir, join(s.env.tmp, "newer"));
  writeFileSync(shadow.policyPath, bytes);
  writeFileSync(`${shadow.policyPath}.sig.json`, JSON.stringify(signArtifact(bytes, "policy.yaml", publisher.value, { kind: "policy", version: version + 1 })));
  const published = await publishRelease({ dataDir: s.trust.dataDir, policyPath: shadow.policyPath, reference: parseReference(`${s.reg.registry}/${REPO}:v1`), client: s.client });
  return { pinned: published.pinned };
}

/** This home accepted policy version V+1 from the registry; the genuine, validly signed version V is then offered again. */
export const ociRollback: Probe = (env) =>
  stage(env, async (s) => {
    const newer = await publishNewer(s);
    if ("unavailable" in newer) return { stopped: false, detail: newer.unavailable, unavailable: newer.unavailable };
    const home = freshHome(s, "home");
    await pullInto(s, home, newer.pinned, s.client, false);
    return refusedWith("ERR_ARTIFACT_ROLLBACK", "the older, validly signed release after a newer one", () => pullInto(s, home, s.pinned));
  });

/** A module's only signature: another module's genuine Sigstore bundle, attached (subject) to this one. */
export const ociSignatureMisattached: Probe = (env) =>
  stage(env, async (s) => {
    const a = member(s, "module", 0);
    const b = member(s, "module", 1);
    await attachOnly(s, b.manifest, await genuineBundle(s, a.manifest));
    return refusedWith("ERR_SIGNATURE_INVALID", "a genuine signature of one module attached to another", () => pullInto(s, freshHome(s, "home"), s.pinned));
  });

/** :v1 pulled and pinned; then :v1 moved to another (newer, validly signed) release. */
export const ociTagMoved: Probe = (env) =>
  stage(env, async (s) => {
    const home = freshHome(s, "home");
    const tag = `${s.reg.registry}/${REPO}:v1`;
    await pullInto(s, home, tag, s.client, false);
    const newer = await publishNewer(s);
    if ("unavailable" in newer) return { stopped: false, detail: newer.unavailable, unavailable: newer.unavailable };
    return refusedWith("ERR_OCI_TAG_MOVED", "a tag moved after it was pinned", () => pullInto(s, home, tag));
  });

/** A 2 MiB manifest under a tag: refused on its Content-Length, before its body is read. */
export const ociManifestOversized: Probe = (env) =>
  stage(env, async (s) => {
    const huge = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: INDEX_MEDIA_TYPE, manifests: [], annotations: { pad: "x".repeat(2 * 1024 * 1024) } }));
    await s.client.putManifest(REPO, "huge", huge, INDEX_MEDIA_TYPE);
    let received = -1;
    return refusedWith("ERR_OCI_TOO_LARGE", `a ${huge.byteLength}-byte manifest`, () => pullInto(s, freshHome(s, "home"), `${s.reg.registry}/${REPO}:huge`).catch((err: unknown) => {
      received = typeof (err as { received?: unknown }).received === "number" ? (err as { received: number }).received : -1;
      throw err;
    }), () => (received >= 0 && received < huge.byteLength ? null : `the download was not stopped early (received ${received})`));
  });

/** A module's stored bytes grown to 4 MiB: the registry announces more than its descriptor names. */
export const ociBlobOversized: Probe = (env) =>
  stage(env, async (s) => {
    const { layer } = member(s, "module");
    writeFileSync(s.reg.blobDataPath(layer.digest), Buffer.alloc(4 * 1024 * 1024, 0x61));
    let received = -1;
    return refusedWith("ERR_OCI_TOO_LARGE", `a ${layer.size}-byte module served as 4 MiB`, () => pullInto(s, freshHome(s, "home"), s.pinned).catch((err: unknown) => {
      received = typeof (err as { received?: unknown }).received === "number" ? (err as { received: number }).received : -1;
      throw err;
    }), () => (received >= 0 && received <= layer.size ? null : `the download was not stopped early (received ${received})`));
  });

/** Accepts connections and counts them; never answers (a canary, or a registry that stalls). */
async function silentServer(): Promise<{ port: number; connections: () => number; close: () => Promise<void> }> {
  let count = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((sock) => {
    count += 1;
    sockets.add(sock);
    sock.on("error", () => undefined);
    sock.on("close", () => sockets.delete(sock));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const addr = server.address();
  const port = typeof addr === "object" && addr !== null ? addr.port : 0;
  return {
    port,
    connections: () => count,
    close: () =>
      new Promise<void>((resolve) => {
        for (const sock of sockets) sock.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A second registry over the same storage that redirects blob downloads to another host (the storage redirect middleware). */
export const ociRedirectForeign: Probe = (env) =>
  stage(env, async (s) => {
    const canary = await silentServer();
    const redirecting = await startLoopbackRegistry(join(env.tmp, "registry"), { redirectBlobsTo: `http://localhost:${canary.port}/` });
    const client = new RegistryClient({ registry: redirecting.registry, scheme: "http:" });
    try {
      return await refusedWith("ERR_OCI_REDIRECT_REFUSED", `blobs redirected to localhost:${canary.port}`, () => pullInto(s, freshHome(s, "home"), `${redirecting.registry}/${REPO}@${s.digest}`, client), () =>
        canary.connections() === 0 ? null : `the other host saw ${canary.connections()} connection(s)`);
    } finally {
      client.close();
      await redirecting.close();
      await canary.close();
    }
  });

/** A registry that accepts the connection and never answers: the pull ends at its deadline. */
export const ociRegistrySlow: Probe = (env) =>
  stage(env, async (s) => {
    const tarpit = await silentServer();
    const deadlines: Deadlines = { headersMs: 400, idleMs: 400, totalMs: 5_000 };
    const client = new RegistryClient({ registry: `127.0.0.1:${tarpit.port}`, scheme: "http:", deadlines });
    try {
      return await refusedWith("ERR_OCI_TIMEOUT", `a registry that never answers (deadline ${deadlines.headersMs} ms)`, () => pullInto(s, freshHome(s, "home"), `127.0.0.1:${tarpit.port}/${REPO}@${s.digest}`, client));
    } finally {
      client.close();
      await tarpit.close();
    }
  });

export const OCI_PROBES: ReadonlyArray<readonly [string, Probe]> = [
  ["oci-blob-tampered", ociBlobTampered],
  ["oci-manifest-swapped", ociManifestSwapped],
  ["oci-signature-untrusted", ociSignatureUntrusted],
  ["oci-rollback", ociRollback],
  ["oci-signature-misattached", ociSignatureMisattached],
  ["oci-tag-moved", ociTagMoved],
  ["oci-manifest-oversized", ociManifestOversized],
  ["oci-blob-oversized", ociBlobOversized],
  ["oci-redirect-foreign", ociRedirectForeign],
  ["oci-registry-slow", ociRegistrySlow],
];
