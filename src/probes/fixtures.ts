// Hostile fixtures are built from source by scripts/build-guests.mjs into build/fixtures/.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { ArtifactUnreadable } from "../errors.js";

const FIXTURE_DIR = fileURLToPath(new URL("../../build/fixtures/", import.meta.url));

export function fixturePath(name: string): string {
  return `${FIXTURE_DIR}${name}.wasm`;
}

export function loadFixture(name: string): Uint8Array {
  try {
    return readFileSync(fixturePath(name));
  } catch (err) {
    throw new ArtifactUnreadable(`fixture ${name}`, `${(err as NodeJS.ErrnoException).code ?? "read failed"} (run npm run build)`);
  }
}
