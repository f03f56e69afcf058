// Probes of the signed supply chain: the trust bundle (enforcer trust-bundle), the signed
// policy and modules (artifact-signature), and where keys come from (key-source). Each attacks
// a copy in its own temporary directory through the same audited loaders a strict start uses,
// so each refusal is the record a real start would write.
import { generateKeyPairSync } from "node:crypto";
import { copyFileSync, chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { loadAudited } from "../artifacts/load-policy-audited.js";
import { policyTrust, signatureFor } from "../artifacts/policy-trust.js";
import { sha256Hex } from "../crypto/digest.js";
import { startFileSwapper } from "../artifacts/swap-race.js";
import { dataDir } from "../config/defaults.js";
import { CordonError } from "../errors.js";
import { recordEnvKeyOffers } from "../artifacts/env-key-offers.js";
import { SignatureInvalid } from "../crypto/errors.js";
import { loadTrustAudited } from "../artifacts/load-trust-audited.js";
import { trustBundlePath, trustRootPath } from "../artifacts/load-trust-bundle.js";
import { signArtifact } from "../artifacts/sign-file.js";
import { verifySignedArtifact } from "../artifacts/verify-file.js";
import { createTokenVerifier } from "../authn/verify-token.js";
import { loadPolicy, type LoadedTool } from "../policy/load-policy.js";
import { forgeToken } from "./forge-token.js";
import { flipBit, policyOnDisk, shadowPolicy, type ShadowArtifact } from "./shadow-policy.js";
import { requireTrust, trustedPublisherKey } from "./trust-keys.js";
import type { Probe, ProbeEnv, ProbeOutcome } from "./types.js";

/** Loads in `cordon prove`'s swap race: each is a full signed load of the policy (~5 ms for the example); the unit test beside policy-trust runs 10,000 on a one-tool policy. */
export const SWAP_RACE_LOADS = 250;

function codeOf(err: unknown): string {
  return err instanceof CordonError ? err.code : "error";
}

/** Runs `load`, expecting a refusal with `code`. */
async function refusedWith(code: string, load: () => Promise<unknown>, what: string): Promise<ProbeOutcome> {
  try {
    await load();
    return { stopped: false, detail: `${what} was ACCEPTED` };
  } catch (err) {
    if (!(err instanceof CordonError)) throw err;
    const stopped = err.code === code;
    return { stopped, detail: stopped ? `${what}: refused, ${err.code}` : `${what}: refused, but by another check: ${err.code}` };
  }
}

function audit(env: ProbeEnv) {
  return { append: (e: Parameters<ProbeEnv["runtime"]["record"]>[0]) => env.runtime.record(e) };
}

/** A copy of the data directory's pinned root and bundle in which the attacker adds a policy signer of their own. */
export const trustBundleTampered: Probe = async (env) => {
  const trust = requireTrust(env);
  const home = join(env.tmp, "home");
  mkdirSync(home, { mode: 0o700 });
  copyFileSync(trustRootPath(trust.dataDir), trustRootPath(home));
  chmodSync(trustRootPath(home), 0o644);
  const original = readFileSync(trustBundlePath(trust.dataDir));
  writeFileSync(trustBundlePath(home), original);
  const control = await loadTrustAudited(home, audit(env));
  if (control.sha256 !== trust.bundle.sha256) return { stopped: false, detail: "the copied bundle is not the one this run verified" };
  const envelope = JSON.parse(original.toString("utf8")) as { payload: string };
  const doc = JSON.parse(Buffer.from(envelope.payload, "base64").toString("utf8")) as { policySigners: Array<{ pem: string }> };
  const attacker = generateKeyPairSync("ed25519").publicKey.export({ type: "spki", format: "pem" }).toString();
  doc.policySigners.push({ pem: attacker });
  writeFileSync(trustBundlePath(home), JSON.stringify({ ...envelope, payload: Buffer.from(JSON.stringify(doc)).toString("base64") }));
  return refusedWith("ERR_SIGNATURE_INVALID", () => loadTrustAudited(home, audit(env)), "a bundle naming an extra policy signer, under the root's signature");
};

/** The signed policy with one limit raised a hundredfold, next to its genuine signature. */
export const policyTampered: Probe = async (env) => {
  const trust = requireTrust(env);
  const { path, bytes } = policyOnDisk(env.runtime);
  const text = bytes.toString("utf8");
  const widened = /wallClockMs: (\d+)/.test(text) ? text.replace(/wallClockMs: (\d+)/, (_m, ms: string) => `wallClockMs: ${Number(ms) * 100}`) : `${text}\n# tampered\n`;
  const copy = join(env.tmp, "policy.yaml");
  writeFileSync(copy, widened);
  writeFileSync(`${copy}.sig.json`, signatureFor(path, bytes, trust.dataDir));
  return refusedWith("ERR_SIGNATURE_INVALID", () => loadAudited(copy, audit(env), policyTrust(trust.bundle, trust.dataDir)), "the policy with a limit raised");
};

/** The policy's first module or script with one bit flipped, next to its genuine signature. */
export const signedModuleTampered: Probe = async (env) => {
  const trust = requireTrust(env);
  const shadow = shadowPolicy(env.runtime, trust.dataDir, join(env.tmp, "policy"));
  const target = shadow.artifacts[0];
  if (target === undefined) return { stopped: false, detail: "the policy names no module or script by a relative path" };
  // The untampered copy must load, or the refusal below would show nothing.
  loadPolicy(shadow.policyPath, policyTrust(trust.bundle, trust.dataDir));
  writeFileSync(target.path, flipBit(target.bytes));
  return refusedWith("ERR_SIGNATURE_INVALID", () => loadAudited(shadow.policyPath, audit(env), policyTrust(trust.bundle, trust.dataDir)), `${target.tool}'s artifact with a bit flipped`);
};

/**
 * This host has accepted version V+1 of the policy (signed with the publisher key); the
 * genuine, validly signed version V is then offered again. Versions are tracked in a copy.
 */
export const policyRollback: Probe = async (env) => {
  const trust = requireTrust(env);
  const publisher = trustedPublisherKey(trust);
  if (!publisher.ok) return { stopped: false, detail: publisher.unavailable, unavailable: publisher.unavailable };
  const { path, bytes } = policyOnDisk(env.runtime);
  const genuine = signatureFor(path, bytes, trust.dataDir);
  const version = verifySignedArtifact(bytes, genuine, "policy", trust.bundle.policySigners, path).version;
  if (version === null) return { stopped: false, detail: "the running policy's signature carries no version" };
  const state = join(env.tmp, "state");
  mkdirSync(state, { mode: 0o700 });
  const newer = join(env.tmp, "newer.yaml");
  writeFileSync(newer, bytes);
  writeFileSync(`${newer}.sig.json`, JSON.stringify(signArtifact(bytes, "policy.yaml", publisher.value, { kind: "policy", version: version + 1 })));
  policyTrust(trust.bundle, state).checkPolicy(newer, bytes);
  const older = join(env.tmp, "policy.yaml");
  writeFileSync(older, bytes);
  writeFileSync(`${older}.sig.json`, genuine);
  return refusedWith("ERR_ARTIFACT_ROLLBACK", () => loadAudited(older, audit(env), policyTrust(trust.bundle, state)), `policy version ${version} after version ${version + 1}`);
};

/**
 * Start-up's trust step with an environment that offers an attacker's trust root and issuer
 * key: the offer is recorded by name and ignored; the bundle is the pinned one, and a token
 * signed with the offered key is refused.
 */
export const keyEnvOffered: Probe = async (env) => {
  const trust = requireTrust(env);
  const attacker = generateKeyPairSync("ed25519");
  const rootPem = attacker.publicKey.export({ type: "spki", format: "pem" }).toString();
  const keyPem = attacker.privateKey.export({ type: "pkcs8", format: "pem" }).toString();
  const offered = { CORDON_HOME: trust.dataDir, CORDON_TRUST_ROOT: rootPem, CORDON_ISSUER_KEY: keyPem, PATH: "/usr/bin:/bin" };
  const before = env.runtime.audit.head?.seq ?? 0;
  const names = await recordEnvKeyOffers(offered, audit(env));
  const bundle = await loadTrustAudited(dataDir(offered), audit(env));
  const issuer = bundle.issuers[0];
  const role = [...env.runtime.policy.roles.keys()][0] ?? "";
  let tokenRefused = true;
  if (issuer !== undefined) {
    const now = Math.floor(Date.now() / 1000);
    const claims = { iss: issuer.issuer, aud: issuer.audience, sub: "prove-env", [issuer.roleClaim]: role, iat: now, exp: now + 300 };
    const token = forgeToken({ typ: "at+jwt" }, claims, { alg: "EdDSA", key: attacker.privateKey });
    tokenRefused = await createTokenVerifier(bundle, { roles: new Set(env.runtime.policy.roles.keys()) })(token).then(() => false, () => true);
  }
  const recorded = JSON.stringify(env.runtime.audit.recordsAfter(before));
  const leaked = [rootPem, keyPem].some((pem) => recorded.includes(pem.split("\n")[1] ?? pem));
  const ignored = names.includes("CORDON_TRUST_ROOT") && names.includes("CORDON_ISSUER_KEY") && bundle.sha256 === trust.bundle.sha256;
  const stopped = ignored && tokenRefused && !leaked;
  return {
    stopped,
    detail: stopped
      ? `${names.join(", ")} ignored (recorded by name only); the pinned bundle was loaded and a token signed with the offered key was refused`
      : `ignored=${String(ignored)} tokenRefused=${String(tokenRefused)} valueInAudit=${String(leaked)}`,
  };
};

function artifactBytes(tool: LoadedTool | undefined): Uint8Array | null {
  if (tool === undefined) return null;
  return tool.tier === "wasm" ? tool.moduleBytes : (tool.command.script?.bytes ?? null);
}

/**
 * A worker swaps the first module of a copy of the policy between its signed bytes and a
 * tampered version (rename(2)) while the policy is loaded again and again: every load must
 * either hold exactly the signed bytes or be refused. One summary record for the whole race.
 */
export const moduleSwapRace: Probe = async (env) => {
  const trust = requireTrust(env);
  const shadow = shadowPolicy(env.runtime, trust.dataDir, join(env.tmp, "policy"));
  const target: ShadowArtifact | undefined = shadow.artifacts[0];
  if (target === undefined) return { stopped: false, detail: "the policy names no module or script by a relative path" };
  writeFileSync(`${target.path}.good`, target.bytes);
  writeFileSync(`${target.path}.evil`, flipBit(target.bytes));
  const checker = policyTrust(trust.bundle, trust.dataDir);
  const counts = { verified: 0, refused: 0, unverified: 0, other: 0 };
  let otherCode = "";
  const swapper = await startFileSwapper({ target: target.path, good: `${target.path}.good`, evil: `${target.path}.evil` });
  let swaps = 0;
  try {
    for (let i = 0; i < SWAP_RACE_LOADS; i++) {
      try {
        const bytes = artifactBytes(loadPolicy(shadow.policyPath, checker).tools.get(target.tool));
        if (bytes !== null && sha256Hex(bytes) === target.sha256) counts.verified += 1;
        else counts.unverified += 1;
      } catch (err) {
        if (err instanceof SignatureInvalid) counts.refused += 1;
        else {
          counts.other += 1;
          otherCode = codeOf(err);
        }
      }
    }
  } finally {
    swaps = await swapper.stop();
  }
  await env.runtime.record({ type: "artifact.swap-refused", enforcer: "artifact-signature", tool: target.tool, loads: SWAP_RACE_LOADS, swaps, ...counts });
  const stopped = counts.unverified === 0 && counts.other === 0 && counts.refused > 0 && counts.verified > 0;
  const summary = `${SWAP_RACE_LOADS} loads during ${swaps} swaps: ${counts.verified} verified, ${counts.refused} refused, ${counts.unverified} with unverified bytes`;
  return { stopped, detail: counts.other > 0 ? `${summary}, ${counts.other} failed otherwise (${otherCode})` : summary };
};
