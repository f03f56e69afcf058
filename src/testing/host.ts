// What this host offers the tests, detected once, never assumed. A test that needs cells (bwrap
// with user namespaces, the supervised seccomp filter, cgroup v1 memory and pids) runs where the
// host has them; where it does not, the same test slot asserts what must hold there instead: the
// tier refuses, with ERR_TIER_UNAVAILABLE naming the gap and a tier.refused record. Never a skip.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { AuditLog } from "../audit/index.js";
import { PACKAGE_ROOT } from "../config/defaults.js";
import { CordonError } from "../errors.js";
import { loadPolicy } from "../policy/load-policy.js";
import { Runtime } from "../runtime/runtime.js";
import { checkOsSandbox } from "../sandbox/os-sandbox.js";
import { makePolicyDir, policyYaml } from "./policy-fixture.js";

let cells: { readonly ok: true } | { readonly ok: false; readonly missing: string } | undefined;

/** Whether this host runs cells (the OS sandbox's layers), checked once per test process. */
export function hostCells(): { readonly ok: true } | { readonly ok: false; readonly missing: string } {
  if (cells !== undefined) return cells;
  try {
    checkOsSandbox(PACKAGE_ROOT);
    cells = { ok: true };
  } catch (err) {
    cells = { ok: false, missing: err instanceof CordonError ? err.message : String(err) };
  }
  return cells;
}

/** What must hold on a host without cells: the tier refuses, typed and recorded. */
async function assertRefused(): Promise<void> {
  const p = await makePolicyDir();
  const audit = AuditLog.memory();
  await assert.rejects(Runtime.start({ policy: loadPolicy(p.write(policyYaml(p.moduleSha256))), audit, isolation: "cell" }), (e: Error & { code?: string }) => e.code === "ERR_TIER_UNAVAILABLE");
  const refused = audit.recordsAfter(0).filter((r) => r.type === "tier.refused");
  assert.equal(refused.length, 1, "one tier.refused record names the gap");
}

/** `describe`, where this host runs cells; else one test asserting the refusal, named for the gap. */
export function describeWithCells(name: string, body: () => void): void {
  const host = hostCells();
  if (host.ok) {
    describe(name, body);
    return;
  }
  describe(`${name} [this host cannot run cells: ${host.missing}]`, () => {
    it("the cell and process tiers refuse here: ERR_TIER_UNAVAILABLE and a tier.refused record", assertRefused);
  });
}

/** `it`, where this host runs cells; else the refusal is what the test asserts. */
export function itWithCells(name: string, body: () => Promise<void>): void {
  const host = hostCells();
  if (host.ok) it(name, body);
  else it(`${name} [this host cannot run cells: ${host.missing}; asserting the refusal]`, assertRefused);
}
