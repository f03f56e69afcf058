import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { canonicalJson, MAX_JSON_DEPTH } from "./canonical-json.js";

void test("sorts keys by UTF-16 code unit, at every depth, with no whitespace", () => {
  const value = { b: 1, a: [true, null, { z: "x", "é": 2, Z: 3, "": 4 }], "\u{1F600}": 0, "\uFFFF": 1 };
  // "\u{1F600}" is the surrogate pair D83D DE00, which sorts before U+FFFF by code unit
  // (a code point order would put it after).
  assert.equal(canonicalJson(value), '{"a":[true,null,{"":4,"Z":3,"z":"x","é":2}],"b":1,"\u{1F600}":0,"\uFFFF":1}');
});

void test("uses JSON.stringify for strings and numbers", () => {
  assert.equal(canonicalJson("line\n\"quote\" \u2028 \uD800"), JSON.stringify("line\n\"quote\" \u2028 \uD800"));
  assert.equal(canonicalJson([1e21, 0.1, -0, 5e-7]), "[1e+21,0.1,0,5e-7]");
});

void test("drops undefined object members", () => {
  assert.equal(canonicalJson({ a: undefined, b: 1 }), '{"b":1}');
});

void test("refuses what JSON cannot carry faithfully, naming where", () => {
  const cases: [unknown, string][] = [
    [{ n: Number.NaN }, "$.n"],
    [{ n: [1, Number.POSITIVE_INFINITY] }, "$.n[1]"],
    [[undefined], "$[0]"],
    // eslint-disable-next-line no-sparse-arrays
    [[1, , 3], "$[1]"],
    [{ f: () => 1 }, "$.f"],
    [{ big: 1n }, "$.big"],
    [{ when: new Date(0) }, "$.when"],
    [{ m: new Map() }, "$.m"],
    [{ "odd key": Symbol("s") }, '$["odd key"]'],
    [{ [Symbol("s")]: 1 }, "$"],
    [undefined, "$"],
  ];
  for (const [value, path] of cases) {
    assert.throws(() => canonicalJson(value), (err: unknown) => {
      assert.ok(err instanceof Error && "code" in err && "path" in err);
      assert.equal(err.code, "ERR_AUDIT_NOT_JSON");
      assert.equal(err.path, path);
      return true;
    });
  }
});

void test("accepts null-prototype objects", () => {
  const value = Object.assign(Object.create(null) as object, { b: 2, a: 1 });
  assert.equal(canonicalJson(value), '{"a":1,"b":2}');
});

void test("turns cycles and excessive depth into a typed error, not a stack overflow", () => {
  const cyclic: Record<string, unknown> = {};
  cyclic["self"] = cyclic;
  assert.throws(() => canonicalJson(cyclic), { code: "ERR_AUDIT_NOT_JSON" });
  let deep: unknown = 1;
  for (let i = 0; i <= MAX_JSON_DEPTH; i++) deep = [deep];
  assert.throws(() => canonicalJson(deep), { code: "ERR_AUDIT_NOT_JSON" });
  assert.doesNotThrow(() => canonicalJson((deep as unknown[])[0]));
});

void test("property: encoding is a fixed point of parse, and equals JSON.parse semantics", () => {
  fc.assert(
    fc.property(fc.jsonValue(), (value) => {
      const once = canonicalJson(value);
      assert.equal(canonicalJson(JSON.parse(once)), once);
      assert.deepEqual(JSON.parse(once), JSON.parse(JSON.stringify(value)));
    }),
    { numRuns: 200 },
  );
});

void test("property: key insertion order never matters", () => {
  fc.assert(
    fc.property(fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 2 })), fc.infiniteStream(fc.nat()), (dict, rand) => {
      const entries = Object.entries(dict);
      // Fisher-Yates with the stream as randomness.
      const it = rand[Symbol.iterator]();
      for (let i = entries.length - 1; i > 0; i--) {
        const j = (it.next().value as number) % (i + 1);
        [entries[i], entries[j]] = [entries[j]!, entries[i]!];
      }
      const shuffled: Record<string, unknown> = {};
      for (const [k, v] of entries) Object.defineProperty(shuffled, k, { value: v, enumerable: true, writable: true, configurable: true });
      assert.equal(canonicalJson(shuffled), canonicalJson(dict));
    }),
    { numRuns: 150 },
  );
});
