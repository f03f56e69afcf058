// cordon never reads a key, token or trust root from the environment. When the environment
// offers one anyway (CORDON_TRUST_ROOT=..., SOMETHING_PRIVATE_KEY=...), cordon ignores it and
// says so in the audit log, by name only: the values are never read into a record.
import type { AuditEvent, AuditRecord } from "../audit/index.js";

const CORDON_SENSITIVE = /KEY|TOKEN|SECRET|TRUST|JWK|PEM|PASSWORD|CREDENTIAL|SIGNER|ISSUER/;
const GENERIC_SENSITIVE = /PRIVATE_?KEY/;

/**
 * Names (never values) of environment variables that look like they carry keys, tokens or
 * trust material for cordon: any `CORDON_*` naming a key, token, secret, trust root, JWK,
 * signer or issuer, and any `*PRIVATE_KEY*`. Sorted, for stable audit records.
 */
export function envKeyOffers(env: Readonly<Record<string, string | undefined>>): string[] {
  const names: string[] = [];
  for (const name of Object.keys(env)) {
    const upper = name.toUpperCase();
    if ((upper.startsWith("CORDON_") && CORDON_SENSITIVE.test(upper.slice("CORDON_".length))) || GENERIC_SENSITIVE.test(upper)) names.push(name);
  }
  return names.sort();
}

/** The audit event recording that offered names were ignored, or null when none were offered. */
export function envKeyOffersEvent(names: readonly string[]): AuditEvent | null {
  if (names.length === 0) return null;
  return { type: "key.env-ignored", enforcer: "key-source", variables: [...names], count: names.length };
}

/** Records the offered names once (enforcer key-source) and returns them; no value is ever read into anything. */
export async function recordEnvKeyOffers(env: Readonly<Record<string, string | undefined>>, audit: { append(event: AuditEvent): Promise<AuditRecord> }): Promise<string[]> {
  const names = envKeyOffers(env);
  const event = envKeyOffersEvent(names);
  if (event !== null) await audit.append(event);
  return names;
}
