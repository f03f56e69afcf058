import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import type { LoadedTool } from "./load-policy.js";
import { evaluate } from "./evaluate.js";

function tool(name: string): LoadedTool {
  return { name, limits: { inputBytes: 100 }, validateInput: () => [] } as unknown as LoadedTool;
}

describe("evaluate", () => {
  it("allows a call only when the caller's role names the tool (property)", () => {
    const names = fc.stringMatching(/^[a-z][a-z0-9-]{0,6}$/);
    fc.assert(
      fc.property(fc.dictionary(names, fc.uniqueArray(names, { maxLength: 4 })), names, names, (roles, role, toolName) => {
        const all = new Set(Object.values(roles).flat());
        const policy = { roles: new Map(Object.entries(roles)), tools: new Map([...all].map((n) => [n, tool(n)])) };
        const decision = evaluate(policy, { role }, { tool: toolName, input: {}, inputBytes: 2 });
        const named = Object.hasOwn(roles, role) && (roles[role] ?? []).includes(toolName);
        assert.equal(decision.allow, named);
        if (!decision.allow) assert.equal(decision.enforcer, "role-toolset");
      }),
    );
  });

  it("denies oversized input under io-cap and schema violations under input-schema", () => {
    const t = { ...tool("t"), validateInput: (v: unknown) => (typeof v === "object" ? [] : [{ path: "input", problem: "not an object" }]) } as LoadedTool;
    const policy = { roles: new Map([["r", ["t"]]]), tools: new Map([["t", t]]) };
    const big = evaluate(policy, { role: "r" }, { tool: "t", input: {}, inputBytes: 101 });
    assert.equal(big.allow, false);
    assert.equal(!big.allow && big.enforcer, "io-cap");
    const bad = evaluate(policy, { role: "r" }, { tool: "t", input: "x", inputBytes: 3 });
    assert.equal(!bad.allow && bad.error.code, "ERR_INPUT_INVALID");
    assert.equal(evaluate(policy, { role: "r" }, { tool: "t", input: {}, inputBytes: 2 }).allow, true);
  });

  it("never treats inherited object keys as roles or tools", () => {
    const policy = { roles: new Map([["r", ["t"]]]), tools: new Map([["t", tool("t")]]) };
    for (const name of ["__proto__", "constructor", "toString", "hasOwnProperty"]) {
      assert.equal(evaluate(policy, { role: name }, { tool: "t", input: {}, inputBytes: 2 }).allow, false);
      assert.equal(evaluate(policy, { role: "r" }, { tool: name, input: {}, inputBytes: 2 }).allow, false);
    }
  });
});
