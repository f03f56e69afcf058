import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { checkOrigin, defaultOriginPolicy } from "./origin-check.js";

describe("checkOrigin", () => {
  const loopback = defaultOriginPolicy("127.0.0.1", new URL("http://127.0.0.1:8787"));

  it("accepts this server's and loopback's names, with any port, and requests without an Origin", () => {
    for (const host of ["127.0.0.1:8787", "localhost:8787", "[::1]:8787", "LOCALHOST", "127.0.0.1"]) assert.equal(checkOrigin(host, undefined, loopback), null, host);
    for (const origin of ["http://127.0.0.1:8787", "http://localhost:6274", "https://[::1]:9"]) assert.equal(checkOrigin("127.0.0.1:8787", origin, loopback), null, origin);
  });

  it("refuses foreign, malformed or missing Host values and foreign or opaque Origins", () => {
    for (const host of [undefined, "", "evil.example.com", "evil.example.com:8787", "127.0.0.1.nip.io", "evil.com@127.0.0.1", "127.0.0.1:8787, evil.com", "127.0.0.1 :8787", "0.0.0.0:8787"]) {
      assert.equal(checkOrigin(host, undefined, loopback)?.code, "ERR_GATEWAY_ORIGIN_REFUSED", String(host));
    }
    for (const origin of ["null", "http://evil.example.com", "http://localhost.evil.example.com", "file://", "http://127.0.0.1:8787/path", "ftp://localhost", "http://localhost:1, http://evil.com"]) {
      assert.equal(checkOrigin("127.0.0.1:8787", origin, loopback)?.fields()["header"], "origin", origin);
    }
  });

  it("a server bound to a public name accepts only that name and its own origin", () => {
    const pub = defaultOriginPolicy("0.0.0.0", new URL("https://cordon.example.com"));
    assert.equal(checkOrigin("cordon.example.com", "https://cordon.example.com", pub), null);
    assert.notEqual(checkOrigin("localhost:8787", undefined, pub), null);
    assert.notEqual(checkOrigin("cordon.example.com", "http://localhost:6274", pub), null);
    assert.notEqual(checkOrigin("0.0.0.0", undefined, pub), null);
  });

  it("property: a Host whose name is not allowed is never accepted", () => {
    fc.assert(fc.property(fc.string({ maxLength: 40 }), (name) => {
      const host = name.toLowerCase().split(":")[0] ?? "";
      fc.pre(!["localhost", "127.0.0.1", "[::1]"].includes(host));
      assert.notEqual(checkOrigin(name, undefined, loopback), null);
    }));
  });
});
