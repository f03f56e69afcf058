// A cell's answers to resource requests, decoded as untrusted input: shapes checked, sizes and
// counts bounded. A malformed answer is WireInvalid (the caller treats the cell as hostile).
import type { Json } from "../errors.js";
import type { JailedEntry, JailedResult, JailedStat } from "../wasm/wasi/jailed-files.js";
import { MAX_LISTED } from "../wasm/wasi/jailed-files.js";
import { WireInvalid } from "./wire.js";

type Obj = Record<string, Json>;

const isObj = (v: Json | undefined): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
const count = (v: Json | undefined, what: string): number => {
  if (typeof v !== "number" || !Number.isFinite(v) || v < 0 || v > Number.MAX_SAFE_INTEGER) throw new WireInvalid(what);
  return v;
};
const text = (v: Json | undefined, what: string, max: number): string => {
  if (typeof v !== "string" || v.length > max) throw new WireInvalid(what);
  return v;
};

function failure<T>(r: Obj): JailedResult<T> {
  return { ok: false, denied: r["denied"] === true, code: text(r["code"], "resource.code", 64) };
}

function answer(v: Json): Obj {
  if (!isObj(v) || typeof v["ok"] !== "boolean") throw new WireInvalid("resource answer");
  return v;
}

export function listFromWire(v: Json): JailedResult<JailedEntry[]> {
  const r = answer(v);
  if (r["ok"] !== true) return failure(r);
  const entries = r["entries"];
  if (!Array.isArray(entries) || entries.length > MAX_LISTED) throw new WireInvalid("resource.entries");
  return {
    ok: true,
    value: entries.map((e, i) => {
      if (!isObj(e) || (e["kind"] !== "file" && e["kind"] !== "dir")) throw new WireInvalid(`resource.entries[${i}]`);
      const path = text(e["path"], "resource.path", 4096);
      if (path === "" || path.startsWith("/") || path.split("/").some((c) => c === "" || c === "." || c === "..")) throw new WireInvalid("resource.path");
      return { path, kind: e["kind"], size: count(e["size"], "resource.size"), mtimeMs: count(e["mtimeMs"], "resource.mtimeMs") };
    }),
  };
}

export function readFromWire(v: Json, maxBytes: number): JailedResult<{ bytes: Uint8Array; mtimeMs: number }> {
  const r = answer(v);
  if (r["ok"] !== true) return failure(r);
  const bytes = new Uint8Array(Buffer.from(text(r["data"], "resource.data", Math.ceil((maxBytes * 4) / 3) + 4), "base64"));
  if (bytes.byteLength > maxBytes) throw new WireInvalid("resource.data exceeds the cap");
  return { ok: true, value: { bytes, mtimeMs: count(r["mtimeMs"], "resource.mtimeMs") } };
}

export function statFromWire(v: Json): JailedResult<JailedStat> {
  const r = answer(v);
  if (r["ok"] !== true) return failure(r);
  return { ok: true, value: { size: count(r["size"], "resource.size"), mtimeMs: count(r["mtimeMs"], "resource.mtimeMs"), ino: text(r["ino"], "resource.ino", 32) } };
}
