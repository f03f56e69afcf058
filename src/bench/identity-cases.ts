// Identity costs: bearer-token verification per second (EdDSA and ES256, the strict verifier of
// src/identity/verify-token.ts on a frozen clock), and checking a detached DSSE signature over a
// 1 MiB artifact (hash + envelope + statement), the per-module cost of signed loading.
import { randomBytes } from "node:crypto";
import { bundleDocument, testIssuer, testRoot, TEST_AUDIENCE, TEST_ISSUER } from "../testing/bundle-fixture.js";
import { mintToken } from "../authn/mint-token.js";
import { signArtifact } from "../artifacts/sign-file.js";
import { parseTrustBundle, type TokenAlgorithm } from "../artifacts/trust-bundle.js";
import { verifySignedArtifact } from "../artifacts/verify-file.js";
import { createTokenVerifier } from "../authn/verify-token.js";
import { checkLaunch } from "../attest/launch-format.js";
import { newLaunchKey, signLaunch } from "../attest/launch-statement.js";
import { timeAsync, timeSync, type Plan } from "./measure.js";
import { failedRow, type Row, type TimingRow } from "./rows.js";

const TOKEN_PLAN: Plan = { warmup: 500, iterations: 5000 };
const ARTIFACT_PLAN: Plan = { warmup: 20, iterations: 300 };
const NOW_MS = 1_750_000_000_000;
const TOKEN_NOTE = "Each iteration verifies one distinct, valid token (pre-minted; signature, iss, aud, exp/iat/nbf, typ, role); ops/s is 1 / mean.";

async function benchTokens(alg: TokenAlgorithm): Promise<TimingRow> {
  const issuer = await testIssuer(alg);
  const bundle = parseTrustBundle(Buffer.from(JSON.stringify(bundleDocument([issuer]))));
  const verify = createTokenVerifier(bundle, { roles: new Set(["analyst"]), now: () => NOW_MS });
  const tokens = await Promise.all(
    Array.from({ length: 256 }, (_, i) =>
      mintToken({ privateKey: issuer.privateKey, issuer: TEST_ISSUER, audience: TEST_AUDIENCE, subject: `agent-${i}`, role: "analyst", ttlSec: 600, now: () => NOW_MS }),
    ),
  );
  const stats = await timeAsync(TOKEN_PLAN, async (i) => {
    const p = await verify(tokens[i % tokens.length] as string);
    if (p.role !== "analyst") throw new Error("token verification returned the wrong role");
  });
  return {
    id: `identity.token.${alg.toLowerCase()}`,
    section: "identity",
    label: `token verification, ${alg}`,
    note: TOKEN_NOTE,
    kind: "timing",
    stats,
    callsPerSecond: Math.round(1e6 / stats.meanUs),
  };
}

function benchArtifact(): TimingRow {
  const root = testRoot();
  const bytes = randomBytes(1024 * 1024);
  const envelope = Buffer.from(JSON.stringify(signArtifact(bytes, "module.wasm", root, { kind: "module" })));
  const stats = timeSync(ARTIFACT_PLAN, () => {
    verifySignedArtifact(bytes, envelope, "module", root.trusted);
  });
  return {
    id: "identity.artifact.1mib",
    section: "identity",
    label: "signed artifact check, 1 MiB (sha256 + DSSE Ed25519 + statement)",
    kind: "timing",
    stats,
    callsPerSecond: Math.round(1e6 / stats.meanUs),
  };
}

/**
 * Attested launch, per session: the control plane signs the statement (canonical JSON, DSSE,
 * Ed25519) and the cell checks it (signature, then every module digest against the bytes it
 * holds). The example analyst role's two modules and limits; digests already known.
 */
function benchLaunch(): TimingRow[] {
  const key = newLaunchKey();
  const modules = new Map([["text-stats", "a".repeat(64)], ["notes", "b".repeat(64)]]);
  const subject = [...modules].map(([name, sha256]) => ({ name, digest: { sha256 } }));
  const limits = { memoryBytes: 2097152, fuel: 200000000, wallClockMs: 500, inputBytes: 262144, outputBytes: 4096, moduleBytes: 8388608, maxFunctions: 20000, maxTableElements: 100000, maxOpenFiles: 16, pids: 16, diskBytes: 67108864 };
  const predicate = (session: string) => ({
    cellId: "cell-1", session, principalDigest: "c".repeat(64), role: "analyst", policySha256: "d".repeat(64), tier: "cell" as const,
    granularity: "per-session" as const, limits: { "text-stats": limits, notes: limits }, scripts: [], runtimeLockSha256: "e".repeat(64), launchedAt: new Date(NOW_MS).toISOString(),
  });
  const signed = Array.from({ length: 64 }, (_, i) => signLaunch(subject, predicate(`session-${i}`), key));
  const sign = timeSync(ARTIFACT_PLAN, (i) => {
    signLaunch(subject, predicate(`session-${i}`), key);
  });
  const check = timeSync(ARTIFACT_PLAN, (i) => {
    const s = signed[i % signed.length];
    if (s === undefined || checkLaunch(s.envelope, key.publicKey, { cellId: "cell-1", session: `session-${i % signed.length}`, modules }) !== null) throw new Error("launch statement refused");
  });
  return [
    { id: "identity.launch.sign", section: "identity", label: "launch statement: sign (control plane, per session)", kind: "timing", stats: sign, callsPerSecond: Math.round(1e6 / sign.meanUs) },
    { id: "identity.launch.check", section: "identity", label: "launch statement: check (cell, per session)", kind: "timing", stats: check, callsPerSecond: Math.round(1e6 / check.meanUs) },
  ];
}

export async function benchIdentity(): Promise<Row[]> {
  const rows: Row[] = [];
  for (const alg of ["EdDSA", "ES256"] as const) {
    const base = { id: `identity.token.${alg.toLowerCase()}`, section: "identity", label: `token verification, ${alg}` } as const;
    try {
      rows.push(await benchTokens(alg));
    } catch (err) {
      rows.push(failedRow(base, err));
    }
  }
  try {
    rows.push(...benchLaunch());
  } catch (err) {
    rows.push(failedRow({ id: "identity.launch", section: "identity", label: "launch attestation" }, err));
  }
  try {
    rows.push(benchArtifact());
  } catch (err) {
    rows.push(failedRow({ id: "identity.artifact.1mib", section: "identity", label: "signed artifact check, 1 MiB" }, err));
  }
  const rates = rows.filter((r): r is TimingRow => r.kind === "timing" && r.callsPerSecond !== undefined);
  rows.push({
    id: "identity.rates",
    section: "identity",
    label: "throughput (one core, sequential)",
    kind: "info",
    text: rates.map((r) => `${r.label}: ${r.callsPerSecond ?? 0}/s`).join("; "),
    data: Object.fromEntries(rates.map((r) => [r.id, r.callsPerSecond ?? 0])),
  });
  return rows;
}
