// Test helper: a small package root (dist/, build/native/, a lockfile, a fake node_modules)
// and fake host binaries, so lock tests never hash the real 100 MB node binary.
import { generateKeyPairSync, type KeyObject } from "node:crypto";
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { keyId, type SigningKey } from "../crypto/dsse.js";
import type { MeasureOptions } from "./measure-runtime.js";

export interface LockFixture {
  readonly root: string;
  readonly bin: string;
  readonly options: MeasureOptions;
  write(rel: string, text: string): void;
}

const LOCKFILE = {
  name: "fixture",
  version: "1.0.0",
  lockfileVersion: 3,
  packages: {
    "": { name: "fixture", version: "1.0.0", dependencies: { dep: "^1.0.0" }, devDependencies: { devdep: "^2.0.0" } },
    "node_modules/dep": { version: "1.0.0", integrity: "sha512-ZGVw", license: "MIT", dependencies: { inner: "^0.1.0" } },
    "node_modules/dep/node_modules/inner": { version: "0.1.0", integrity: "sha512-aW5uZXI=" },
    "node_modules/devdep": { version: "2.0.0", integrity: "sha512-ZGV2", dev: true },
    "node_modules/@scope/opt": { version: "3.0.0", integrity: "sha512-b3B0", optional: true },
  },
};

export function makeLockFixture(): LockFixture {
  const root = mkdtempSync(join(tmpdir(), "cordon-lock-test-"));
  const bin = join(root, "..", `${root.split("/").pop() ?? "x"}-bin`);
  const write = (rel: string, text: string) => {
    mkdirSync(dirname(join(root, rel)), { recursive: true });
    writeFileSync(join(root, rel), text);
  };
  write("package.json", JSON.stringify({ name: "fixture", version: "1.0.0", dependencies: { dep: "^1.0.0" } }));
  write("package-lock.json", JSON.stringify(LOCKFILE, null, 2));
  write("dist/cli/main.js", "console.log('main');\n");
  write("dist/lock/verify-lock.js", "export {};\n");
  write("build/native/cordon-launch", "\x7fELF fake launcher");
  write("node_modules/dep/package.json", '{"name":"dep","version":"1.0.0"}');
  write("node_modules/dep/index.js", "module.exports = 1;\n");
  write("node_modules/dep/node_modules/inner/index.js", "module.exports = 2;\n");
  write("node_modules/devdep/index.js", "module.exports = 3;\n");
  write("node_modules/.package-lock.json", "{}");
  mkdirSync(bin, { recursive: true });
  for (const name of ["node", "bwrap"]) {
    writeFileSync(join(bin, name), `#!/bin/sh\n# fake ${name}\n`);
    chmodSync(join(bin, name), 0o755);
  }
  return {
    root,
    bin,
    write,
    options: {
      execPath: join(bin, "node"),
      searchPath: bin,
      hostBinaries: [
        { name: "sandbox:bwrap", locate: { inPath: "bwrap" } },
        { name: "sandbox:runsc", locate: { inPath: "runsc" } },
      ],
    },
  };
}

export function testKey(): { key: SigningKey; publicKey: KeyObject; trusted: ReadonlyMap<string, KeyObject> } {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  const keyid = keyId(publicKey);
  return { key: { keyid, privateKey }, publicKey, trusted: new Map([[keyid, publicKey]]) };
}
