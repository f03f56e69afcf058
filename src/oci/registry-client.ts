// A client of the OCI distribution API, written over node:http(s) (http-transport.ts): manifests
// (HEAD, GET, PUT), blobs (HEAD, GET streamed and hashed, monolithic and chunked uploads), tag
// listing with pagination, the referrers API, and the auth challenges (Basic, and Bearer with
// the token flow). Every byte read is under a cap; every digest is computed here, never taken
// from the registry's headers.
import { createHash } from "node:crypto";
import { OciNotFound, OciRegistryError, OciUnauthorized, OciDigestMismatch, OciManifestInvalid } from "./errors.js";
import { firstHeader, Transport, type Deadlines, type HttpRequest, type HttpResponse, type ReadOptions } from "./http-transport.js";
import type { RegistryCredentials } from "./credentials.js";
import { INDEX_MEDIA_TYPE, MANIFEST_MEDIA_TYPE, MAX_INDEX_BYTES } from "./media-types.js";
import { isLoopbackRegistry } from "./reference.js";

/** A descriptor: what a manifest says about a blob or another manifest. */
export interface Descriptor {
  readonly mediaType: string;
  readonly digest: string;
  readonly size: number;
  readonly artifactType?: string;
  readonly annotations?: Readonly<Record<string, string>>;
  readonly data?: string;
}

export interface FetchedManifest {
  readonly bytes: Buffer;
  readonly mediaType: string;
  /** sha256 of `bytes`, computed here. */
  readonly digest: string;
}

export interface RegistryClientOptions {
  readonly registry: string;
  readonly scheme: "http:" | "https:";
  readonly credentials?: RegistryCredentials | null;
  readonly deadlines?: Deadlines;
  /** Uploads larger than this go in chunks of this size (PATCH); smaller ones in one PUT. */
  readonly chunkBytes?: number;
}

const ACCEPT_MANIFESTS = [MANIFEST_MEDIA_TYPE, INDEX_MEDIA_TYPE].join(", ");
const MAX_TOKEN_RESPONSE = 64 * 1024;
const MAX_TAG_PAGES = 64;
export const DEFAULT_CHUNK_BYTES = 8 * 1024 * 1024;

export function sha256Digest(bytes: Uint8Array): string {
  return `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
}

interface Challenge {
  readonly scheme: string;
  readonly params: Readonly<Record<string, string>>;
}

/** Parses `WWW-Authenticate: Bearer realm="…",service="…",scope="…"` (one challenge). */
export function parseChallenge(value: string): Challenge | null {
  const m = /^\s*([A-Za-z]+)\s*(.*)$/.exec(value);
  if (m === null) return null;
  const params: Record<string, string> = {};
  for (const p of (m[2] ?? "").matchAll(/([A-Za-z_]+)="([^"]*)"/g)) params[(p[1] ?? "").toLowerCase()] = p[2] ?? "";
  return { scheme: (m[1] ?? "").toLowerCase(), params };
}

export class RegistryClient {
  readonly origin: string;
  readonly #transport: Transport;
  readonly #credentials: RegistryCredentials | null;
  readonly #chunkBytes: number;
  /** Bearer tokens by scope, for this client's life only. */
  readonly #tokens = new Map<string, string>();
  #basic = false;
  /** Whether this registry serves the referrers API, once asked. */
  #referrersApi: boolean | null = null;

  constructor(opts: RegistryClientOptions) {
    this.origin = `${opts.scheme}//${opts.registry}`;
    this.#transport = new Transport(opts.deadlines);
    this.#credentials = opts.credentials ?? null;
    this.#chunkBytes = opts.chunkBytes ?? DEFAULT_CHUNK_BYTES;
  }

  close(): void {
    this.#transport.close();
  }

  #url(path: string): URL {
    return new URL(path, this.origin);
  }

  /** Sends with the credentials this registry asked for; answers one challenge per request. */
  async #send(req: HttpRequest, scope: string): Promise<HttpResponse> {
    const withAuth = (): HttpRequest => {
      const token = this.#tokens.get(scope);
      const auth = token !== undefined ? `Bearer ${token}` : this.#basic ? this.#credentials?.basicHeader() : undefined;
      return auth === undefined || auth === null ? req : { ...req, headers: { ...req.headers, authorization: auth } };
    };
    const res = await this.#transport.send(withAuth());
    if (res.status !== 401) return res;
    await res.discard();
    const challenge = parseChallenge(firstHeader(res.headers, "www-authenticate") ?? "");
    if (challenge === null) throw new OciUnauthorized(this.origin, "none", "401 without a challenge");
    if (challenge.scheme === "basic") {
      if (this.#basic || this.#credentials?.basicHeader() == null) throw new OciUnauthorized(this.origin, "basic", this.#basic ? "the credentials were refused" : "no username/password configured for this registry");
      this.#basic = true;
    } else if (challenge.scheme === "bearer") {
      if (this.#tokens.has(scope)) throw new OciUnauthorized(this.origin, "bearer", "the token was refused");
      this.#tokens.set(scope, await this.#token(challenge, scope));
    } else {
      throw new OciUnauthorized(this.origin, challenge.scheme.slice(0, 16), "an unsupported challenge");
    }
    const again = await this.#transport.send(withAuth());
    if (again.status === 401) {
      await again.discard();
      throw new OciUnauthorized(this.origin, challenge.scheme, "the credentials were refused");
    }
    return again;
  }

  /** The Bearer token flow: GET realm?service&scope, with Basic credentials only where the realm may have them. */
  async #token(challenge: Challenge, scope: string): Promise<string> {
    const creds = this.#credentials;
    const direct = creds?.bearerHeader();
    if (direct !== undefined && direct !== null) return direct.slice("Bearer ".length);
    const realmText = challenge.params["realm"];
    if (realmText === undefined) throw new OciUnauthorized(this.origin, "bearer", "the challenge names no realm");
    let realm: URL;
    try {
      realm = new URL(realmText);
    } catch {
      throw new OciUnauthorized(this.origin, "bearer", "the realm is not a URL");
    }
    if (realm.protocol !== "https:" && !(realm.protocol === "http:" && isLoopbackRegistry(realm.host))) throw new OciUnauthorized(this.origin, "bearer", "the realm is neither https nor loopback");
    const sameHost = realm.hostname === new URL(this.origin).hostname;
    const listed = creds?.tokenRealms.some((r) => new URL(r).origin === realm.origin) ?? false;
    const basic = sameHost || listed ? creds?.basicHeader() : null;
    if (challenge.params["service"] !== undefined) realm.searchParams.set("service", challenge.params["service"]);
    realm.searchParams.set("scope", challenge.params["scope"] ?? scope);
    const res = await this.#transport.send({ method: "GET", url: realm, headers: basic === null || basic === undefined ? {} : { authorization: basic } });
    const body = await res.read({ what: "the token service's answer", cap: MAX_TOKEN_RESPONSE });
    if (res.status !== 200) throw new OciUnauthorized(this.origin, "bearer", `the token service answered ${res.status}`);
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString("utf8"));
    } catch {
      throw new OciUnauthorized(this.origin, "bearer", "the token service's answer is not JSON");
    }
    const token = (parsed as { token?: unknown; access_token?: unknown }).token ?? (parsed as { access_token?: unknown }).access_token;
    if (typeof token !== "string" || token.length === 0 || token.length > 16384 || !/^[\x21-\x7e]+$/.test(token)) throw new OciUnauthorized(this.origin, "bearer", "the token service gave no usable token");
    return token;
  }

  async #expect(res: HttpResponse, ok: readonly number[], operation: string, what: string): Promise<void> {
    if (ok.includes(res.status)) return;
    let registryCode: string | null = null;
    try {
      const body = await res.read({ what: "an error document", cap: 16 * 1024 });
      const errors = (JSON.parse(body.toString("utf8")) as { errors?: Array<{ code?: unknown }> }).errors;
      const c = errors?.[0]?.code;
      registryCode = typeof c === "string" && /^[A-Z_]{1,64}$/.test(c) ? c : null;
    } catch {
      // not a distribution error document
    }
    if (res.status === 404) throw new OciNotFound(what);
    throw new OciRegistryError(this.origin, operation, res.status, registryCode);
  }

  /** GET /v2/: reachable, and speaking the distribution API (auth answered as needed). */
  async ping(): Promise<void> {
    const res = await this.#send({ method: "GET", url: this.#url("/v2/") }, "registry:catalog:*");
    await res.discard();
    if (res.status !== 200) throw new OciRegistryError(this.origin, "GET /v2/", res.status, null);
  }

  /** HEAD a manifest: its digest (as the registry says; a tag's resolution is re-checked by the GET) or null. */
  async headManifest(repository: string, ref: string): Promise<{ digest: string; size: number; mediaType: string } | null> {
    const res = await this.#send({ method: "HEAD", url: this.#url(`/v2/${repository}/manifests/${ref}`), headers: { accept: ACCEPT_MANIFESTS } }, `repository:${repository}:pull`);
    await res.discard();
    if (res.status === 404) return null;
    await this.#expect(res, [200], "HEAD manifest", `manifest ${repository}:${ref}`);
    const digest = firstHeader(res.headers, "docker-content-digest") ?? "";
    return { digest, size: Number(firstHeader(res.headers, "content-length") ?? "0"), mediaType: firstHeader(res.headers, "content-type") ?? "" };
  }

  /**
   * GET a manifest or index by tag or digest, under `cap`. By digest, the bytes must hash to it;
   * by tag, the digest is computed here from the bytes (never taken from a header).
   */
  async getManifest(repository: string, ref: string, cap: number = MAX_INDEX_BYTES, expectedSize?: number): Promise<FetchedManifest> {
    const what = `manifest ${repository}${ref.startsWith("sha256:") ? "@" : ":"}${ref}`;
    const res = await this.#send({ method: "GET", url: this.#url(`/v2/${repository}/manifests/${ref}`), headers: { accept: ACCEPT_MANIFESTS } }, `repository:${repository}:pull`);
    await this.#expect(res, [200], "GET manifest", what);
    const bytes = await res.read({ what, cap, ...(expectedSize === undefined ? {} : { expected: expectedSize }) });
    const digest = sha256Digest(bytes);
    if (ref.startsWith("sha256:") && digest !== ref) throw new OciDigestMismatch(what, ref, digest);
    const mediaType = (firstHeader(res.headers, "content-type") ?? "").split(";")[0]?.trim() ?? "";
    return { bytes, mediaType, digest };
  }

  async putManifest(repository: string, ref: string, bytes: Uint8Array, mediaType: string): Promise<{ digest: string; subjectProcessed: boolean }> {
    const res = await this.#send({ method: "PUT", url: this.#url(`/v2/${repository}/manifests/${ref}`), headers: { "content-type": mediaType }, body: bytes }, `repository:${repository}:pull,push`);
    await this.#expect(res, [201], "PUT manifest", `manifest ${repository}:${ref}`);
    await res.discard();
    return { digest: sha256Digest(bytes), subjectProcessed: firstHeader(res.headers, "oci-subject") !== undefined };
  }

  async blobExists(repository: string, digest: string): Promise<boolean> {
    const res = await this.#send({ method: "HEAD", url: this.#url(`/v2/${repository}/blobs/${digest}`) }, `repository:${repository}:pull`);
    await res.discard();
    if (res.status === 404) return false;
    await this.#expect(res, [200], "HEAD blob", `blob ${digest}`);
    return true;
  }

  /** Streams a blob: `read` gets the descriptor's exact size as `expected` (more is refused mid-stream, less is truncated). */
  async getBlob(repository: string, desc: Pick<Descriptor, "digest" | "size">, opts: Omit<ReadOptions, "expected">): Promise<Buffer> {
    const res = await this.#send({ method: "GET", url: this.#url(`/v2/${repository}/blobs/${desc.digest}`) }, `repository:${repository}:pull`);
    await this.#expect(res, [200], "GET blob", `blob ${desc.digest}`);
    return res.read({ ...opts, expected: desc.size });
  }

  /**
   * Uploads a blob unless the registry has it. Small blobs go in one PUT (POST, then PUT with
   * the digest); larger ones in PATCH chunks of chunkBytes read through `chunkAt`.
   */
  async pushBlob(repository: string, digest: string, size: number, chunkAt: (offset: number, length: number) => Uint8Array): Promise<"exists" | "monolithic" | "chunked"> {
    if (await this.blobExists(repository, digest)) return "exists";
    const scope = `repository:${repository}:pull,push`;
    const started = await this.#send({ method: "POST", url: this.#url(`/v2/${repository}/blobs/uploads/`) }, scope);
    await this.#expect(started, [202], "POST upload", `upload to ${repository}`);
    await started.discard();
    let location = this.#location(started);
    const chunked = size > this.#chunkBytes;
    if (chunked) {
      for (let offset = 0; offset < size; offset += this.#chunkBytes) {
        const bytes = chunkAt(offset, Math.min(this.#chunkBytes, size - offset));
        const res = await this.#send({ method: "PATCH", url: location, headers: { "content-type": "application/octet-stream", "content-range": `${offset}-${offset + bytes.byteLength - 1}` }, body: bytes }, scope);
        await this.#expect(res, [202], "PATCH upload", `upload of ${digest}`);
        await res.discard();
        location = this.#location(res);
      }
    }
    location.searchParams.set("digest", digest);
    const body = chunked ? undefined : chunkAt(0, size);
    const res = await this.#send({ method: "PUT", url: location, headers: { "content-type": "application/octet-stream" }, ...(body === undefined ? {} : { body }) }, scope);
    await this.#expect(res, [201], "PUT upload", `upload of ${digest}`);
    await res.discard();
    return chunked ? "chunked" : "monolithic";
  }

  #location(res: HttpResponse): URL {
    const loc = firstHeader(res.headers, "location");
    if (loc === undefined) throw new OciRegistryError(this.origin, "upload", res.status, "NO_LOCATION");
    const url = new URL(loc, this.origin);
    // An upload continues at the registry it started at; a Location elsewhere would receive the blob.
    if (url.origin !== this.origin) throw new OciRegistryError(this.origin, "upload", res.status, "FOREIGN_LOCATION");
    return url;
  }

  /** Every tag of a repository, following `Link: <…>; rel="next"` pages within this registry. */
  async listTags(repository: string): Promise<string[]> {
    const tags: string[] = [];
    let url: URL | null = this.#url(`/v2/${repository}/tags/list?n=1000`);
    for (let page = 0; url !== null && page < MAX_TAG_PAGES; page++) {
      const res = await this.#send({ method: "GET", url }, `repository:${repository}:pull`);
      await this.#expect(res, [200], "GET tags", `repository ${repository}`);
      const body = await res.read({ what: "a tag list", cap: MAX_INDEX_BYTES });
      const list = (JSON.parse(body.toString("utf8")) as { tags?: unknown }).tags;
      if (Array.isArray(list)) for (const t of list) if (typeof t === "string") tags.push(t);
      const next = /<([^>]+)>;\s*rel="next"/.exec(firstHeader(res.headers, "link") ?? "")?.[1];
      url = next === undefined ? null : new URL(next, this.origin);
      if (url !== null && url.origin !== this.origin) url = null;
    }
    return tags;
  }

  /**
   * The referrers of `digest` through the OCI 1.1 referrers API, or null when this registry
   * has no such endpoint (a 404 that is not an index): then the referrers tag schema applies.
   */
  async referrersApi(repository: string, digest: string): Promise<FetchedManifest | null> {
    if (this.#referrersApi === false) return null;
    const res = await this.#send({ method: "GET", url: this.#url(`/v2/${repository}/referrers/${digest}`), headers: { accept: INDEX_MEDIA_TYPE } }, `repository:${repository}:pull`);
    const type = (firstHeader(res.headers, "content-type") ?? "").split(";")[0]?.trim();
    if (res.status === 200 && type === INDEX_MEDIA_TYPE) {
      this.#referrersApi = true;
      const bytes = await res.read({ what: `referrers of ${digest}`, cap: MAX_INDEX_BYTES });
      return { bytes, mediaType: INDEX_MEDIA_TYPE, digest: sha256Digest(bytes) };
    }
    await res.discard();
    if (res.status === 404 || res.status === 400 || res.status === 405) {
      this.#referrersApi = false;
      return null;
    }
    throw new OciRegistryError(this.origin, "GET referrers", res.status, null);
  }

  /** Whether this client has found the referrers API (null: not asked yet). */
  get hasReferrersApi(): boolean | null {
    return this.#referrersApi;
  }
}

/** Parses bytes as JSON, refusing anything that is not an object. */
export function parseJsonObject(bytes: Uint8Array, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(bytes).toString("utf8"));
  } catch {
    throw new OciManifestInvalid(what, "not JSON");
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new OciManifestInvalid(what, "not a JSON object");
  return value as Record<string, unknown>;
}
