#!/usr/bin/env node
// Builds cordon's native probe fixture (guests/native/hostile.c) for the host: it runs inside
// cells and as a process-tier tool to attack the OS sandbox. Needs a C compiler (gcc or clang).
import { spawnSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const out = path.join(ROOT, "build", "native");
mkdirSync(out, { recursive: true });
const cc = process.env.CC || "cc";
// hostile: the probe fixture. cordon-launch: closes stray fds, sets rlimits, supervises seccomp.
// cordon-seccomp-exec: installs the filter with a listener inside the sandbox; static, so it
// runs in any root filesystem (a container's, a microVM's) whatever its libc.
for (const [name, src, extra] of [["hostile", "hostile.c", []], ["cordon-launch", "launch.c", []], ["cordon-seccomp-exec", "seccomp-exec.c", ["-static"]]]) {
  const args = ["-O2", "-Wall", "-Wextra", "-Werror", ...extra, "-o", path.join(out, name), path.join(ROOT, "guests", "native", src)];
  const r = spawnSync(cc, args, { shell: false, encoding: "utf8" });
  if (r.error || r.status !== 0) {
    process.stderr.write(`build-native: ${cc} failed: ${r.error?.message ?? r.stderr}\nrun: apt-get install gcc libc6-dev\n`);
    process.exit(1);
  }
  process.stdout.write(`built build/native/${name} with ${cc}\n`);
}
