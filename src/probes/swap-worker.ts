// Runs in a worker thread during the race probe: swaps `sub` between a real directory and a
// symlink to a directory outside the jail, as fast as it can, until told to stop.
import { renameSync } from "node:fs";
import { join } from "node:path";
import { parentPort, workerData } from "node:worker_threads";

const { root, stop } = workerData as { root: string; stop: SharedArrayBuffer };
const flag = new Int32Array(stop);
let swaps = 0;
const sub = join(root, "sub");
const real = join(root, ".sub-real");
const link = join(root, ".sub-link");
while (Atomics.load(flag, 0) === 0) {
  try {
    renameSync(real, sub);
    renameSync(sub, real);
    renameSync(link, sub);
    renameSync(sub, link);
    swaps += 2;
  } catch {
    // A concurrent open may hold nothing that blocks rename on Linux; any failure is just retried.
  }
}
parentPort?.postMessage(swaps);
