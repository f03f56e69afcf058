// Baseline: the Extism JS SDK running the same original (uninstrumented) module.
//
// Extism's plugin ABI passes input through its own host functions (extism:host/env), not
// stdin. With `useWasi: true` on Node it backs WASI with node:wasi and wires stdin and stdout
// to /dev/null (stdout goes to the real process stdout only with enableWasiOutput), so a
// plain WASI command like echo gets empty stdin and its output is discarded. What can be
// measured is what Extism does for such a module: create a plugin (instantiate + WASI setup,
// two /dev/null opens), call `_start`, close the plugin.
import type { ExtismPluginOptions, ManifestLike, Plugin } from "@extism/extism";

export const EXTISM_LIMITATION =
  "Extism JS SDK: a plain WASI command gets stdin and stdout on /dev/null (Extism passes input/output through its own " +
  "extism:host/env ABI), so echo reads EOF and writes nothing; timed is createPlugin(compiled module, { useWasi: true }) " +
  "+ plugin.call('_start') + plugin.close() -- the fresh-instance cost without the stdin/stdout copy.";

type CreatePlugin = (manifest: ManifestLike, opts?: ExtismPluginOptions) => Promise<Plugin>;

export interface ExtismHost {
  /** One fresh plugin per call, like cordon's fresh instance per call. */
  freshCall(): Promise<void>;
  /** A plugin kept across calls: the SDK's per-call overhead with no instantiation. */
  reusedPlugin(): Promise<{ call(): Promise<void>; close(): Promise<void> }>;
}

/** Loads the SDK lazily, so a missing or broken SDK is a reported row, not a crashed run. */
export async function loadExtism(module: WebAssembly.Module): Promise<ExtismHost> {
  const sdk = (await import("@extism/extism")) as { createPlugin: CreatePlugin };
  const newPlugin = () => sdk.createPlugin(module, { useWasi: true, runInWorker: false, enableWasiOutput: false });
  return {
    freshCall: async () => {
      const plugin = await newPlugin();
      try {
        await plugin.call("_start");
      } finally {
        await plugin.close();
      }
    },
    reusedPlugin: async () => {
      const plugin = await newPlugin();
      return {
        call: async () => {
          await plugin.call("_start");
        },
        close: () => plugin.close(),
      };
    },
  };
}
