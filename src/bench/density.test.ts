import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { fitLine, sessionsPerGiB } from "./density.js";
import type { Row } from "./rows.js";

const MIB = 1024 * 1024;

function value(id: string, data: Record<string, number | string>): Row {
  return { id, section: "cells", label: id, kind: "value", value: 0, unit: "MB", detail: "", data };
}

describe("fitLine", () => {
  it("recovers slope and intercept of points on a line", () => {
    fc.assert(
      fc.property(fc.integer({ min: -1e6, max: 1e6 }), fc.integer({ min: 0, max: 1e9 }), fc.uniqueArray(fc.integer({ min: 0, max: 1000 }), { minLength: 2, maxLength: 8 }), (slope, intercept, xs) => {
        const fit = fitLine(xs.map((x) => ({ x, y: intercept + slope * x })));
        assert.ok(Math.abs(fit.slope - slope) < 1e-6 * Math.max(1, Math.abs(slope)));
        assert.ok(Math.abs(fit.intercept - intercept) < 1e-3 * Math.max(1, intercept));
      }),
    );
  });

  it("refuses a single point or points at one x", () => {
    assert.throws(() => fitLine([{ x: 1, y: 1 }]), RangeError);
    assert.throws(() => fitLine([{ x: 3, y: 1 }, { x: 3, y: 2 }]), RangeError);
  });
});

describe("sessionsPerGiB", () => {
  it("divides a GiB by one per-session cell, and what a role cell leaves by the cost of a session", () => {
    const rows = [
      value("cells.idle-rss", { rssBytes: 64 * MIB, pssBytes: 32 * MIB, ussBytes: 16 * MIB }),
      value("cells.per-role.marginal", { slopeRssBytes: 0.5 * MIB, interceptRssBytes: 64 * MIB, wasmCapBytesPerSession: 1.5 * MIB }),
    ];
    const [perSession, perRole] = sessionsPerGiB(rows);
    assert.equal(perSession?.kind, "value");
    assert.equal(perRole?.kind, "value");
    if (perSession?.kind !== "value" || perRole?.kind !== "value") return;
    assert.equal(perSession.value, 16);
    assert.deepEqual(perSession.data, { byRss: 16, byPss: 32, byUss: 64 });
    assert.equal(perSession.unit, "sessions/GiB");
    assert.equal(perRole.value, (1024 - 64) * 2);
    assert.equal(perRole.data?.["sessionsAtWasmCaps"], (1024 - 64) / 2, "the worst case counts each session's Wasm memory caps");
  });

  it("reports a failed row, never a number, when a reading is missing or the slope is not positive", () => {
    const missing = sessionsPerGiB([]);
    assert.deepEqual(
      missing.map((r) => r.kind),
      ["failed", "failed"],
    );
    const flat = sessionsPerGiB([value("cells.per-role.marginal", { slopeRssBytes: 0, interceptRssBytes: 64 * MIB })]);
    assert.equal(flat[1]?.kind, "failed");
    assert.equal(flat[1]?.id, "cells.sessions-per-gib.per-role");
  });
});
