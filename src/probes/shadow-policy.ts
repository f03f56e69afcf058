// A throwaway copy of the running policy for the supply-chain probes: the policy's exact bytes
// and every artifact it names by a relative path, each with its real signature beside it (so
// the verifier sees a genuine signature, whatever bytes the probe then puts next to it), and
// the grant directories linked in. Probes tamper with the copy, never with the real files.
import { copyFileSync, existsSync, mkdirSync, readFileSync, realpathSync, symlinkSync, writeFileSync } from "node:fs";
import { dirname, isAbsolute, join, resolve } from "node:path";
import { signatureFor } from "../artifacts/policy-trust.js";
import { sha256Hex } from "../crypto/digest.js";
import { parsePolicy } from "../policy/load-policy.js";
import type { Runtime } from "../runtime/runtime.js";

/** The running policy's bytes, re-read and checked against the digest it was started with. */
export function policyOnDisk(runtime: Runtime): { readonly path: string; readonly bytes: Buffer } {
  const bytes = readFileSync(runtime.policy.path);
  if (sha256Hex(bytes) !== runtime.policy.sha256) throw new Error(`${runtime.policy.path} changed since this run started`);
  return { path: runtime.policy.path, bytes };
}

export interface ShadowArtifact {
  /** The tool whose module or script this is. */
  readonly tool: string;
  /** Its path in the copy. */
  readonly path: string;
  readonly bytes: Buffer;
  readonly sha256: string;
}

export interface ShadowPolicy {
  readonly policyPath: string;
  /** Copied artifacts in the policy's tool order. */
  readonly artifacts: readonly ShadowArtifact[];
}

function plainRelative(path: string): boolean {
  return !isAbsolute(path) && !path.split(/[\\/]/).includes("..");
}

/** Lays the copy out in `dir` (which must be empty or absent). */
export function shadowPolicy(runtime: Runtime, dataDir: string, dir: string): ShadowPolicy {
  const { path, bytes } = policyOnDisk(runtime);
  const realDir = realpathSync(dirname(path));
  const { spec } = parsePolicy(bytes.toString("utf8"));
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const policyPath = join(dir, "policy.yaml");
  writeFileSync(policyPath, bytes);
  writeFileSync(`${policyPath}.sig.json`, signatureFor(path, bytes, dataDir));
  const artifacts: ShadowArtifact[] = [];
  // Artifacts first, as real files in real directories; grant directories are only linked afterwards.
  for (const [tool, t] of Object.entries(spec.tools)) {
    const rel = t.module?.path ?? t.command?.script?.path;
    if (rel === undefined || !plainRelative(rel)) continue;
    const source = resolve(realDir, rel);
    const artifactBytes = readFileSync(source);
    const copy = join(dir, rel);
    mkdirSync(dirname(copy), { recursive: true });
    copyFileSync(source, copy);
    writeFileSync(`${copy}.sig.json`, signatureFor(source, artifactBytes, dataDir));
    artifacts.push({ tool, path: copy, bytes: artifactBytes, sha256: sha256Hex(artifactBytes) });
  }
  // A container image is linked, not copied (hundreds of MB; the loader streams and checks it as
  // ever), with its digest signature beside the link.
  for (const t of Object.values(spec.tools)) {
    const image = t.container?.image;
    if (image === undefined || !plainRelative(image.path)) continue;
    const link = join(dir, image.path);
    if (existsSync(link)) continue;
    mkdirSync(dirname(link), { recursive: true });
    const source = realpathSync(resolve(realDir, image.path));
    symlinkSync(source, link);
    writeFileSync(`${link}.sig.json`, signatureFor(source, image.sha256, dataDir));
  }
  for (const t of Object.values(spec.tools)) {
    for (const g of t.grants) {
      if ((g.kind !== "fs.read" && g.kind !== "fs.write") || !plainRelative(g.path)) continue;
      const link = join(dir, g.path);
      if (existsSync(link)) continue;
      mkdirSync(dirname(link), { recursive: true });
      symlinkSync(realpathSync(resolve(realDir, g.path)), link);
    }
  }
  return { policyPath, artifacts };
}

/** `bytes` with one bit flipped in the middle. */
export function flipBit(bytes: Uint8Array): Buffer {
  const out = Buffer.from(bytes);
  const at = Math.floor(out.byteLength / 2);
  out[at] = (out[at] ?? 0) ^ 0x01;
  return out;
}
