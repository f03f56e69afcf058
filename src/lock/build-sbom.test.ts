import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { buildSbom, type SbomOptions } from "./build-sbom.js";
import { makeLockFixture } from "./lock-fixture.js";

type Obj = Record<string, unknown>;
const fixed: Pick<SbomOptions, "now" | "serialNumber" | "versionOf"> = {
  now: () => new Date("2026-01-02T03:04:05.000Z"),
  serialNumber: () => "00000000-0000-4000-8000-000000000000",
  versionOf: (component) => Promise.resolve(component === "node" ? "20.19.0" : null),
};

const sha256 = (path: string) => createHash("sha256").update(readFileSync(path)).digest("hex");

describe("cordon sbom", () => {
  it("from the lockfile when npm cannot run: runtime packages only, host binaries with sha256, absent ones noted", async () => {
    const f = makeLockFixture();
    const { bom, base } = await buildSbom(f.root, { ...f.options, ...fixed, npm: () => Promise.reject(new Error("offline")) });
    assert.equal(base, "package-lock.json");
    assert.equal(bom["specVersion"], "1.5");
    assert.equal(bom["bomFormat"], "CycloneDX");
    const components = bom["components"] as Obj[];
    assert.deepEqual(components.map((c) => c["bom-ref"]), ["dep@1.0.0", "inner@0.1.0", "host:node", "host:bwrap"]);
    const dep = components[0] as Obj;
    assert.equal(dep["purl"], "pkg:npm/dep@1.0.0");
    assert.deepEqual(dep["hashes"], [{ alg: "SHA-512", content: Buffer.from("dep").toString("hex") }]);
    assert.deepEqual(dep["licenses"], [{ license: { id: "MIT" } }]);
    const node = components[2] as Obj;
    assert.equal(node["version"], "20.19.0");
    assert.deepEqual(node["hashes"], [{ alg: "SHA-256", content: sha256(join(f.bin, "node")) }]);
    assert.deepEqual((components[3] as Obj)["hashes"], [{ alg: "SHA-256", content: sha256(join(f.bin, "bwrap")) }]);
    const meta = bom["metadata"] as Obj;
    assert.deepEqual(meta["properties"], [{ name: "cordon:absent", value: "sandbox:runsc" }]);
    assert.equal((meta["component"] as Obj)["bom-ref"], "fixture@1.0.0");
    const deps = new Map((bom["dependencies"] as Obj[]).map((d) => [d["ref"], d["dependsOn"]]));
    assert.deepEqual(deps.get("fixture@1.0.0"), ["dep@1.0.0", "host:node", "host:bwrap"]);
    assert.deepEqual(deps.get("dep@1.0.0"), ["inner@0.1.0"]);
  });

  it("on npm sbom's base: keeps npm's entries for runtime packages, drops dev ones and dev edges, fills in what npm left out", async () => {
    const f = makeLockFixture();
    let called: readonly string[] = [];
    const npmDoc = {
      bomFormat: "CycloneDX",
      specVersion: "1.5",
      metadata: { tools: [{ vendor: "npm", name: "cli", version: "11.0.0" }] },
      components: [
        { "bom-ref": "dep@1.0.0", type: "library", name: "dep", version: "1.0.0", description: "from npm" },
        { "bom-ref": "devdep@2.0.0", type: "library", name: "devdep", version: "2.0.0", properties: [{ name: "cdx:npm:package:development", value: "true" }] },
      ],
      dependencies: [
        { ref: "fixture@1.0.0", dependsOn: ["dep@1.0.0", "devdep@2.0.0"] },
        { ref: "dep@1.0.0", dependsOn: [] },
        { ref: "devdep@2.0.0", dependsOn: [] },
      ],
    };
    const npm = (args: readonly string[]) => {
      called = args;
      return Promise.resolve(JSON.stringify(npmDoc));
    };
    const { bom, base } = await buildSbom(f.root, { ...f.options, ...fixed, npm });
    assert.equal(base, "npm sbom");
    assert.equal(called.includes("--omit"), false, "npm's --omit dev drops production packages (npm/cli#7909)");
    const components = bom["components"] as Obj[];
    assert.deepEqual(components.map((c) => c["bom-ref"]), ["dep@1.0.0", "inner@0.1.0", "host:node", "host:bwrap"]);
    assert.equal(components[0]?.["description"], "from npm");
    const deps = new Map((bom["dependencies"] as Obj[]).map((d) => [d["ref"], d["dependsOn"]]));
    assert.deepEqual(deps.get("fixture@1.0.0"), ["dep@1.0.0", "host:node", "host:bwrap"]);
    assert.equal(deps.has("devdep@2.0.0"), false);
  });
});
