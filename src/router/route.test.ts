import assert from "node:assert/strict";
import { test } from "node:test";
import type { LoadedTool } from "../policy/load-policy.js";
import type { Availability } from "../tier/tool-host.js";
import { routeSession } from "./route.js";

const tool = (name: string, tier: string) => ({ name, tier }) as unknown as LoadedTool;
const ok: Availability = { ok: true, layers: ["os-sandbox"], detail: {} };

void test("tools go to their tier's driver; a tier this host lacks refuses its tools, naming why; none moves to another tier", () => {
  const r = routeSession([tool("a", "wasm"), tool("b", "process"), tool("c", "wasm"), tool("d", "container")], (t) =>
    t === "wasm" ? ok : t === "process" ? { ok: false, missing: "no bwrap" } : undefined,
  );
  assert.deepEqual([...r.byTier].map(([t, ts]) => [t, ts.map((x) => x.name)]), [["wasm", ["a", "c"]]]);
  assert.deepEqual([...r.unavailable].map(([n, e]) => [n, e.code, e.tier, e.missing]), [
    ["b", "ERR_TIER_UNAVAILABLE", "process", "no bwrap"],
    ["d", "ERR_TIER_UNAVAILABLE", "container", "no container driver in this build"],
  ]);
});
