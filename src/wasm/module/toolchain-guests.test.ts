import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { injectMetering } from "./inject-metering.js";
import { instrument } from "./instrument.js";
import { instantiateMetered } from "./meter-host.fixture.js";
import { miniWasi, runCommand } from "./mini-wasi.fixture.js";
import { parseModule } from "./parse-module.js";

// Real toolchain output (AssemblyScript, C/wasi-libc, ...) built by scripts/build-guests.mjs,
// and the hand-built fixture modules next to it.
const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
// `npm test` builds them first; their absence is a failure, not a skip.
const DIRS = ["examples/modules/", "build/fixtures/"].map((d) => ROOT + d);
const CAPS = { maxBytes: 64 << 20, maxFunctions: 100_000, maxMemoryPages: 65536, maxTableElements: 1_000_000 };

void test(
  "every module in examples/modules/ and build/fixtures/ instruments to a valid module",
  () => {
    for (const dir of DIRS) {
      assert.ok(existsSync(dir), `${dir} is missing: run npm run build`);
      const files = readdirSync(dir).filter((f) => f.endsWith(".wasm"));
      assert.ok(files.length > 0, `${dir} exists but holds no .wasm files`);
      for (const file of files) {
        const bytes = new Uint8Array(readFileSync(dir + file));
        const out = instrument(bytes, CAPS);
        assert.ok(WebAssembly.validate(out.bytes), `${file}: instrumented output validates`);
        const before = parseModule(bytes);
        const after = parseModule(out.bytes);
        assert.equal(after.code.length, before.code.length, `${file}: same defined functions`);
        assert.equal(after.counts.importedFunctions, before.counts.importedFunctions + 2, `${file}: two meter imports`);
        assert.ok(after.exports.some((e) => e.name === "__cordon_fuel"), `${file}: fuel exported`);
        assert.equal(after.start, null, `${file}: no start section`);
      }
    }
  },
);

const CPU_BURN = ROOT + "examples/modules/cpu-burn.wasm";

void test("cpu-burn.wasm gives the same output instrumented as uninstrumented", () => {
  const bytes = new Uint8Array(readFileSync(CPU_BURN));
  const imports = WebAssembly.Module.imports(new WebAssembly.Module(bytes)).map((i) => `${i.module}.${i.name}`);
  assert.deepEqual(imports.sort(), ["fd_read", "fd_write", "proc_exit"].map((n) => `wasi_snapshot_preview1.${n}`));
  const input = new TextEncoder().encode(`{"n":100000}`);

  const plainWasi = miniWasi(input);
  const plain = new WebAssembly.Instance(new WebAssembly.Module(bytes), plainWasi.imports);
  plainWasi.bind(plain.exports.memory as WebAssembly.Memory);
  const plainCode = runCommand(plain.exports._start as () => void);

  // instrumented as shipped, and with fuel always in the global (the reference for the COST rule)
  const runs = [instrument(bytes, CAPS).bytes, injectMetering(bytes, parseModule(bytes), { cacheFuel: false })].map((out) => {
    const wasi = miniWasi(input);
    const guest = instantiateMetered(out, { imports: wasi.imports, slice: 100_000n });
    wasi.bind(guest.memory);
    return { code: runCommand(guest.exports._start as () => void), stdout: wasi.stdout(), guest };
  });

  assert.equal(plainCode, 0);
  assert.match(plainWasi.stdout(), /^\{"n":100000,"result":\d+\}$/);
  for (const run of runs) {
    assert.equal(run.code, plainCode);
    assert.equal(run.stdout, plainWasi.stdout());
    assert.ok(run.guest.refills() > 10, `fuel was metered in slices: ${run.guest.refills()} refills`);
  }
  assert.equal(runs[0]?.guest.consumed(), runs[1]?.guest.consumed(), "the cached fuel local changes no charge");
});
