// Worker thread: streams the large host files (the node binary) through sha256 on a second
// core while the main thread hashes the many small files. Input: workerData = absolute paths;
// output: one message, the digests in the same order (`special:unreadable` on error).
import { parentPort, workerData } from "node:worker_threads";
import { digestPath, type Measured } from "./hash-files.js";

const paths = workerData as readonly string[];
const results: Measured[] = [];
for (const path of paths) {
  try {
    results.push(await digestPath(path));
  } catch {
    results.push({ digest: "special:unreadable", bytes: 0 });
  }
}
parentPort?.postMessage(results);
