import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { GuestTrap, LimitExceeded, ToolNotFound, ToolRefused } from "../../errors.js";
import type { Grant, Limits } from "../../types/tool.js";
import { OK_TOOL_WAT, watToWasm } from "../../testing/policy-fixture.js";
import type { ToolTemplate } from "./types.js";
import { WasmCell } from "./wasm-cell.js";

const LIMITS: Limits = {
  memoryBytes: 1024 * 1024,
  fuel: 5_000_000,
  wallClockMs: 2_000,
  inputBytes: 1024,
  outputBytes: 1024,
  moduleBytes: 1024 * 1024,
  pids: 16,
  maxFunctions: 1000,
  maxTableElements: 1000,
  maxOpenFiles: 8,
  diskBytes: 64 * 1024 * 1024,
};

async function template(wat: string, over: Partial<Omit<ToolTemplate, "limits">> & { limits?: Partial<Limits> } = {}): Promise<ToolTemplate> {
  return {
    name: over.name ?? "t",
    abi: over.abi ?? "wasi-command",
    moduleBytes: await watToWasm(wat),
    limits: { ...LIMITS, ...over.limits },
    grants: over.grants ?? ([] as Grant[]),
  };
}

const SPIN = `(module (memory (export "memory") 1) (func (export "_start") (loop br 0)))`;
const RECURSE = `(module (memory (export "memory") 1)
  (func $down (param i32) (result i32) (call $down (i32.add (local.get 0) (i32.const 1))))
  (func (export "_start") (drop (call $down (i32.const 0)))))`;
const TRAP = `(module (memory (export "memory") 1)
  (func $explode (unreachable))
  (func (export "_start") (call $explode)))`;
const GROW = `(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "_start") (local $n i32)
    (block $done (loop $l
      (br_if $done (i32.eq (memory.grow (i32.const 1)) (i32.const -1)))
      (local.set $n (i32.add (local.get $n) (i32.const 1)))
      (br $l)))
    ;; writes "{}" once growth is refused
    (i32.store (i32.const 0) (i32.const 100))
    (i32.store (i32.const 4) (i32.const 2))
    (i32.store16 (i32.const 100) (i32.const 0x7d7b))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))`;
const FLOOD = `(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "_start")
    (i32.store (i32.const 0) (i32.const 64))
    (i32.store (i32.const 4) (i32.const 512))
    (loop $l (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8))) (br $l))))`;
/** A reactor counting calls: responds with the count as one ASCII digit JSON number. */
const COUNTER = `(module
  (memory (export "memory") 1)
  (global $n (mut i32) (i32.const 0))
  (func (export "cordon_alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "handle_message") (param i32 i32) (result i32)
    (global.set $n (i32.add (global.get $n) (i32.const 1)))
    (if (i32.eq (global.get $n) (i32.const 3)) (then unreachable))
    (i32.const 1))
  (func (export "get_response") (param i32 i32) (result i32)
    (i32.store8 (local.get 0) (i32.add (i32.const 48) (global.get $n)))
    (i32.const 1)))`;

describe("WasmCell", () => {
  it("runs a wasi-command and returns its stdout", async () => {
    const cell = new WasmCell([await template(OK_TOOL_WAT)]);
    const out = cell.call("t", new TextEncoder().encode("{}"));
    assert.ok(out.ok, JSON.stringify(out));
    assert.equal(new TextDecoder().decode(out.output), '{"ok":true}');
    assert.ok(out.stats.fuelUsed > 0);
  });

  it("stops an infinite loop with LimitExceeded(fuel) after exactly the budget, deterministically, and stays usable", async () => {
    const cell = new WasmCell([await template(SPIN, { name: "spin" }), await template(OK_TOOL_WAT)]);
    const a = cell.call("spin", new Uint8Array());
    const b = cell.call("spin", new Uint8Array());
    for (const r of [a, b]) {
      assert.equal(r.ok, false);
      assert.ok(!r.ok && r.error instanceof LimitExceeded && r.error.limit === "fuel");
      assert.equal(!r.ok && r.enforcer, "wasm-fuel");
    }
    assert.equal(a.stats.fuelUsed, b.stats.fuelUsed);
    assert.ok(a.stats.fuelUsed >= LIMITS.fuel);
    assert.ok(cell.call("t", new Uint8Array()).ok);
  });

  it("stops a spinning guest at the wall-clock deadline when fuel is not the bound", async () => {
    const cell = new WasmCell([await template(SPIN, { limits: { wallClockMs: 50 } })]);
    const started = performance.now();
    const r = cell.call("t", new Uint8Array(), { fuelOverride: Number.MAX_SAFE_INTEGER });
    const ms = performance.now() - started;
    assert.ok(!r.ok && r.error instanceof LimitExceeded && r.error.limit === "wall-clock", JSON.stringify(r));
    assert.equal(!r.ok && r.enforcer, "wasm-deadline");
    assert.ok(ms >= 50 && ms < 1000, `took ${ms}ms`);
  });

  it("turns unbounded recursion into LimitExceeded(stack)", async () => {
    const cell = new WasmCell([await template(RECURSE)]);
    const r = cell.call("t", new Uint8Array(), { fuelOverride: Number.MAX_SAFE_INTEGER });
    assert.ok(!r.ok && r.error instanceof LimitExceeded && r.error.limit === "stack", JSON.stringify(r));
    assert.equal(!r.ok && r.enforcer, "wasm-stack-guard");
  });

  it("reports a trap with the guest function's name", async () => {
    const cell = new WasmCell([await template(TRAP)]);
    const r = cell.call("t", new Uint8Array());
    assert.ok(!r.ok && r.error instanceof GuestTrap, JSON.stringify(r));
    assert.ok(!r.ok && r.error instanceof GuestTrap && r.error.frames.some((f) => f.includes("explode")), !r.ok && r.error instanceof GuestTrap ? r.error.frames.join(",") : "");
    assert.equal(!r.ok && r.enforcer, null);
  });

  it("caps memory: memory.grow fails at the cap and the refusal is reported to wasm-memory-cap", async () => {
    const cell = new WasmCell([await template(GROW, { limits: { memoryBytes: 4 * 65536 } })]);
    const r = cell.call("t", new Uint8Array());
    assert.ok(r.ok, JSON.stringify(r));
    assert.equal(r.stats.memoryBytes, 4 * 65536);
    assert.deepEqual(r.denials.map((d) => d.enforcer), ["wasm-memory-cap"]);
  });

  it("stops an output flood at the cap", async () => {
    const cell = new WasmCell([await template(FLOOD)]);
    const r = cell.call("t", new Uint8Array());
    assert.ok(!r.ok && r.error instanceof LimitExceeded && r.error.limit === "output", JSON.stringify(r));
    assert.equal(!r.ok && r.enforcer, "io-cap");
  });

  it("refuses input over the cap before instantiating", async () => {
    const cell = new WasmCell([await template(OK_TOOL_WAT, { limits: { inputBytes: 4 } })]);
    const r = cell.call("t", new Uint8Array(5));
    assert.ok(!r.ok && r.error instanceof LimitExceeded && r.error.limit === "input");
  });

  it("keeps reactor state across calls in one cell, drops it after a trap, and never shares it with another cell", async () => {
    const t = await template(COUNTER, { abi: "reactor" });
    const cell = new WasmCell([t]);
    const text = (r: ReturnType<WasmCell["call"]>) => (r.ok ? new TextDecoder().decode(r.output) : r.error.code);
    assert.equal(text(cell.call("t", new Uint8Array(2))), "1");
    assert.equal(text(cell.call("t", new Uint8Array(2))), "2");
    assert.equal(text(cell.call("t", new Uint8Array(2))), "ERR_GUEST_TRAP");
    assert.equal(text(cell.call("t", new Uint8Array(2))), "1", "a trapped instance must be replaced by a fresh one");
    const other = new WasmCell([t]);
    assert.equal(text(other.call("t", new Uint8Array(2))), "1");
    cell.close();
    assert.throws(() => cell.call("t", new Uint8Array(2)), ToolNotFound);
  });

  it("refuses at load a module importing something its grants do not cover, naming the import and enforcer", async () => {
    const wat = `(module (import "wasi_snapshot_preview1" "clock_time_get" (func (param i32 i64 i32) (result i32)))
      (memory (export "memory") 1) (func (export "_start")))`;
    const err = await template(wat).then((t) => {
      try {
        new WasmCell([t]);
        return undefined;
      } catch (e) {
        return e;
      }
    });
    assert.ok(err instanceof ToolRefused);
    assert.equal(err.enforcer, "wasi-clock");
    assert.deepEqual(err.fields().importName, "clock_time_get");
    const granted = await template(wat, { grants: [{ kind: "clock" }] });
    assert.doesNotThrow(() => new WasmCell([granted]));
  });

  it("refuses a module that lacks its ABI's exports", async () => {
    const t = await template(OK_TOOL_WAT, { abi: "reactor" });
    assert.throws(() => new WasmCell([t]), (e: unknown) => e instanceof ToolRefused && e.reason.code === "ERR_MODULE_REFUSED");
  });

  it("a tool outside the template does not exist in the cell", async () => {
    const cell = new WasmCell([await template(OK_TOOL_WAT)]);
    assert.deepEqual(cell.toolNames(), ["t"]);
    assert.throws(() => cell.call("other", new Uint8Array()), ToolNotFound);
  });
});
