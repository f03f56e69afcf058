// Sessions per GiB for both granularities, derived from the memory rows: per-session divides a
// GiB by one idle cell, per-role fits a line through a role cell's readings at several session
// counts and divides what is left of a GiB after the cell by the cost of one more session.
import { PER_ROLE_SESSION_BUDGET } from "../cell/cell-factory.js";
import { mb, MIB } from "./cell-memory.js";
import { failedRow, type Row, type ValueRow } from "./rows.js";

const GIB = 1024 * MIB;

/** Bytes as MiB with two decimals, for per-session costs well under 1 MB. */
export const mb2 = (bytes: number): number => Math.round((bytes / MIB) * 100) / 100;

/** Bytes as whole KiB. */
export const kb = (bytes: number): number => Math.round(bytes / 1024);

/** Least-squares line through (sessions, bytes): bytes per extra session and the intercept. */
export function fitLine(points: readonly { readonly x: number; readonly y: number }[]): { slope: number; intercept: number } {
  const n = points.length;
  if (n < 2) throw new RangeError("fitLine: need two points");
  const mx = points.reduce((s, p) => s + p.x, 0) / n;
  const my = points.reduce((s, p) => s + p.y, 0) / n;
  const sxx = points.reduce((s, p) => s + (p.x - mx) ** 2, 0);
  const sxy = points.reduce((s, p) => s + (p.x - mx) * (p.y - my), 0);
  if (sxx === 0) throw new RangeError("fitLine: all points at one x");
  const slope = sxy / sxx;
  return { slope, intercept: my - slope * mx };
}

function perSessionDensity(idle: ValueRow | undefined): Row {
  const base = { id: "cells.sessions-per-gib.per-session", section: "cells", label: "sessions per GiB, per-session (1 GiB / one cell)" } as const;
  const num = (key: string) => {
    const v = idle?.data?.[key];
    return typeof v === "number" && v > 0 ? v : null;
  };
  const rss = num("rssBytes");
  if (rss === null) return failedRow(base, new Error("no idle per-session cell reading (cells.idle-rss)"));
  const pss = num("pssBytes");
  const uss = num("ussBytes");
  const data: Record<string, number | string> = { byRss: Math.floor(GIB / rss) };
  if (pss !== null) data["byPss"] = Math.floor(GIB / pss);
  if (uss !== null) data["byUss"] = Math.floor(GIB / uss);
  return {
    ...base,
    kind: "value",
    value: Math.floor(GIB / rss),
    unit: "sessions/GiB",
    detail: [`by RSS (${mb(rss)} MB)`, ...(pss === null ? [] : [`by PSS ${data["byPss"]} (${mb(pss)} MB)`]), ...(uss === null ? [] : [`by USS ${data["byUss"]} (${mb(uss)} MB)`])].join(", "),
    data,
    note: "RSS is the conservative figure: on one host every cell maps the same node binary and libraries from the page cache, so a further cell really costs between its USS (pages only it maps) and its RSS",
  };
}

function perRoleDensity(fit: ValueRow | undefined): Row {
  const base = { id: "cells.sessions-per-gib.per-role", section: "cells", label: "sessions per GiB, per-role (one cell + N sessions)" } as const;
  const slope = fit?.data?.["slopeRssBytes"];
  const intercept = fit?.data?.["interceptRssBytes"];
  if (typeof slope !== "number" || typeof intercept !== "number") return failedRow(base, new Error("no per-role memory readings (cells.per-role.marginal)"));
  if (slope <= 0) return failedRow(base, new Error(`memory per extra session not measurable: RSS slope ${slope} bytes`));
  const n = Math.floor((GIB - intercept) / slope);
  const caps = fit?.data?.["wasmCapBytesPerSession"];
  const atCaps = typeof caps === "number" && caps > 0 ? Math.floor((GIB - intercept) / (slope + caps)) : null;
  const data: Record<string, number | string> = { sessions: n, cellBytes: intercept, perSessionBytes: slope };
  if (atCaps !== null) data["sessionsAtWasmCaps"] = atCaps;
  return {
    ...base,
    kind: "value",
    value: n,
    unit: "sessions/GiB",
    detail: [`(1 GiB - ${mb(intercept)} MB for the cell) / ${kb(slope)} KB per session, by RSS`, ...(atCaps === null ? [] : [`${atCaps} if every session filled its tools' Wasm memory caps (+${mb2(Number(caps))} MB each)`])].join("; "),
    data,
    note: `one role; each further role adds one cell. The per-role cell's cgroup memory limit is sized for ${PER_ROLE_SESSION_BUDGET} sessions at their tools' Wasm memory caps: sessions that use their whole caps reach it sooner, and an OOM kill ends every session in the cell`,
  };
}

/** Sessions per GiB for both granularities, from the idle per-session and the per-role readings. */
export function sessionsPerGiB(rows: readonly Row[]): Row[] {
  const value = (id: string) => {
    const r = rows.find((x) => x.id === id);
    return r?.kind === "value" ? r : undefined;
  };
  return [perSessionDensity(value("cells.idle-rss")), perRoleDensity(value("cells.per-role.marginal"))];
}
