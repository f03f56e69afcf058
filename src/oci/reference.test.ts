import assert from "node:assert/strict";
import { test } from "node:test";
import { formatReference, parseReference } from "./reference.js";

const D = `sha256:${"ab".repeat(32)}`;

void test("references name a registry and a tag or a digest; loopback registries speak HTTP, others HTTPS", () => {
  const r = parseReference(`127.0.0.1:5000/cordon/example@${D}`);
  assert.deepEqual([r.registry, r.repository, r.tag, r.digest, r.scheme], ["127.0.0.1:5000", "cordon/example", null, D, "http:"]);
  const t = parseReference("registry.example.com/team/tools:v1.2");
  assert.deepEqual([t.registry, t.repository, t.tag, t.digest, t.scheme], ["registry.example.com", "team/tools", "v1.2", null, "https:"]);
  assert.equal(parseReference(`localhost:5000/a:v1@${D}`).scheme, "http:");
  assert.equal(formatReference(parseReference(`localhost:5000/a:v1@${D}`)), `localhost:5000/a:v1@${D}`);
});

void test("anything else is refused with ERR_OCI_REFERENCE_INVALID", () => {
  for (const bad of ["cordon/example:v1", "127.0.0.1:5000/cordon/example", `http://127.0.0.1:5000/a@${D}`, "127.0.0.1:5000/Upper:v1", "127.0.0.1:5000/a/../b:v1", `127.0.0.1:5000/a@sha256:${"AB".repeat(32)}`, "127.0.0.1:99999/a:v1", "127.0.0.1:5000/a:-bad", `h/${"a".repeat(600)}:v1`]) {
    assert.throws(() => parseReference(bad), { code: "ERR_OCI_REFERENCE_INVALID" }, bad);
  }
});
