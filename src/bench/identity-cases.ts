// Identity costs: bearer-token verification per second (EdDSA and ES256, the strict verifier of
// src/identity/verify-token.ts on a frozen clock), and checking a detached DSSE signature over a
// 1 MiB artifact (hash + envelope + statement), the per-module cost of signed loading.
import { randomBytes } from "node:crypto";
import { bundleDocument, testIssuer, testRoot, TEST_AUDIENCE, TEST_ISSUER } from "../identity/bundle-fixture.js";
import { mintToken } from "../identity/mint-token.js";
import { signArtifact } from "../identity/sign-file.js";
import { parseTrustBundle, type TokenAlgorithm } from "../identity/trust-bundle.js";
import { verifySignedArtifact } from "../identity/verify-file.js";
import { createTokenVerifier } from "../identity/verify-token.js";
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
