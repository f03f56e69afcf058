// Every module cap: a module at the cap parses (and, but for `memories`, validates), one past it
// is refused where the count is read, naming the cap; the refusal happens before anything is
// built for the entries (a million declared functions are refused at their count's offset).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { MODULE_CAP_REASONS, ModuleCapExceeded, ModuleMalformed, ModuleRefused, UsageError, type ModuleCapName } from "../../errors.js";
import { capModule } from "./cap-modules.js";
import { instrument } from "./instrument.js";
import { DEFAULT_MODULE_CAPS, MODULE_CAP_NAMES, moduleCaps, toolModuleCaps, type ModuleCaps } from "./module-caps.js";
import { parseModule } from "./parse-module.js";
import { vetShape, vetModule } from "./vet-module.js";
import { HEADER, moduleOf, section, str, uleb, vec } from "./wat.fixture.js";

function capRefusal(run: () => unknown): ModuleCapExceeded {
  try {
    run();
  } catch (err) {
    assert.ok(err instanceof ModuleCapExceeded, `expected ModuleCapExceeded, got ${String(err)}`);
    return err;
  }
  return assert.fail("not refused");
}

/** Reads the unsigned LEB128 at `at`. */
function lebAt(bytes: Uint8Array, at: number): number {
  let n = 0;
  let scale = 1;
  for (let i = at; ; i++) {
    const b = bytes[i] ?? 0;
    n += (b & 0x7f) * scale;
    if ((b & 0x80) === 0) return n;
    scale *= 128;
  }
}

/** Caps counted over one vec, whose length field the refusal's offset points at. */
const SINGLE_VEC: readonly ModuleCapName[] = ["types", "typeParams", "typeResults", "imports", "functions", "tables", "memories", "globals", "tags", "exports", "elementSegments", "segmentElements", "dataSegments", "dataBytes", "functionLocals", "bodyBytes", "nameBytes"];

void test("every cap: a module at the cap is accepted, one past it is refused at the count, naming the cap", () => {
  for (const cap of MODULE_CAP_NAMES) {
    const limit = DEFAULT_MODULE_CAPS[cap];
    const at = capModule(cap, limit);
    assert.doesNotThrow(() => vetShape(at, DEFAULT_MODULE_CAPS), `${cap}: at the cap`);
    // This V8 validates one memory at most (no multi-memory); cordon refuses more than one later.
    if (cap !== "memories") assert.ok(WebAssembly.validate(at), `${cap}: the at-cap module is otherwise valid`);
    const over = capModule(cap, limit + 1);
    const err = capRefusal(() => vetShape(over, DEFAULT_MODULE_CAPS));
    assert.equal(err.code, "ERR_MODULE_REFUSED");
    assert.ok(err instanceof ModuleRefused);
    assert.equal(err.reason, MODULE_CAP_REASONS[cap]);
    assert.deepEqual({ cap: err.cap, limit: err.limit, declared: err.declared }, { cap, limit, declared: limit + 1 });
    const fields = err.fields();
    assert.deepEqual([fields["cap"], fields["limit"], fields["declared"], fields["offset"]], [cap, limit, limit + 1, err.offset]);
    assert.ok(err.offset > 8 && err.offset < over.length, `${cap}: offset ${err.offset} is inside the module`);
    if (SINGLE_VEC.includes(cap)) assert.equal(lebAt(over, err.offset), limit + 1, `${cap}: refused at the length field that declared it`);
    if (cap === "nestingDepth") assert.equal(over[err.offset], 0x02, "refused at the block that went past the depth");
    assert.ok(!err.message.includes("\u0000") && !/[^\x20-\x7e]/.test(err.message), "the message is plain text, no module bytes");
  }
});

void test("a 4 MB module declaring 1,000,000 functions is refused at its function count, before any body is read", () => {
  const bytes = capModule("functions", 1_000_000);
  assert.ok(bytes.length > 4_000_000 && bytes.length < 8 * 1024 * 1024);
  const err = capRefusal(() => parseModule(bytes, toolModuleCaps({ maxFunctions: 20_000, maxMemoryPages: 16 })));
  // header (8) + type section (id, size, count, 0x60 0 0) = 14; then the function section's id and 3-byte size: its count is at 18
  assert.deepEqual([err.cap, err.limit, err.declared, err.offset], ["functions", 20_000, 1_000_000, 18]);
  assert.equal(bytes[14], 3, "the function section starts right after the type section");
  assert.equal(lebAt(bytes, 18), 1_000_000);
});

void test("the same module is refused under a 16 MiB heap, where parsing every entry would abort Node", () => {
  const script = `import { capModule } from ${JSON.stringify(new URL("./cap-modules.js", import.meta.url).href)};
    import { parseModule } from ${JSON.stringify(new URL("./parse-module.js", import.meta.url).href)};
    try { parseModule(capModule("functions", 1_000_000)); console.log("parsed"); }
    catch (err) { console.log(JSON.stringify(err.fields())); }`;
  const r = spawnSync(process.execPath, ["--max-old-space-size=16", "--input-type=module", "-e", script], { encoding: "utf8" });
  assert.equal(r.status, 0, `exit ${r.status} ${r.signal}: ${r.stderr.slice(0, 300)}`);
  const fields = JSON.parse(r.stdout) as Record<string, unknown>;
  assert.equal(fields["reason"], "too-many-functions");
  assert.equal(fields["declared"], 1_000_000);
});

void test("a module at every cap at once instruments inside the cell's 64 MiB heap", () => {
  const script = fileURLToPath(new URL("./module-caps-heap.fixture.js", import.meta.url));
  const r = spawnSync(process.execPath, ["--max-old-space-size=64", script], { encoding: "utf8" });
  assert.equal(r.status, 0, `exit ${r.status} ${r.signal}: ${r.stderr.slice(0, 300)}`);
  assert.match(r.stdout, /^instrumented \d+ functions\n$/);
});

void test("imported entries count against their index space's cap; a code section is capped without a function section", () => {
  const caps = moduleCaps({ functions: 3, globals: 1 });
  const imports = (n: number): number[] => section(2, vec(Array.from({ length: n }, () => [...str("m"), ...str("f"), 0x00, 0x00])));
  const type = section(1, vec([[0x60, 0, 0]]));
  assert.doesNotThrow(() => parseModule(moduleOf(type, imports(3)), caps));
  let err = capRefusal(() => parseModule(moduleOf(type, imports(4)), caps));
  assert.deepEqual([err.cap, err.declared], ["functions", 4]);
  err = capRefusal(() => parseModule(moduleOf(type, imports(2), section(3, vec([[0], [0]]))), caps));
  assert.deepEqual([err.cap, err.declared], ["functions", 4], "imported + defined");
  err = capRefusal(() => parseModule(moduleOf(type, section(10, [...uleb(4), 0x02, 0x00, 0x0b])), caps));
  assert.deepEqual([err.cap, err.declared], ["functions", 4], "a code section's count alone is capped");
  const importedGlobals = section(2, vec([[...str("m"), ...str("g"), 0x03, 0x7f, 0x00], [...str("m"), ...str("h"), 0x03, 0x7f, 0x00]]));
  err = capRefusal(() => parseModule(moduleOf(importedGlobals), caps));
  assert.deepEqual([err.cap, err.declared], ["globals", 2]);
  err = capRefusal(() => parseModule(moduleOf(section(12, uleb(1001))), DEFAULT_MODULE_CAPS));
  assert.deepEqual([err.cap, err.declared], ["dataSegments", 1001], "a data count over the cap");
});

void test("a name section over a cap refuses the module (it is not ignored like a malformed one)", () => {
  const names = (entries: number, nameLength = 1): number[] => {
    const map = [...uleb(entries), ...Array.from({ length: entries }, (_, i) => [...uleb(i), ...str("n".repeat(nameLength))]).flat()];
    return section(0, [...str("name"), 1, ...uleb(map.length), ...map]);
  };
  const caps = moduleCaps({ nameEntries: 10, nameBytes: 8 });
  assert.equal(parseModule(moduleOf(names(9)), caps).functionNames.size, 9, "9 entries + 1 subsection");
  assert.equal(capRefusal(() => parseModule(moduleOf(names(10)), caps)).cap, "nameEntries");
  assert.equal(capRefusal(() => parseModule(moduleOf(names(1, 9)), caps)).cap, "nameBytes");
  assert.equal(parseModule(moduleOf(section(0, [...str("name"), 1, 9, 1, 0]))).names, null, "a malformed one is still ignored");
});

void test("instrument parses with the caps before WebAssembly.validate or the compiler see the bytes", () => {
  const original = WebAssembly.validate.bind(WebAssembly);
  let validated = 0;
  WebAssembly.validate = (bytes: Parameters<typeof original>[0]): boolean => {
    validated++;
    return original(bytes);
  };
  try {
    const opts = { maxBytes: 8 << 20, maxFunctions: 100, maxMemoryPages: 4, maxTableElements: 64 };
    const err = capRefusal(() => instrument(capModule("functions", 101), opts));
    assert.equal(err.reason, "too-many-functions");
    assert.equal(capRefusal(() => instrument(capModule("nestingDepth", 1001), opts)).cap, "nestingDepth");
    assert.equal(capRefusal(() => instrument(capModule("dataBytes", 4 * 65536 + 1), opts)).cap, "dataBytes", "data over the memory cap");
    assert.equal(validated, 0, "the engine never saw a module over a cap");
    assert.ok(WebAssembly.validate(instrument(capModule("functions", 100), opts).bytes));
    assert.ok(validated > 0);
  } finally {
    WebAssembly.validate = original;
  }
});

void test("vetModule holds a tool's module to its function cap and its memory cap (for data), and its byte cap first", () => {
  const opts = { maxBytes: 1 << 20, maxFunctions: 10, maxMemoryPages: 1 };
  assert.equal(vetModule(capModule("functions", 10), opts).counts.functions, 10);
  assert.equal(capRefusal(() => vetModule(capModule("functions", 11), opts)).limit, 10);
  assert.doesNotThrow(() => vetModule(capModule("dataBytes", 65536), opts));
  assert.deepEqual([capRefusal(() => vetModule(capModule("dataBytes", 65537), opts)).cap], ["dataBytes"]);
  assert.throws(() => vetModule(capModule("dataBytes", 65536), { ...opts, maxBytes: 65536 }), (e: unknown) => e instanceof ModuleRefused && e.reason === "oversized");
  assert.equal(capRefusal(() => vetModule(capModule("types", 6), { ...opts, caps: { types: 5 } })).cap, "types");
});

void test("moduleCaps checks its overrides and freezes the result", () => {
  const caps = moduleCaps({ types: 5 });
  assert.equal(caps.types, 5);
  assert.equal(caps.functions, DEFAULT_MODULE_CAPS.functions);
  assert.ok(Object.isFrozen(caps) && Object.isFrozen(DEFAULT_MODULE_CAPS));
  assert.deepEqual(Object.keys(caps).sort(), Object.keys(MODULE_CAP_REASONS).sort(), "one reason per cap");
  assert.throws(() => moduleCaps({ types: -1 }), UsageError);
  assert.throws(() => moduleCaps({ types: 1.5 }), UsageError);
  assert.throws(() => moduleCaps({ nope: 1 } as Partial<ModuleCaps>), UsageError);
});

// ---- properties ----

/** Which caps a compact form exists for (the length is written, not the bytes it announces). */
const COMPACT: readonly ModuleCapName[] = ["dataBytes", "bodyBytes"];

function outcome(run: () => unknown): "ok" | ModuleCapExceeded | ModuleMalformed | ModuleRefused {
  try {
    run();
    return "ok";
  } catch (err) {
    if (err instanceof ModuleMalformed || err instanceof ModuleRefused) return err;
    throw err; // anything else (a RangeError, a TypeError) fails the property
  }
}

void test("property: with random counts around each cap, a module is refused iff it is over that cap, and only ever typed", () => {
  const arbitrary = fc.record({
    cap: fc.constantFrom(...MODULE_CAP_NAMES),
    limit: fc.integer({ min: 2, max: 64 }),
    delta: fc.integer({ min: -3, max: 3 }),
    compact: fc.boolean(),
  });
  fc.assert(
    fc.property(arbitrary, ({ cap, limit, delta, compact }) => {
      const caps = moduleCaps({ [cap]: limit });
      const n = Math.max(cap === "bodyBytes" ? 2 : 0, limit + delta);
      // A zero-length segment or body announces no bytes, so leaving them out truncates nothing.
      const truncated = compact && COMPACT.includes(cap) && n > 0;
      const result = outcome(() => vetShape(capModule(cap, n, { caps, compact: truncated }), caps));
      // A running total (custom sections, names, ...) is refused at the first entry past the cap.
      if (n > limit) return result instanceof ModuleCapExceeded && result.cap === cap && result.limit === limit && result.declared > limit && result.declared <= n;
      return truncated ? result instanceof ModuleMalformed : result === "ok";
    }),
    { numRuns: 2000 },
  );
});

void test("property: caps below what a module holds refuse it with one of the caps it is over; mutants fail typed", () => {
  const caps = fc.record(Object.fromEntries(MODULE_CAP_NAMES.map((name) => [name, fc.integer({ min: 0, max: 40 })])) as Record<ModuleCapName, fc.Arbitrary<number>>);
  fc.assert(
    fc.property(fc.constantFrom(...MODULE_CAP_NAMES), fc.integer({ min: 2, max: 30 }), caps, fc.nat(), fc.integer({ min: 0, max: 255 }), (cap, n, small, at, value) => {
      const bytes = capModule(cap, n);
      const limits = moduleCaps(small);
      const result = outcome(() => vetShape(bytes, limits));
      if (result !== "ok" && !(result instanceof ModuleCapExceeded)) return false;
      if (result instanceof ModuleCapExceeded && limits[result.cap] >= result.declared) return false;
      if (result === "ok" && limits[cap] < n) return false;
      const mutant = Uint8Array.from(bytes);
      mutant[HEADER.length + (at % (mutant.length - HEADER.length))] = value;
      outcome(() => vetShape(mutant, limits));
      return true;
    }),
    { numRuns: 2000 },
  );
});
