// Runs in a worker thread (swap-race.ts): replaces `target` atomically, by hard-linking the
// good or the evil file to a staging name and renaming that over it, until told to stop.
import { linkSync, renameSync, rmSync } from "node:fs";
import { parentPort, workerData } from "node:worker_threads";

const { target, good, evil, stop } = workerData as { target: string; good: string; evil: string; stop: SharedArrayBuffer };
const flag = new Int32Array(stop);
const staging = `${target}.swap`;
let swaps = 0;

function swapIn(source: string): void {
  try {
    linkSync(source, staging);
    renameSync(staging, target);
    swaps += 1;
  } catch {
    rmSync(staging, { force: true });
  }
}

swapIn(evil);
parentPort?.postMessage("swapping");
while (Atomics.load(flag, 0) === 0) {
  swapIn(good);
  swapIn(evil);
}
parentPort?.postMessage(swaps);
