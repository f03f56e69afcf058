import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { homedir } from "node:os";
import { PolicyInvalid } from "../errors.js";
import { makePolicyDir, policyYaml } from "../testing/policy-fixture.js";
import { loadPolicy } from "./load-policy.js";

function issuesOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof PolicyInvalid, `expected PolicyInvalid, got ${String(err)}`);
    assert.equal(err.code, "ERR_POLICY_INVALID");
    return err.issues.map((i) => `${i.path}: ${i.problem}`);
  }
  assert.fail("policy was accepted");
}

describe("loadPolicy", () => {
  it("loads a valid policy and derives an enforced line for every grant, limit and role", async () => {
    const p = await makePolicyDir();
    const policy = loadPolicy(p.write(policyYaml(p.moduleSha256, { grants: "      - { kind: fs.read, path: data, mount: /data, enforcer: wasi-jail, check: fs-escape-dotdot }" })));
    const tool = policy.tools.get("tool");
    assert.ok(tool);
    assert.equal(tool.limits.memoryBytes, 1024 * 1024);
    assert.equal(tool.limits.inputBytes, 1024);
    assert.deepEqual(tool.grants, [{ kind: "fs.read", hostPath: `${p.dir}/data`, mount: "/data" }]);
    const grantLine = policy.lines.find((l) => l.subject === "fs.read");
    assert.equal(grantLine?.enforcer, "wasi-jail");
    assert.deepEqual(grantLine?.checks, ["fs-escape-dotdot"]);
    assert.ok(policy.lines.every((l) => l.status === "enforced"));
    for (const subject of ["limits.memory", "limits.fuel", "limits.wallClock", "module.digest", "module.imports", "role.toolset"]) {
      assert.ok(policy.lines.some((l) => l.subject === subject), `missing implicit line ${subject}`);
    }
  });

  it("marks a grant with a missing, TBD or unknown enforcer, or no check, as a wish", async () => {
    const p = await makePolicyDir();
    const grants = [
      "      - { kind: clock }",
      "      - { kind: random, enforcer: TBD, check: random-ungranted }",
      "      - { kind: log, enforcer: magic-shield, check: log-ungranted }",
      "      - { kind: env, name: A, value: b, enforcer: wasi-env }",
    ].join("\n");
    const policy = loadPolicy(p.write(policyYaml(p.moduleSha256, { grants })));
    const wishes = policy.lines.filter((l) => l.status === "wish").map((l) => l.wishReason);
    assert.deepEqual(wishes, ["no enforcer named", "enforcer is 'TBD'", "unknown enforcer 'magic-shield'", "no observable check named"]);
  });

  it("routes by risk: production refuses a tier weaker than the risk demands; local-dev loads it, marked; demands only raise", async () => {
    const p = await makePolicyDir();
    const risky = policyYaml(p.moduleSha256).replace("risk: pure-compute", "risk: build-test");
    const refused = issuesOf(() => loadPolicy(p.write(risky)));
    assert.match(refused.join("\n"), /tools\.tool\.tier: risk build-test needs the medium stack .*refused in the production profile/);
    const dev = loadPolicy(p.write(`profile: local-dev\n${risky}`));
    assert.match(dev.tools.get("tool")?.route.weaker ?? "", /needs the medium stack/);
    assert.equal(dev.profile, "local-dev");
    const fine = loadPolicy(p.write(policyYaml(p.moduleSha256)));
    assert.deepEqual([fine.profile, fine.tools.get("tool")?.route.level, fine.tools.get("tool")?.route.weaker], ["production", "low", null]);
    assert.match(issuesOf(() => loadPolicy(p.write(`demands: { pure-compute: medium }\n${policyYaml(p.moduleSha256)}`))).join("\n"), /risk pure-compute needs the medium stack/);
    assert.match(issuesOf(() => loadPolicy(p.write(`profile: yolo\n${policyYaml(p.moduleSha256)}`))).join("\n"), /profile/);
  });

  it("rejects unknown keys anywhere", async () => {
    const p = await makePolicyDir();
    const issues = issuesOf(() => loadPolicy(p.write(policyYaml(p.moduleSha256, { limits: "{ memory: 1MiB, fuel: 1, wallClockMs: 1, inputBytes: 1, outputBytes: 1, memroy: 5 }" }))));
    assert.ok(issues.some((i) => i.startsWith("tools.tool.limits")), issues.join("\n"));
  });

  it("rejects '..', broad paths and missing directories in grants", async () => {
    const p = await makePolicyDir();
    const cases = ["../x", "/", "/etc", "/usr/share", homedir(), ".", "missing-dir"];
    for (const path of cases) {
      const grants = `      - { kind: fs.read, path: "${path}", mount: /data, enforcer: wasi-jail, check: fs-escape-dotdot }`;
      const issues = issuesOf(() => loadPolicy(p.write(policyYaml(p.moduleSha256, { grants }))));
      assert.ok(issues.some((i) => i.startsWith("tools.tool.grants.0.path")), `${path}: ${issues.join("; ")}`);
    }
  });

  it("rejects a module whose digest does not match, naming the field", async () => {
    const p = await makePolicyDir();
    const issues = issuesOf(() => loadPolicy(p.write(policyYaml("a".repeat(64)))));
    assert.ok(issues.some((i) => i.startsWith("tools.tool.module.sha256: digest mismatch")), issues.join("\n"));
  });

  it("rejects an enforcer that does not cover the grant, and a check that is not its probe", async () => {
    const p = await makePolicyDir();
    let issues = issuesOf(() => loadPolicy(p.write(policyYaml(p.moduleSha256, { grants: "      - { kind: clock, enforcer: wasm-fuel, check: fuel-spin }" }))));
    assert.ok(issues.some((i) => i.includes("does not enforce clock")), issues.join("\n"));
    issues = issuesOf(() => loadPolicy(p.write(policyYaml(p.moduleSha256, { grants: "      - { kind: clock, enforcer: wasi-clock, check: fuel-spin }" }))));
    assert.ok(issues.some((i) => i.includes("'fuel-spin' is not a probe of wasi-clock")), issues.join("\n"));
  });

  it("rejects roles naming unknown tools, a risk in the wrong tier, and unenforced schema keywords", async () => {
    const p = await makePolicyDir();
    let issues = issuesOf(() => loadPolicy(p.write(policyYaml(p.moduleSha256, { roles: "  reader:\n    tools: [tool, ghost]" }))));
    assert.ok(issues.some((i) => i.includes("unknown tool 'ghost'")));
    issues = issuesOf(() => loadPolicy(p.write(policyYaml(p.moduleSha256).replace("risk: pure-compute", "risk: untrusted-code"))));
    assert.ok(issues.some((i) => i.startsWith("tools.tool.tier")));
    issues = issuesOf(() => loadPolicy(p.write(policyYaml(p.moduleSha256, { input: "{ type: object, properties: { a: { type: string, format: hostname } } }" }))));
    assert.ok(issues.some((i) => i.includes("unsupported JSON Schema keyword")), issues.join("\n"));
  });

  it("rejects YAML aliases, duplicate keys and garbage with a typed error", async () => {
    const p = await makePolicyDir();
    for (const text of ["version: 1\nversion: 1\n", "a: &x [1]\nb: *x\n", "\u0000\u0001:::", "[1, 2", "- - -"]) {
      issuesOf(() => loadPolicy(p.write(text)));
    }
  });
});
