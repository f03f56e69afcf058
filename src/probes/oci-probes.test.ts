// The distribution rows of `cordon prove` (oci-verify), each against a real registry on
// loopback, on a development trust setup made by `cordon init`: each attack refused with its
// own code and exactly one record naming oci-verify.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { EXAMPLE_POLICY } from "../config/defaults.js";
import { trustedStart, type TrustedStart } from "../cli/trusted-start.js";
import { OCI_PROBES } from "./oci-probes.js";
import { prove } from "./prove.js";
import type { TrustContext } from "./types.js";

const MAIN = fileURLToPath(new URL("../cli/main.js", import.meta.url));

let home = "";
let started: TrustedStart;
let trust: TrustContext;

before(async () => {
  home = mkdtempSync(join(tmpdir(), "cordon-prove-oci-"));
  const init = spawnSync(process.execPath, [MAIN, "init"], { encoding: "utf8", env: { PATH: process.env["PATH"] ?? "", CORDON_HOME: home } });
  assert.equal(init.status, 0, init.stderr);
  started = await trustedStart({ policy: EXAMPLE_POLICY, audit: join(home, "audit.jsonl"), strict: true, isolation: "in-process", env: { CORDON_HOME: home } });
  assert.ok(started.bundle !== null && started.verifier !== null);
  trust = { bundle: started.bundle, verifier: started.verifier, dataDir: home };
});

after(async () => {
  await started.runtime.close();
  rmSync(home, { recursive: true, force: true });
});

const EXPECTED: Readonly<Record<string, string>> = {
  "oci-blob-tampered": "ERR_OCI_DIGEST_MISMATCH",
  "oci-manifest-swapped": "ERR_OCI_DIGEST_MISMATCH",
  "oci-signature-untrusted": "ERR_SIGNATURE_INVALID",
  "oci-rollback": "ERR_ARTIFACT_ROLLBACK",
  "oci-signature-misattached": "ERR_SIGNATURE_INVALID",
  "oci-tag-moved": "ERR_OCI_TAG_MOVED",
  "oci-manifest-oversized": "ERR_OCI_TOO_LARGE",
  "oci-blob-oversized": "ERR_OCI_TOO_LARGE",
  "oci-redirect-foreign": "ERR_OCI_REDIRECT_REFUSED",
  "oci-registry-slow": "ERR_OCI_TIMEOUT",
};

void test("every oci-verify row is proven, each refusal one oci.refused record with its own code", async () => {
  const rows = (await prove(started.runtime, undefined, new Map(OCI_PROBES), trust)).filter((r) => r.enforcer === "oci-verify");
  assert.deepEqual(rows.map((r) => r.check), Object.keys(EXPECTED));
  const log = new Map(started.runtime.audit.recordsAfter(0).map((r) => [r.seq, r]));
  for (const row of rows) {
    assert.equal(row.status, "proven", `${row.check}: ${row.detail}`);
    const record = log.get(row.auditSeq ?? -1);
    assert.deepEqual([record?.type, record?.enforcer, record?.code], ["oci.refused", "oci-verify", EXPECTED[row.check ?? ""]], row.check ?? "");
  }
  assert.match(rows.find((r) => r.check === "oci-signature-misattached")?.detail ?? "", /refused, ERR_SIGNATURE_INVALID/);
  const misattached = log.get(rows.find((r) => r.check === "oci-signature-misattached")?.auditSeq ?? -1);
  assert.match(JSON.stringify(misattached?.["reason"]), /for other bytes/);
  const redirect = log.get(rows.find((r) => r.check === "oci-redirect-foreign")?.auditSeq ?? -1);
  assert.match(JSON.stringify(redirect?.["to"]), /^"http:\/\/localhost:\d+"$/);
});
