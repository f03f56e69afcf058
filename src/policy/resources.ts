// A role's resources, as data: each root is a read grant of one of the role's Wasm tools, named
// by a URI prefix. A URI maps to a path under the grant's mount by plain string arithmetic that
// normalises nothing: the path goes to the jail (in the session's cell) as written, so '..',
// an absolute path or a planted link is refused there, never resolved here. Pure.
import type { PolicyIssue } from "../errors.js";
import type { ResourceRootSpec, ToolSpec } from "./schema.js";

export interface TemplateSegment {
  readonly literal: string | null;
  readonly variable: string | null;
}

export interface LoadedResourceTemplate {
  readonly uriTemplate: string;
  readonly name: string;
  readonly description: string | null;
  readonly mimeType: string | null;
  /** The template after the root's prefix, one entry per path segment. */
  readonly segments: readonly TemplateSegment[];
}

export interface ResourceRoot {
  readonly mount: string;
  /** Every URI of the root starts with this. */
  readonly prefix: string;
  readonly description: string | null;
  /** Largest file served. */
  readonly maxBytes: number;
  readonly templates: readonly LoadedResourceTemplate[];
  /** The Wasm tool whose grant this is (the cell that serves the session binds it). */
  readonly tool: string;
}

export const DEFAULT_RESOURCE_MAX_BYTES = 1024 * 1024;
const VARIABLE = /^\{([A-Za-z][A-Za-z0-9_]{0,63})\}$/;

export function defaultPrefix(mount: string): string {
  return `file://${mount}/`;
}

function loadTemplate(t: ResourceRootSpec["templates"][number], prefix: string, at: string): LoadedResourceTemplate | PolicyIssue {
  if (!t.uriTemplate.startsWith(prefix)) return { path: `${at}.uriTemplate`, problem: `must start with the root's URI prefix ${prefix}` };
  const segments: TemplateSegment[] = [];
  const seen = new Set<string>();
  for (const seg of t.uriTemplate.slice(prefix.length).split("/")) {
    const v = VARIABLE.exec(seg);
    if (v?.[1] !== undefined) {
      if (seen.has(v[1])) return { path: `${at}.uriTemplate`, problem: `{${v[1]}} appears twice` };
      seen.add(v[1]);
      segments.push({ literal: null, variable: v[1] });
    } else if (seg.includes("{") || seg.includes("}") || seg === "" || seg === "." || seg === "..") {
      return { path: `${at}.uriTemplate`, problem: "each path segment is a name or exactly one {variable}" };
    } else {
      segments.push({ literal: seg, variable: null });
    }
  }
  if (seen.size === 0) return { path: `${at}.uriTemplate`, problem: "a template has at least one {variable}" };
  return Object.freeze({ uriTemplate: t.uriTemplate, name: t.name, description: t.description ?? null, mimeType: t.mimeType ?? null, segments: Object.freeze(segments) });
}

/**
 * The role's roots, or the problems: each mount must be an fs grant of one of the role's Wasm
 * tools (resources are read in the session's cell, through the jail); prefixes may not overlap.
 */
export function loadResourceRoots(specs: readonly ResourceRootSpec[], roleTools: ReadonlyArray<readonly [string, ToolSpec | undefined]>, path: string): ResourceRoot[] | PolicyIssue[] {
  const issues: PolicyIssue[] = [];
  const roots: ResourceRoot[] = [];
  specs.forEach((spec, i) => {
    const at = `${path}.${i}`;
    const holder = roleTools.find(([, t]) => t?.tier === "wasm" && t.grants.some((g) => (g.kind === "fs.read" || g.kind === "fs.write") && g.mount === spec.mount));
    if (holder === undefined) {
      issues.push({ path: `${at}.mount`, problem: `no Wasm tool of this role holds a read grant at ${spec.mount}: resources are read in the session's cell through the jail, so the grant must be a Wasm tool's` });
      return;
    }
    const prefix = spec.uri ?? defaultPrefix(spec.mount);
    const templates: LoadedResourceTemplate[] = [];
    spec.templates.forEach((t, j) => {
      const loaded = loadTemplate(t, prefix, `${at}.templates.${j}`);
      if ("problem" in loaded) issues.push(loaded);
      else templates.push(loaded);
    });
    roots.push(Object.freeze({ mount: spec.mount, prefix, description: spec.description ?? null, maxBytes: spec.maxBytes ?? DEFAULT_RESOURCE_MAX_BYTES, templates: Object.freeze(templates), tool: holder[0] }));
  });
  for (const a of roots) for (const b of roots) {
    if (a !== b && b.prefix.startsWith(a.prefix)) issues.push({ path, problem: `URI prefix ${b.prefix} overlaps ${a.prefix}` });
  }
  return issues.length > 0 ? issues : roots;
}

/**
 * The root a URI belongs to and the path under its mount, exactly as written (percent-decoded,
 * nothing normalised), or null for a URI under no root (or with a query, fragment or bad escape).
 */
export function resolveResourceUri(roots: readonly ResourceRoot[], uri: string): { root: ResourceRoot; path: string } | null {
  if (uri.length > 4096 || uri.includes("?") || uri.includes("#")) return null;
  const root = roots.find((r) => uri.startsWith(r.prefix));
  if (root === undefined) return null;
  try {
    return { root, path: decodeURIComponent(uri.slice(root.prefix.length)) };
  } catch {
    return null;
  }
}

/** A file's URI: the root's prefix and its path under the mount, each segment percent-encoded. */
export function resourceUri(root: ResourceRoot, path: string): string {
  return root.prefix + path.split("/").map(encodeURIComponent).join("/");
}

/**
 * Where completions for a template variable come from: the directory (a path under the mount,
 * "" for the mount itself) whose entries the variable's segment may name, once the variables
 * before it are known (from `known`); null when one of them is not.
 */
export function completionDirectory(t: LoadedResourceTemplate, variable: string, known: Readonly<Record<string, string>>): string | null {
  const at = t.segments.findIndex((s) => s.variable === variable);
  if (at < 0) return null;
  const parts: string[] = [];
  for (const s of t.segments.slice(0, at)) {
    const value = s.literal ?? (s.variable !== null && Object.hasOwn(known, s.variable) ? known[s.variable] : undefined);
    if (value === undefined || value === "" || value.includes("/")) return null;
    parts.push(value);
  }
  return parts.join("/");
}

/** A MIME type from a file's name, else from its first bytes; text when it decodes as UTF-8. */
export function mimeTypeOf(name: string, head: Uint8Array): string {
  const ext = /\.([A-Za-z0-9]{1,8})$/.exec(name)?.[1]?.toLowerCase();
  const byExt = ext === undefined ? undefined : MIME_BY_EXTENSION[ext];
  if (byExt !== undefined) return byExt;
  for (const [magic, type] of MAGIC) if (magic.every((b, i) => head[i] === b)) return type;
  return isUtf8Text(head) ? "text/plain" : "application/octet-stream";
}

/** Whether bytes are UTF-8 without NUL (served as text; anything else as a base64 blob). */
export function isUtf8Text(bytes: Uint8Array): boolean {
  if (bytes.includes(0)) return false;
  try {
    new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    return true;
  } catch {
    return false;
  }
}

const MIME_BY_EXTENSION: Readonly<Record<string, string>> = {
  txt: "text/plain", md: "text/markdown", csv: "text/csv", json: "application/json", yaml: "application/yaml", yml: "application/yaml",
  html: "text/html", xml: "application/xml", png: "image/png", jpg: "image/jpeg", jpeg: "image/jpeg", gif: "image/gif", webp: "image/webp",
  svg: "image/svg+xml", wav: "audio/wav", mp3: "audio/mpeg", ogg: "audio/ogg", pdf: "application/pdf", wasm: "application/wasm",
};

const MAGIC: ReadonlyArray<readonly [readonly number[], string]> = [
  [[0x89, 0x50, 0x4e, 0x47], "image/png"],
  [[0xff, 0xd8, 0xff], "image/jpeg"],
  [[0x47, 0x49, 0x46, 0x38], "image/gif"],
  [[0x52, 0x49, 0x46, 0x46], "audio/wav"],
  [[0x25, 0x50, 0x44, 0x46], "application/pdf"],
];
