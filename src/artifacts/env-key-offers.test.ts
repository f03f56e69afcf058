import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { AuditLog } from "../audit/index.js";
import { envKeyOffers, envKeyOffersEvent, recordEnvKeyOffers } from "./env-key-offers.js";

describe("envKeyOffers", () => {
  it("names key-like cordon variables and generic private keys, never their values", async () => {
    const env = {
      CORDON_TRUST_ROOT: "-----BEGIN PUBLIC KEY-----",
      CORDON_SIGNING_KEY: "secret-material",
      CORDON_TOKEN: "eyJ...",
      GITHUB_APP_PRIVATE_KEY: "pem",
      CORDON_HOME: "/tmp/x",
      PATH: "/usr/bin",
      HOME: "/root",
    };
    const names = envKeyOffers(env);
    assert.deepEqual(names, ["CORDON_SIGNING_KEY", "CORDON_TOKEN", "CORDON_TRUST_ROOT", "GITHUB_APP_PRIVATE_KEY"]);
    const event = envKeyOffersEvent(names);
    assert.ok(event !== null);
    const audit = AuditLog.memory();
    const rec = await audit.append(event);
    const text = JSON.stringify(rec);
    for (const value of Object.values(env).filter((v) => v.length > 3 && !v.startsWith("/"))) assert.ok(!text.includes(value), value);
    assert.equal(rec.type, "key.env-ignored");
    assert.equal(rec["count"], 4);
  });

  it("offers nothing for an ordinary environment", () => {
    assert.deepEqual(envKeyOffers({ PATH: "/bin", CORDON_HOME: "/x", LANG: "C" }), []);
    assert.equal(envKeyOffersEvent([]), null);
  });

  it("recordEnvKeyOffers writes one key-source record by name for offered keys, and none for an ordinary environment", async () => {
    const log = AuditLog.memory();
    assert.deepEqual(await recordEnvKeyOffers({ PATH: "/bin" }, log), []);
    assert.equal(log.recordsAfter(0).length, 0);
    assert.deepEqual(await recordEnvKeyOffers({ CORDON_ISSUER_KEY: "-----BEGIN PRIVATE KEY-----abc", PATH: "/bin" }, log), ["CORDON_ISSUER_KEY"]);
    const records = log.recordsAfter(0);
    assert.deepEqual(records.map((r) => [r.type, r.enforcer, r["variables"]]), [["key.env-ignored", "key-source", ["CORDON_ISSUER_KEY"]]]);
    assert.ok(!JSON.stringify(records).includes("PRIVATE KEY"));
  });
});
