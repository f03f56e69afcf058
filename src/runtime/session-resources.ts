// A session's resources: the files under its role's resource roots, listed, read and watched
// through the compartment that binds them (the session's cell, its jail), never through a host
// path in the control plane. Every read is recorded, and every refusal names resource-jail.
import { clip } from "../audit/fields.js";
import type { AuditEvent } from "../audit/index.js";
import { sha256Hex } from "../crypto/digest.js";
import { ResourceDenied, ResourceNotFound, type CordonError } from "../errors.js";
import { completionDirectory, isUtf8Text, mimeTypeOf, resolveResourceUri, resourceUri, type LoadedResourceTemplate, type ResourceRoot } from "../policy/resources.js";
import type { ResourceFiles } from "../tier/tool-host.js";
import type { JailedStat } from "../wasm/wasi/jailed-files.js";

export interface ListedResource {
  readonly uri: string;
  readonly name: string;
  readonly mimeType?: string;
  readonly size: number;
  readonly description?: string;
}

export interface ResourceContents {
  readonly uri: string;
  readonly mimeType: string;
  readonly text?: string;
  readonly blob?: string;
}

export type ResourceRead =
  | { readonly ok: true; readonly contents: ResourceContents; readonly auditSeq: number }
  | { readonly ok: false; readonly error: CordonError; readonly auditSeq: number };

/** How deep below a root resources/list looks. */
const LIST_DEPTH = 8;

/** The template a path under `root` matches, if any (for its declared MIME type). */
function templateOf(root: ResourceRoot, path: string): LoadedResourceTemplate | undefined {
  const parts = path.split("/");
  return root.templates.find((t) => t.segments.length === parts.length && t.segments.every((s, i) => s.literal === null || s.literal === parts[i]));
}

export class SessionResources {
  constructor(
    readonly roots: readonly ResourceRoot[],
    private readonly files: ResourceFiles | undefined,
    private readonly record: (event: AuditEvent) => Promise<number>,
  ) {}

  get offered(): boolean {
    return this.roots.length > 0;
  }

  /** Every regular file under every root (symlinks and special files are never listed). */
  async list(): Promise<ListedResource[]> {
    const out: ListedResource[] = [];
    for (const root of this.roots) {
      const listed = await this.files?.list(root.tool, root.mount, "", LIST_DEPTH, false);
      if (listed?.ok !== true) continue;
      for (const e of listed.value) {
        if (e.kind !== "file") continue;
        const mime = templateOf(root, e.path)?.mimeType ?? mimeTypeOf(e.path, new Uint8Array(0));
        out.push({ uri: resourceUri(root, e.path), name: e.path, size: e.size, ...(mime === "text/plain" && !/\.txt$/i.test(e.path) ? {} : { mimeType: mime }), ...(root.description === null ? {} : { description: root.description }) });
      }
    }
    return out;
  }

  templates(): { root: ResourceRoot; template: LoadedResourceTemplate }[] {
    return this.roots.flatMap((root) => root.templates.map((template) => ({ root, template })));
  }

  private async deny(uri: string, error: CordonError, enforced: boolean): Promise<ResourceRead> {
    const auditSeq = await this.record({ type: enforced ? "resource.denied" : "resource.failed", ...(enforced ? { enforcer: "resource-jail" as const } : {}), uri: clip(uri), code: error.code, ...(error instanceof ResourceDenied ? { reason: error.reason } : {}) });
    return { ok: false, error, auditSeq };
  }

  /** One file's contents: text when it is UTF-8, else base64. Recorded with its size and digest. */
  async read(uri: string): Promise<ResourceRead> {
    const at = resolveResourceUri(this.roots, uri);
    // Outside every root: nothing is opened, and the attempt is recorded as a refusal.
    if (at === null) return this.deny(uri, new ResourceDenied(clip(uri), "outside every resource root"), true);
    const got = await this.files?.read(at.root.tool, at.root.mount, at.path, at.root.maxBytes);
    if (got === undefined) return this.deny(uri, new ResourceNotFound(clip(uri)), false);
    if (!got.ok) {
      if (got.denied) return this.deny(uri, new ResourceDenied(clip(uri), got.code), true);
      return this.deny(uri, got.code === "ERR_LIMIT_EXCEEDED" ? new ResourceDenied(clip(uri), `larger than ${at.root.maxBytes} bytes`) : new ResourceNotFound(clip(uri)), got.code === "ERR_LIMIT_EXCEEDED");
    }
    const bytes = got.value.bytes;
    const mimeType = templateOf(at.root, at.path)?.mimeType ?? mimeTypeOf(at.path, bytes.subarray(0, 16));
    const text = isUtf8Text(bytes);
    const auditSeq = await this.record({ type: "resource.read", uri: clip(uri), bytes: bytes.byteLength, sha256: sha256Hex(bytes), mimeType: clip(mimeType), encoding: text ? "text" : "base64" });
    const contents: ResourceContents = text ? { uri, mimeType, text: new TextDecoder().decode(bytes) } : { uri, mimeType, blob: Buffer.from(bytes).toString("base64") };
    return { ok: true, contents, auditSeq };
  }

  /**
   * A file's state for change notifications (not recorded: nothing is read), or the refusal,
   * recorded like a read's. Used to check a subscription's URI and to poll it.
   */
  async stat(uri: string, recordRefusal: boolean): Promise<{ ok: true; stat: JailedStat } | { ok: false; error: CordonError }> {
    const at = resolveResourceUri(this.roots, uri);
    const fail = async (error: CordonError, enforced: boolean) => {
      if (recordRefusal) await this.deny(uri, error, enforced);
      return { ok: false as const, error };
    };
    if (at === null) return fail(new ResourceDenied(clip(uri), "outside every resource root"), true);
    const st = await this.files?.stat(at.root.tool, at.root.mount, at.path);
    if (st?.ok === true) return { ok: true, stat: st.value };
    if (st?.denied === true) return fail(new ResourceDenied(clip(uri), st.code), true);
    return fail(new ResourceNotFound(clip(uri)), false);
  }

  /** completion/complete for a template variable: entries of the directory its segment names. */
  async complete(uriTemplate: string, variable: string, value: string, known: Readonly<Record<string, string>>): Promise<string[]> {
    const found = this.templates().find((t) => t.template.uriTemplate === uriTemplate);
    if (found === undefined) return [];
    const dir = completionDirectory(found.template, variable, known);
    if (dir === null) return [];
    const listed = await this.files?.list(found.root.tool, found.root.mount, dir, 0, true);
    if (listed?.ok !== true) return [];
    const names = listed.value.map((e) => e.path.split("/").at(-1) ?? "").filter((n) => n.startsWith(value));
    return [...new Set(names)].slice(0, 100);
  }
}
