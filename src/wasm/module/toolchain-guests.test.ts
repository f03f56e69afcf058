import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { instrument } from "./instrument.js";
import { parseModule } from "./parse-module.js";

// Real toolchain output (AssemblyScript, C/wasi-libc, ...) built by scripts/build-guests.mjs.
const GUESTS = fileURLToPath(new URL("../../../build/guests/", import.meta.url));
const present = existsSync(GUESTS);

void test(
  `every toolchain guest in build/guests/ instruments to a valid module (skipped only when that directory is absent${present ? "" : ": it is absent now"})`,
  { skip: !present },
  () => {
    const files = readdirSync(GUESTS).filter((f) => f.endsWith(".wasm"));
    assert.ok(files.length > 0, "build/guests/ exists but holds no .wasm files");
    for (const file of files) {
      const bytes = new Uint8Array(readFileSync(GUESTS + file));
      const out = instrument(bytes, { maxBytes: 64 << 20, maxFunctions: 100_000, maxMemoryPages: 65536, maxTableElements: 1_000_000 });
      assert.ok(WebAssembly.validate(out.bytes), `${file}: instrumented output validates`);
      const before = parseModule(bytes);
      const after = parseModule(out.bytes);
      assert.equal(after.code.length, before.code.length, `${file}: same defined functions`);
      assert.equal(after.counts.importedFunctions, before.counts.importedFunctions + 2, `${file}: two meter imports`);
      assert.ok(after.exports.some((e) => e.name === "__cordon_fuel"), `${file}: fuel exported`);
    }
  },
);
