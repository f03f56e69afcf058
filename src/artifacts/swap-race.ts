// Support for the module-swap race (a unit test and a `cordon prove` probe): a worker thread
// replaces a file, with rename(2), alternately by a good and an evil version, as fast as it
// can, while the caller loads whatever the file holds at that instant.
import { once } from "node:events";
import { Worker } from "node:worker_threads";

export interface FileSwapper {
  /** Stops the worker; resolves to the number of swaps it made. */
  stop(): Promise<number>;
}

/** Starts swapping `target` between the bytes of `good` and `evil` (files in the same directory); resolves once it has swapped. */
export async function startFileSwapper(files: { readonly target: string; readonly good: string; readonly evil: string }): Promise<FileSwapper> {
  const stop = new SharedArrayBuffer(4);
  const worker = new Worker(new URL("./swap-file-worker.js", import.meta.url), { workerData: { ...files, stop }, env: {} });
  const failed = once(worker, "error").then(([err]) => Promise.reject(err as Error));
  await Promise.race([once(worker, "message"), failed]);
  return {
    async stop() {
      Atomics.store(new Int32Array(stop), 0, 1);
      const [swaps] = (await Promise.race([once(worker, "message"), failed])) as [number];
      await worker.terminate();
      return swaps;
    },
  };
}
