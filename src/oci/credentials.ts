// Registry credentials: read only from an owner-only file in cordon's data directory
// (registry-auth.json, mode 0600, like a private key), never from argv or the environment, and
// never written to a log, an error or an audit record. (The secret store of the egress issue
// may replace the file; the shape of `RegistryCredentials` stays.)
//
//   { "registries": { "registry.example:5000": { "username": "ci", "password": "…" },
//                     "other.example": { "token": "…", "tokenRealms": ["https://auth.other.example"] } } }
//
// `username`/`password` answer a Basic challenge and authenticate to the token service of a
// Bearer challenge; `token` is sent as a Bearer token as it is. A Bearer challenge's realm
// gets the credentials only when it is on the registry's own host or listed in `tokenRealms`.
import { join } from "node:path";
import { inspect } from "node:util";
import { z } from "zod";
import { currentUid, readCheckedFile } from "../crypto/file-trust.js";
import { OciCredentialsUnusable } from "./errors.js";

export const REGISTRY_AUTH_FILE = "registry-auth.json";

const entrySchema = z
  .object({
    username: z.string().min(1).max(256).optional(),
    password: z.string().min(1).max(4096).optional(),
    token: z.string().min(1).max(16384).optional(),
    tokenRealms: z.array(z.url().max(512)).max(8).optional(),
  })
  .strict()
  .refine((e) => (e.username === undefined) === (e.password === undefined), "username and password go together")
  .refine((e) => e.token === undefined || e.username === undefined, "give either username/password or token");

const fileSchema = z.object({ registries: z.record(z.string().min(1).max(300), entrySchema) }).strict();

/** One registry's credentials. The secret is held privately and never serialised or inspected. */
export class RegistryCredentials {
  readonly #basic: string | null;
  readonly #token: string | null;
  constructor(entry: { username?: string | undefined; password?: string | undefined; token?: string | undefined }, readonly tokenRealms: readonly string[] = []) {
    this.#basic = entry.username !== undefined && entry.password !== undefined ? Buffer.from(`${entry.username}:${entry.password}`, "utf8").toString("base64") : null;
    this.#token = entry.token ?? null;
  }
  /** `Authorization: Basic …` for this registry (or its token service), if configured. */
  basicHeader(): string | null {
    return this.#basic === null ? null : `Basic ${this.#basic}`;
  }
  /** A static bearer token, if configured. */
  bearerHeader(): string | null {
    return this.#token === null ? null : `Bearer ${this.#token}`;
  }
  toJSON(): string {
    return "[registry credentials]";
  }
  [inspect.custom](): string {
    return "[registry credentials]";
  }
}

export function registryAuthPath(dataDir: string): string {
  return join(dataDir, REGISTRY_AUTH_FILE);
}

/** The credentials for `registry` (host[:port]) from the file, or null when the file or the entry is absent. */
export function loadRegistryCredentials(path: string, registry: string, uid = currentUid()): RegistryCredentials | null {
  const read = readCheckedFile(path, "secret", uid);
  if (!read.ok) {
    if (read.missing) return null;
    throw new OciCredentialsUnusable(path, read.reason);
  }
  let value: unknown;
  try {
    value = JSON.parse(read.bytes.toString("utf8"));
  } catch {
    throw new OciCredentialsUnusable(path, "not JSON");
  } finally {
    read.bytes.fill(0);
  }
  const parsed = fileSchema.safeParse(value);
  // zod's issues name paths and rules, never values; still, only the paths are kept.
  if (!parsed.success) throw new OciCredentialsUnusable(path, `not a credentials document (${parsed.error.issues.map((i) => i.path.join(".")).join(", ")})`);
  const entry = parsed.data.registries[registry];
  return entry === undefined ? null : new RegistryCredentials(entry, entry.tokenRealms ?? []);
}
