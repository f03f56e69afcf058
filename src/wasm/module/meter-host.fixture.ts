// Test support: a minimal host for instrumented modules — a fuel meter that hands out slices and
// stops the guest after a number of refills, a memory.grow that always asks the VM (so tests
// can show the VM, not the host, enforces the cap), and the __cordon_start call the engine makes
// once fuel and memory are bound.
import { START_EXPORT } from "./meter-abi.js";

export class OutOfFuel extends Error {}

export interface MeteredInstance {
  readonly exports: WebAssembly.Exports;
  readonly fuel: WebAssembly.Global;
  readonly memory: WebAssembly.Memory | undefined;
  /** Refill calls so far (after instantiation). */
  refills(): number;
  /** Refill calls made while instantiating (none: instrumentation removes the start section). */
  readonly refillsDuringInstantiation: number;
  /** Fuel consumed so far (sums every slice's use). */
  consumed(): bigint;
  /** Each grow call: requested delta and what the guest got back. */
  readonly grows: { delta: number; result: number }[];
}

export interface HostOptions {
  /** Fuel loaded by each refill (and before returning the instance). */
  readonly slice?: bigint;
  /** Refills granted before refill throws OutOfFuel. */
  readonly refillsAllowed?: number;
  readonly imports?: WebAssembly.Imports;
  /** Call `__cordon_start` (when exported) after binding, as the engine does. Default true. */
  readonly runStart?: boolean;
}

/** `module`: instrumented bytes, or an already compiled instrumented module. */
export function instantiateMetered(module: Uint8Array<ArrayBuffer> | WebAssembly.Module, opts: HostOptions = {}): MeteredInstance {
  const slice = opts.slice ?? 1_000_000_000n;
  const allowed = opts.refillsAllowed ?? Number.POSITIVE_INFINITY;
  // Bound once the instance exists; nothing in the guest should run before that.
  const bound: { fuel: WebAssembly.Global | undefined; memory: WebAssembly.Memory | undefined } = {
    fuel: undefined,
    memory: undefined,
  };
  let refills = 0;
  let used = 0n;
  let sliceStart = 0n;
  const grows: { delta: number; result: number }[] = [];
  const settle = (): void => {
    if (bound.fuel === undefined) return;
    const left = bound.fuel.value as bigint;
    used += sliceStart - left;
    sliceStart = left;
  };
  const load = (): void => {
    if (bound.fuel === undefined) return;
    bound.fuel.value = slice;
    sliceStart = slice;
  };
  const meter = {
    refill: (): void => {
      refills++;
      settle();
      if (bound.fuel !== undefined && refills > allowed) throw new OutOfFuel("out of fuel");
      load();
    },
    grow: (delta: number): number => {
      let result = -1;
      try {
        result = bound.memory === undefined ? -1 : bound.memory.grow(delta);
      } catch {
        result = -1; // the VM refused: the cap is in the module's own limits
      }
      grows.push({ delta, result });
      return result;
    },
  };
  const instance = new WebAssembly.Instance(module instanceof WebAssembly.Module ? module : new WebAssembly.Module(module), { ...opts.imports, cordon_meter: meter });
  const exported = instance.exports;
  const fuel = exported.__cordon_fuel as WebAssembly.Global;
  const memory = exported.__cordon_memory as WebAssembly.Memory | undefined;
  bound.fuel = fuel;
  bound.memory = memory;
  const refillsDuringInstantiation = refills;
  refills = 0;
  load();
  const start = exported[START_EXPORT];
  if (opts.runStart !== false && typeof start === "function") start();
  return {
    exports: exported,
    fuel,
    memory,
    refills: () => refills,
    refillsDuringInstantiation,
    consumed: () => {
      settle();
      return used;
    },
    grows,
  };
}
