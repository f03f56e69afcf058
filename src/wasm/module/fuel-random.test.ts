// Random structured programs against the branch-depth fix-up and the cached fuel regions: nested
// blocks, loops and ifs, with br, br_if and br_table to random enclosing labels (the function's
// included), `return`, and calls that make some loops call-free and others not. Every branch is
// guarded by a countdown, so every program terminates; each one leaves a trace in $acc, which
// must be the same uninstrumented and instrumented (see fuel-differential.fixture.ts).
import { test } from "node:test";
import fc from "fast-check";
import { sameAsUninstrumented } from "./fuel-differential.fixture.js";
import { watCompiler } from "./wat.fixture.js";

const wat = await watCompiler();

/** mulberry32: a small seeded PRNG, so a failing seed reproduces. */
function prng(seed: number): (n: number) => number {
  let a = seed >>> 0;
  return (n) => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) % n) >>> 0;
  };
}

/** Pushes 1 when the countdown is still positive (decrementing it) and a bit of $acc is set. */
const GUARD = (bit: number): string =>
  `local.get $k i32.const 1 i32.sub local.tee $k i32.const 0 i32.gt_s local.get $acc i32.const ${1 << bit} i32.and i32.const 0 i32.ne i32.and`;

/** Flat WAT for a function body; `labels` holds the open labels, innermost last ("f" = the function's). */
function statements(rand: (n: number) => number, labels: string[], budget: { n: number }): string {
  const out: string[] = [];
  const count = 1 + rand(4);
  for (let s = 0; s < count && budget.n > 0; s++) {
    budget.n--;
    const depth = rand(labels.length);
    const toFunction = labels[labels.length - 1 - depth] === "f";
    const trace = `local.get $acc i32.const 31 i32.mul i32.const ${budget.n} i32.add local.set $acc`;
    switch (rand(9)) {
      case 0:
        out.push(`block ${statements(rand, [...labels, "b"], budget)} end`);
        break;
      case 1:
      case 2:
        out.push(`loop ${trace} ${statements(rand, [...labels, "l"], budget)} end`);
        break;
      case 3:
        out.push(`${GUARD(rand(3))} if ${statements(rand, [...labels, "i"], budget)} else ${trace} end`);
        break;
      case 4: // br_if; to the function's label it carries $acc, which stays when not taken
        out.push(toFunction ? `local.get $acc ${GUARD(rand(3))} br_if ${depth} drop` : `${GUARD(rand(3))} br_if ${depth}`);
        break;
      case 5: // br, inside an if (one more label)
        out.push(`${GUARD(rand(3))} if ${toFunction ? "local.get $acc " : ""}br ${depth + 1} end`);
        break;
      case 6: {
        // br_table among non-function labels, inside an if
        const targets = labels.flatMap((l, i) => (l === "f" ? [] : [labels.length - i]));
        if (targets.length === 0) break;
        const pick = (): number => targets[rand(targets.length)] as number;
        out.push(`${GUARD(rand(3))} if local.get $acc i32.const 3 i32.rem_u br_table ${pick()} ${pick()} ${pick()} end`);
        break;
      }
      case 7:
        out.push(`${GUARD(4)} if local.get $acc return end`);
        break;
      default:
        out.push(rand(2) === 0 ? `local.get $acc call $helper local.set $acc` : trace);
        break;
    }
  }
  return out.join(" ");
}

function program(seed: number): string {
  const rand = prng(seed);
  const body = statements(rand, ["f"], { n: 60 });
  return `(module
    (func $helper (param $x i32) (result i32) (local $i i32)
      loop local.get $x i32.const 7 i32.rotl i32.const 3 i32.add local.set $x
        local.get $i i32.const 1 i32.add local.tee $i i32.const 3 i32.lt_u br_if 0 end
      local.get $x)
    (func (export "run") (param $acc i32) (param $k i32) (result i32)
      ${body}
      local.get $acc))`;
}

void test("random structured programs compute the same, and use the same fuel, instrumented", () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 0x7fffffff }), (seed) => {
      const src = program(seed);
      try {
        sameAsUninstrumented(wat(src), [["run", 0x5bd1e995, 60], ["run", -1, 200], ["run", 12345, 7]], false);
      } catch (err) {
        throw new Error(`seed ${seed}:\n${src}\n${String(err)}`);
      }
    }),
    { numRuns: 300 },
  );
});
