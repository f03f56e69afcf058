import assert from "node:assert/strict";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { checkSeccompWorks } from "./load-check.js";

void test("seccomp through bwrap works on this host", () => {
  assert.deepEqual(checkSeccompWorks(), { ok: true });
});

void test("no bwrap: not ok, and says what is missing", () => {
  const r = checkSeccompWorks({ bwrap: "/nonexistent/bwrap" });
  assert.deepEqual(r, { ok: false, missing: "cannot run /nonexistent/bwrap (ENOENT)" });
});

void test("no probe interpreter inside the sandbox: not ok", () => {
  const r = checkSeccompWorks({ python: "/usr/bin/no-such-python" });
  assert.equal(r.ok, false);
  assert.match(!r.ok ? r.missing : "", /^bwrap --seccomp probe ended with status 1: .*no-such-python/);
});

void test("an arch without a syscall table: not ok, with the typed error's code", () => {
  const r = checkSeccompWorks({ arch: "riscv64" });
  assert.equal(r.ok, false);
  assert.match(!r.ok ? r.missing : "", /^seccomp filter \(ERR_SECCOMP_ARCH_UNSUPPORTED\)/);
});

void test("a 'bwrap' that ignores --seccomp is caught: the answers give it away", () => {
  const dir = mkdtempSync(join(tmpdir(), "cordon-fake-bwrap-"));
  try {
    chmodSync(dir, 0o755);
    const fake = join(dir, "bwrap");
    // runs the command after "--" with no sandbox and no filter
    writeFileSync(fake, '#!/bin/sh\nwhile [ "$1" != "--" ]; do shift; done\nshift\nexec "$@"\n', { mode: 0o755 });
    const r = checkSeccompWorks({ bwrap: fake });
    assert.deepEqual(r, {
      ok: false,
      missing: 'the filter is not enforced: socket(AF_INET), socket(AF_UNIX), clone3 gave "OK OK EINVAL", expected "EPERM OK ENOSYS"',
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

void test("a probe that hangs: not ok once the timeout passes", () => {
  const r = checkSeccompWorks({ timeoutMs: 1 });
  assert.deepEqual(r, { ok: false, missing: "the bwrap --seccomp probe did not finish within 1 ms" });
});
