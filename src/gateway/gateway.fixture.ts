// Test helpers for the gateway: an Ed25519 issuer that mints tokens, and a cell runtime over
// the example policy. Tokens here are test-only; nothing in them is a real credential.
import { generateKeyPairSync, type KeyObject } from "node:crypto";
import { chmodSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SignJWT } from "jose";
import { AuditLog } from "../audit/index.js";
import { EXAMPLE_POLICY } from "../cli/defaults.js";
import { loadPolicy } from "../policy/load-policy.js";
import { Runtime } from "../runtime/runtime.js";
import { createInterimVerifier } from "./interim-verifier.js";

export const TEST_ISSUER = "https://issuer.test.cordon.invalid";

export interface TestIssuer {
  readonly issuer: string;
  readonly publicKey: KeyObject;
  readonly privateKey: KeyObject;
  /** A signed token; `claims` override the defaults (sub, role, aud, iat, exp). */
  mint(claims: Record<string, unknown> & { aud?: string; role?: string }, opts?: { alg?: string; key?: KeyObject; typ?: string }): Promise<string>;
}

export function makeIssuer(issuer = TEST_ISSUER): TestIssuer {
  const { publicKey, privateKey } = generateKeyPairSync("ed25519");
  return {
    issuer,
    publicKey,
    privateKey,
    async mint(claims, opts = {}) {
      const now = Math.floor(Date.now() / 1000);
      const body: Record<string, unknown> = { sub: "agent-1", role: "analyst", iat: now, exp: now + 600, ...claims };
      const jwt = new SignJWT(body).setProtectedHeader({ alg: opts.alg ?? "EdDSA", typ: opts.typ ?? "at+jwt" }).setIssuer(issuer);
      return jwt.sign(opts.key ?? privateKey);
    },
  };
}

/** A verifier factory for startHttpGateway, bound to one issuer. */
export function verifierFor(iss: TestIssuer) {
  return (audience: string) => createInterimVerifier({ issuer: iss.issuer, publicKey: iss.publicKey, audience });
}

export async function startCellRuntime(policyPath: string = EXAMPLE_POLICY): Promise<{ runtime: Runtime; audit: AuditLog }> {
  const audit = AuditLog.memory();
  const runtime = await Runtime.start({ policy: loadPolicy(policyPath), audit, isolation: "cell" });
  return { runtime, audit };
}

/** Writes `token` to a fresh owner-only file and returns its path. */
export function writeTokenFile(token: string, mode = 0o600): string {
  const path = join(mkdtempSync(join(tmpdir(), "cordon-token-")), "token");
  writeFileSync(path, `${token}\n`, { mode });
  chmodSync(path, mode);
  return path;
}
