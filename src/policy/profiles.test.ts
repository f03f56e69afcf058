import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { judgeRisk, LEVELS, levelFor, RISK_LEVEL, satisfies, stackOf, type Level, type Risk } from "./profiles.js";

const RISKS = Object.keys(RISK_LEVEL) as Risk[];

void test("seed 002's table: each risk's default stack, and which tiers meet it", () => {
  assert.deepEqual(RISK_LEVEL, { "pure-compute": "low", "file-ops": "low", "build-test": "medium", "untrusted-code": "very-high" });
  assert.ok(judgeRisk("file-ops", stackOf("process")).ok);
  assert.ok(judgeRisk("pure-compute", stackOf("wasm")).ok);
  assert.ok(!judgeRisk("build-test", stackOf("process")).ok, "build-test needs a container");
  assert.ok(judgeRisk("build-test", stackOf("container", "crun")).ok);
  assert.ok(judgeRisk("build-test", stackOf("container", "runsc")).ok);
  assert.ok(!judgeRisk("untrusted-code", stackOf("container", "runsc")).ok, "untrusted code needs a microVM");
  assert.ok(judgeRisk("untrusted-code", stackOf("microvm")).ok);
  assert.ok(!judgeRisk("build-test", stackOf("container", "crun"), { "build-test": "high" }).ok, "high: container + Wasm or gVisor");
  assert.ok(judgeRisk("build-test", stackOf("container", "runsc"), { "build-test": "high" }).ok);
  assert.match((judgeRisk("build-test", stackOf("process")) as { problem: string }).problem, /needs the medium stack/);
});

void test("property: demands only ever raise a risk's level, and a stronger level is never easier to meet", () => {
  const level = fc.constantFrom(...LEVELS);
  fc.assert(
    fc.property(fc.constantFrom(...RISKS), level, (risk, asked: Level) => {
      const got = levelFor(risk, { [risk]: asked });
      assert.ok(LEVELS.indexOf(got) >= LEVELS.indexOf(RISK_LEVEL[risk]));
      assert.ok(LEVELS.indexOf(got) >= LEVELS.indexOf(asked));
    }),
  );
  for (const tier of ["wasm", "process", "container", "microvm"]) {
    for (const rt of ["crun", "runsc"] as const) {
      const stack = stackOf(tier, rt);
      for (let i = 1; i < LEVELS.length; i++) {
        // meeting a level implies meeting every weaker one
        if (satisfies(stack, LEVELS[i] as Level)) assert.ok(satisfies(stack, LEVELS[i - 1] as Level), `${tier}/${rt}: ${LEVELS[i]} without ${LEVELS[i - 1]}`);
      }
    }
  }
});
