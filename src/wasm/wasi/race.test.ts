// The swap race that made node:wasi leak host files: while the guest opens `sub/secret.txt`
// over and over, a worker thread keeps swapping the granted directory `sub` with a symlink to
// an outside directory holding a file of the same name (and, separately, swaps a granted file
// with a symlink to the outside file). Not one read may return outside bytes, not one create
// may land outside — and some attempts must succeed inside, or the race did not really run.

import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, before, test } from "node:test";
import { Worker } from "node:worker_threads";
import { Errno, OFlags, Rights } from "./constants.js";
import { ProxyGuest, compileWat, makeFixture, makeHost, preopen, proxyWat } from "./fixtures.js";
import type { Fixture } from "./fixtures.js";

const INSIDE = "INSIDE-bytes";
const OUTSIDE = "OUTSIDE-bytes";
const READS = 10_000;
const CREATES = 5_000;

const proxy = await compileWat("proxy", proxyWat());

// CommonJS, run with eval: swaps `a` (a real directory or file) with `b` (a symlink) in place.
const SWAPPER = `
const { workerData, parentPort } = require("node:worker_threads");
const fs = require("node:fs");
const { target, parked, link, stop } = workerData;
const flag = new Int32Array(stop);
let swaps = 0, errors = 0;
parentPort.postMessage("ready");
while (Atomics.load(flag, 0) === 0) {
  try {
    fs.renameSync(target, parked); // the real one steps aside
    fs.renameSync(link, target);   // the symlink takes its name
    Atomics.wait(flag, 0, 0, 0.02); // dwell ~20 us in each state so every state gets hit
    fs.renameSync(target, link);
    fs.renameSync(parked, target); // and back
    swaps++;
    Atomics.wait(flag, 0, 0, 0.02);
  } catch { errors++; }
}
parentPort.postMessage({ swaps, errors });
`;

interface Swapper {
  stop(): Promise<{ swaps: number; errors: number }>;
}

async function startSwapper(target: string, link: string): Promise<Swapper> {
  const stop = new SharedArrayBuffer(4);
  const worker = new Worker(SWAPPER, { eval: true, workerData: { target, parked: `${target}.parked`, link, stop } });
  const result = new Promise<{ swaps: number; errors: number }>((resolve, reject) => {
    worker.on("message", (m: unknown) => { if (m !== "ready") resolve(m as { swaps: number; errors: number }); });
    worker.on("error", reject);
  });
  await new Promise<void>((resolve, reject) => {
    worker.once("message", () => resolve());
    worker.once("error", reject);
  });
  return {
    async stop() {
      Atomics.store(new Int32Array(stop), 0, 1);
      const r = await result;
      await worker.terminate();
      return r;
    },
  };
}

let fx: Fixture;
before(() => {
  fx = makeFixture();
  fs.writeFileSync(path.join(fx.outside, "secret.txt"), OUTSIDE);
  fs.mkdirSync(path.join(fx.jail, "sub"));
  fs.writeFileSync(path.join(fx.jail, "sub", "secret.txt"), INSIDE);
  fs.symlinkSync(fx.outside, path.join(fx.jail, "sub.link"));
  fs.mkdirSync(path.join(fx.jail, "files"));
  fs.writeFileSync(path.join(fx.jail, "files", "secret.txt"), INSIDE);
  fs.symlinkSync(path.join(fx.outside, "secret.txt"), path.join(fx.jail, "files", "secret.link"));
});
after(() => fx.cleanup());

interface Tally { inside: number; leaked: number; denied: number; absent: number; other: number }

function probeReads(g: ProxyGuest, p: string, n: number): Tally {
  const t: Tally = { inside: 0, leaked: 0, denied: 0, absent: 0, other: 0 };
  for (let i = 0; i < n; i++) {
    const [e, fd] = g.open(3, p, 0, Rights.FD_READ);
    if (e === Errno.SUCCESS) {
      const [re, text] = g.read(fd);
      g.call("fd_close", fd);
      if (text.includes("OUTSIDE")) t.leaked++;
      else if (re === Errno.SUCCESS && text === INSIDE) t.inside++;
      else t.other++;
    } else if (e === Errno.LOOP || e === Errno.NOTCAPABLE) t.denied++;
    else if (e === Errno.NOENT) t.absent++;
    else t.other++;
  }
  return t;
}

test(`directory <-> symlink swap: ${READS} reads of sub/secret.txt never see outside bytes`, async () => {
  const { host, denials } = makeHost([preopen(fx.jail, false)]);
  const g = new ProxyGuest(host, proxy);
  const swapper = await startSwapper(path.join(fx.jail, "sub"), path.join(fx.jail, "sub.link"));
  const t = probeReads(g, "sub/secret.txt", READS);
  const { swaps } = await swapper.stop();
  host.close();
  console.log(`dir race: ${JSON.stringify(t)} swaps=${swaps}`);
  assert.equal(t.leaked, 0);
  assert.equal(t.other, 0);
  assert.ok(swaps > 0, "the swapper never swapped");
  assert.ok(t.inside > 0, "no read ever succeeded inside: the probe proves nothing");
  assert.ok(t.denied > 0, "no attempt ever met the symlink: the race did not run");
  assert.equal(denials.length, t.denied, "exactly one denial per refused call");
  assert.ok(denials.every((d) => d.code === "ERR_WASI_SYMLINK" || d.code === "ERR_WASI_PATH_ESCAPE"));
});

test(`file <-> symlink swap: ${READS / 2} reads of files/secret.txt never see outside bytes`, async () => {
  const { host, denials } = makeHost([preopen(fx.jail, false)]);
  const g = new ProxyGuest(host, proxy);
  const swapper = await startSwapper(path.join(fx.jail, "files", "secret.txt"), path.join(fx.jail, "files", "secret.link"));
  const t = probeReads(g, "files/secret.txt", READS / 2);
  const { swaps } = await swapper.stop();
  host.close();
  console.log(`file race: ${JSON.stringify(t)} swaps=${swaps}`);
  assert.equal(t.leaked, 0);
  assert.equal(t.other, 0);
  assert.ok(swaps > 0 && t.inside > 0 && t.denied > 0, "the race did not run");
  assert.equal(denials.length, t.denied);
});

test(`directory <-> symlink swap: ${CREATES} creates of sub/new.txt never land outside`, async () => {
  const { host, denials } = makeHost([preopen(fx.jail, true)]);
  const g = new ProxyGuest(host, proxy);
  const before = fs.readdirSync(fx.outside).sort();
  const swapper = await startSwapper(path.join(fx.jail, "sub"), path.join(fx.jail, "sub.link"));
  let created = 0;
  let refused = 0;
  let absent = 0;
  for (let i = 0; i < CREATES; i++) {
    const [e, fd] = g.open(3, "sub/new.txt", OFlags.CREAT | OFlags.TRUNC, Rights.FD_WRITE);
    if (e === Errno.SUCCESS) {
      assert.equal(g.write(fd, "created")[0], Errno.SUCCESS);
      g.call("fd_close", fd);
      created++;
    } else if (e === Errno.LOOP || e === Errno.NOTCAPABLE) refused++;
    else if (e === Errno.NOENT) absent++;
    else assert.fail(`unexpected errno ${e}`);
  }
  const { swaps } = await swapper.stop();
  host.close();
  console.log(`create race: created=${created} refused=${refused} absent=${absent} swaps=${swaps}`);
  assert.deepEqual(fs.readdirSync(fx.outside).sort(), before, "a file was created outside the jail");
  assert.equal(fs.readFileSync(path.join(fx.outside, "secret.txt"), "utf8"), OUTSIDE);
  assert.ok(created > 0 && refused > 0 && swaps > 0, "the race did not run");
  assert.equal(fs.readFileSync(path.join(fx.jail, "sub", "new.txt"), "utf8"), "created");
  assert.equal(denials.length, refused);
});
