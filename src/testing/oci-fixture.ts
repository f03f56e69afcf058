// Test and bench support for distribution: a development data directory with the example
// policy signed (cordon init's keys and signatures, without the runtime lock, which a release
// home never needs), a loopback registry, and skopeo as an independent second client.
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { devInit, RUNTIME_LOCK_FILE } from "../cli/dev-init.js";
import { EXAMPLE_POLICY, PACKAGE_ROOT } from "../config/defaults.js";
import { trustRootPath } from "../artifacts/load-trust-bundle.js";
import { buildRecord } from "../audit/build-record.js";
import type { AuditEvent, AuditRecord } from "../audit/index.js";

export interface DevHome {
  readonly dataDir: string;
  readonly policy: string;
}

/** A data directory with dev keys, a trust bundle and the example policy's signatures. */
export async function devHome(parent: string, name = "home"): Promise<DevHome> {
  const dataDir = join(parent, name);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  // A release home publishes and pulls; it never starts a runtime, so it needs no lock (writing one measures the whole install).
  writeFileSync(join(dataDir, RUNTIME_LOCK_FILE), "{}\n", { mode: 0o644 });
  await devInit({ dataDir, policyPath: EXAMPLE_POLICY, audience: "http://127.0.0.1:8787/mcp", packageRoot: PACKAGE_ROOT });
  return { dataDir, policy: EXAMPLE_POLICY };
}

/** A data directory holding only `from`'s pinned trust root: what a fresh machine that trusts that root starts with. */
export function rootOnlyHome(parent: string, from: string, name = "fresh"): string {
  const dataDir = join(parent, name);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  copyFileSync(trustRootPath(from), trustRootPath(dataDir));
  return dataDir;
}

export function tempDir(prefix = "cordon-oci-"): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export interface Ran {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs skopeo (no shell, a plain environment). */
export function skopeo(args: readonly string[]): Ran {
  const r = spawnSync("skopeo", [...args], { encoding: "utf8", env: { PATH: "/usr/bin:/bin", HOME: tmpdir() }, shell: false, timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** An audit recorder that builds real records (so an event the log would refuse fails here too). */
export function recorder(): { readonly records: AuditRecord[]; append(event: AuditEvent): Promise<AuditRecord> } {
  const records: AuditRecord[] = [];
  return {
    records,
    append(event) {
      const prev = records.at(-1);
      const record = buildRecord(prev === undefined ? null : { seq: prev.seq, hash: prev.hash }, event, new Date());
      records.push(record);
      return Promise.resolve(record);
    },
  };
}
