// Distribution: pulling and verifying the example policy's release (the policy, its three
// modules and its script, the trust bundle, and a Sigstore bundle for each) from a registry on
// loopback, cold (a fresh home) and from the content cache (registry up; registry down, as an
// air-gapped start), against skopeo copying the same release to a local OCI layout in the
// same run. skopeo moves bytes; cordon also verifies every digest and signature.
import { rmSync } from "node:fs";
import { join } from "node:path";
import { startLoopbackRegistry } from "../oci/loopback-registry.js";
import { publishRelease } from "../oci/publish-release.js";
import { pullRelease } from "../oci/pull-release.js";
import { parseReference } from "../oci/reference.js";
import { parseReleaseIndex, referrersTag } from "../oci/manifests.js";
import { RegistryClient } from "../oci/registry-client.js";
import { startFrom } from "../oci/start-from.js";
import { devHome, recorder, rootOnlyHome, skopeo, tempDir } from "../testing/oci-fixture.js";
import { EXAMPLE_POLICY } from "../config/defaults.js";
import { dirname } from "node:path";
import { timeAsync, timeSync } from "./measure.js";
import { failedRow, type Row } from "./rows.js";

const PLAN = { warmup: 2, iterations: 15 };

export async function benchDistribution(): Promise<Row[]> {
  const section = "distribution" as const;
  const dir = tempDir("cordon-bench-oci-");
  const rows: Row[] = [];
  try {
    const reg = await startLoopbackRegistry(join(dir, "registry"));
    const client = new RegistryClient({ registry: reg.registry, scheme: "http:" });
    try {
      const home = await devHome(dir);
      const published = await publishRelease({ dataDir: home.dataDir, policyPath: home.policy, reference: parseReference(`${reg.registry}/cordon/bench:v1`), client });
      const ref = parseReference(published.pinned);
      const note = `${published.artifacts} artifacts, ${(published.bytes / 1024).toFixed(0)} KiB, each with a Sigstore bundle (referrers tag schema); loopback docker-registry 2.8`;
      let n = 0;
      rows.push({ id: "distribution.pull.cold", section, label: "cordon pull, cold (fresh home: every manifest, blob and signature fetched and verified)", kind: "timing", note,
        stats: await timeAsync(PLAN, async () => {
          await pullRelease({ dataDir: rootOnlyHome(dir, home.dataDir, `cold-${n++}`), reference: ref, client });
        }) });
      const warm = rootOnlyHome(dir, home.dataDir, "warm");
      await pullRelease({ dataDir: warm, reference: ref, client });
      rows.push({ id: "distribution.pull.cached", section, label: "cordon pull, from cache (registry up: referrer lists fetched, cached blobs re-hashed, all verified)", kind: "timing", note,
        stats: await timeAsync(PLAN, async () => {
          await pullRelease({ dataDir: warm, reference: ref, client });
        }) });
      const down = new RegistryClient({ registry: "127.0.0.1:9", scheme: "http:" });
      const grantsDir = dirname(EXAMPLE_POLICY);
      rows.push({ id: "distribution.start.offline", section, label: "up --from with the registry down: verified cache, re-hashed, signatures re-verified, laid out", kind: "timing", note: "what an air-gapped start adds before the strict start itself",
        stats: await timeAsync(PLAN, async () => {
          await startFrom({ dataDir: warm, reference: published.pinned, audit: recorder(), grantsDir, client: down });
        }) });
      down.close();
      let k = 0;
      const copy = (): void => {
        const out = join(dir, `skopeo-${k++}`);
        const r = skopeo(["copy", "--all", "--quiet", "--src-tls-verify=false", `docker://${published.pinned}`, `oci:${out}:bench`]);
        if (r.status !== 0) throw new Error(`skopeo copy failed: ${r.stderr.slice(0, 200)}`);
        rmSync(out, { recursive: true, force: true });
      };
      try {
        rows.push({ id: "distribution.skopeo.copy", section, label: "skopeo copy --all of the same release to a local OCI layout (no signatures, no verification)", kind: "timing", note: "skopeo 1.9.3, one process per copy; it does not follow OCI referrers", stats: timeSync(PLAN, copy) });
        const members = parseReleaseIndex((await client.getManifest("cordon/bench", published.digest)).bytes, "release").map((m) => referrersTag(m.manifest.digest));
        const indexes = members.length;
        rows.push({ id: "distribution.skopeo.copy-signed", section, label: `skopeo: the release and its ${indexes} signature indexes (${indexes + 1} copies)`, kind: "timing", note: "what moving the same signatures costs skopeo, still unverified",
          stats: timeSync({ warmup: 1, iterations: 8 }, () => {
            copy();
            for (const tag of members) {
              const out = join(dir, `skopeo-sig-${k++}`);
              const r = skopeo(["copy", "--all", "--quiet", "--src-tls-verify=false", `docker://${reg.registry}/cordon/bench:${tag}`, `oci:${out}:sig`]);
              if (r.status !== 0) throw new Error(`skopeo copy failed: ${r.stderr.slice(0, 200)}`);
              rmSync(out, { recursive: true, force: true });
            }
          }) });
      } catch (err) {
        rows.push(failedRow({ id: "distribution.skopeo.copy", section, label: "skopeo copy baseline" }, err));
      }
    } finally {
      client.close();
      await reg.close();
    }
  } catch (err) {
    rows.push(failedRow({ id: "distribution.pull.cold", section, label: "cordon pull from a loopback registry" }, err));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}
