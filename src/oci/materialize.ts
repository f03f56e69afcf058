// A verified release laid out for a start: the policy and every file it pins at the paths the
// signed policy names, each with its signature beside it (the DSSE envelope from its Sigstore
// bundle, re-verified here), in a fresh directory under the data directory. Every file comes
// from the content cache and is re-hashed on the way. The strict start then loads this tree
// like any signed policy (each file read once, its signature checked on those bytes). The
// policy's relative grant directories (host folders, which do not travel) are linked to the
// same names under `grantsDir`.
import { createHash } from "node:crypto";
import { closeSync, copyFileSync, existsSync, mkdirSync, openSync, readSync, realpathSync, rmSync, symlinkSync } from "node:fs";
import { dirname, isAbsolute, join, resolve } from "node:path";
import { loadTrustBundle } from "../artifacts/load-trust-bundle.js";
import { IN_TOTO_PAYLOAD_TYPE } from "../artifacts/statement.js";
import { writeFileAtomic } from "../crypto/write-atomic.js";
import { parsePolicy } from "../policy/load-policy.js";
import { ContentCache, type VerifiedRelease } from "./content-cache.js";
import { OciDigestMismatch, OciManifestInvalid } from "./errors.js";
import { KIND_MEDIA, MAX_SIGNATURE_BUNDLE_BYTES } from "./media-types.js";
import { IN_MEMORY_BYTES } from "./pull-release.js";
import { parseJsonObject } from "./registry-client.js";
import { verifySigstoreBundle } from "./sigstore-bundle.js";

export const RUN_DIR = "run";

function plainRelative(path: string): boolean {
  return path.length > 0 && !isAbsolute(path) && !path.split(/[\\/]/).includes("..") && !path.includes("\0");
}

function hashFile(path: string): string {
  const fd = openSync(path, "r");
  const hash = createHash("sha256");
  const buf = Buffer.alloc(8 * 1024 * 1024);
  try {
    for (;;) {
      const n = readSync(fd, buf, 0, buf.byteLength, null);
      if (n === 0) break;
      hash.update(buf.subarray(0, n));
    }
  } finally {
    closeSync(fd);
  }
  return `sha256:${hash.digest("hex")}`;
}

export interface Materialized {
  readonly policyPath: string;
  readonly dir: string;
  readonly profile: "local-dev" | "production";
}

export function materializeRelease(dataDir: string, release: VerifiedRelease, grantsDir: string): Materialized {
  const cache = ContentCache.open(dataDir);
  const { bundle } = loadTrustBundle({ dataDir });
  const dir = join(cache.root, RUN_DIR, release.digest.slice("sha256:".length));
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  let policyPath: string | null = null;
  let policyText = "";
  for (const a of release.artifacts) {
    if (a.kind === "trust-bundle") continue;
    const rel = a.kind === "policy" ? "policy.yaml" : a.path;
    if (!plainRelative(rel)) throw new OciManifestInvalid(`the release's ${a.kind}`, `its path ${rel.slice(0, 128)} is not a plain relative path`);
    const target = join(dir, rel);
    mkdirSync(dirname(target), { recursive: true, mode: 0o755 });
    if (a.size <= IN_MEMORY_BYTES) {
      const bytes = cache.read(a.digest, KIND_MEDIA[a.kind].maxBytes, `${a.kind} ${rel}`);
      writeFileAtomic(target, bytes, 0o644);
      if (a.kind === "policy") policyText = bytes.toString("utf8");
    } else {
      copyFileSync(cache.blobPath(a.digest), target);
      const actual = hashFile(target);
      if (actual !== a.digest) throw new OciDigestMismatch(`cached ${a.kind} ${rel}`, a.digest, actual);
    }
    const signers = a.kind === "policy" ? bundle.policySigners : bundle.moduleSigners;
    const what = `the signature of ${rel}`;
    const v = verifySigstoreBundle(parseJsonObject(cache.read(a.bundle, MAX_SIGNATURE_BUNDLE_BYTES, what), what), IN_TOTO_PAYLOAD_TYPE, signers, what);
    writeFileAtomic(`${target}.sig.json`, `${JSON.stringify(v.envelope, null, 2)}\n`, 0o644);
    if (a.kind === "policy") policyPath = target;
  }
  if (policyPath === null) throw new OciManifestInvalid("the verified release", "it has no policy");
  const { spec } = parsePolicy(policyText);
  const grantsReal = realpathSync(grantsDir);
  for (const t of Object.values(spec.tools)) {
    for (const g of t.grants) {
      if ((g.kind !== "fs.read" && g.kind !== "fs.write") || !plainRelative(g.path)) continue;
      const link = join(dir, g.path);
      const source = resolve(grantsReal, g.path);
      if (existsSync(link) || !existsSync(source)) continue;
      mkdirSync(dirname(link), { recursive: true });
      symlinkSync(realpathSync(source), link);
    }
  }
  return { policyPath, dir, profile: spec.profile };
}
