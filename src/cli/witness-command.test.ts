// `cordon witness` and `cordon audit verify --witness` through the real binary, and a strict
// start (what serve and up run) whose checkpoints go to that witness.
import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { checkpointPath } from "../audit/checkpoint-payload.js";
import { cosignaturePath } from "../audit/witness-payload.js";
import { freshSigningKey, writeWitnessedLog } from "../audit/witness/witness.fixture.js";
import { loadTrustedKeyFile } from "../crypto/load-key-file.js";
import { EXAMPLE_POLICY } from "../config/defaults.js";
import { trustedStart } from "./trusted-start.js";

const MAIN = fileURLToPath(new URL("./main.js", import.meta.url));

function cordon(args: string[], home: string) {
  const r = spawnSync(process.execPath, [MAIN, ...args], { encoding: "utf8", env: { PATH: process.env["PATH"] ?? "", CORDON_HOME: home }, timeout: 120_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** Starts `cordon witness` on a free loopback port; resolves with its URL once it listens. */
async function startWitnessProcess(data: string): Promise<{ child: ChildProcess; url: string; exited: Promise<number | null> }> {
  const child = spawn(process.execPath, [MAIN, "witness", "--listen", "127.0.0.1:0", "--data", data], { stdio: ["ignore", "pipe", "pipe"], env: { PATH: process.env["PATH"] ?? "" } });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const lines = createInterface({ input: child.stdout ?? assert.fail("no stdout") });
  const url = await new Promise<string>((resolve, reject) => {
    lines.once("line", resolve);
    void exited.then((code) => reject(new Error(`cordon witness exited ${code}`)));
  });
  return { child, url, exited };
}

describe("cordon witness and audit verify --witness", () => {
  const home = mkdtempSync(join(tmpdir(), "cordon-wcli-"));
  const data = join(mkdtempSync(join(tmpdir(), "cordon-wcli-")), "witness");
  const witnessKey = join(data, "witness.key.pub");
  const signer = freshSigningKey();
  const logKey = join(home, "checkpoint.pub");
  let witness: Awaited<ReturnType<typeof startWitnessProcess>>;

  before(async () => {
    witness = await startWitnessProcess(data);
    const [publicKey] = [...signer.trusted.values()];
    writeFileSync(logKey, publicKey?.export({ type: "spki", format: "pem" }) ?? "");
  });
  after(async () => {
    if (witness.child.exitCode === null) witness.child.kill("SIGTERM");
    await witness.exited;
  });

  it("verifies an intact witnessed log, and exits 1 with ERR_AUDIT_TRUNCATED once both files are cut back", async () => {
    assert.equal(statSync(join(data, "witness.key")).mode & 0o777, 0o600, "the witness's own key, made on first start");
    // Its own name: a witness pins one checkpoint key per log name.
    const path = join(mkdtempSync(join(tmpdir(), "cordon-wcli-")), "first.jsonl");
    await writeWitnessedLog(path, signer.key, witness.url, await loadTrustedKeyFile(witnessKey), 10, 3);
    const ok = cordon(["audit", "verify", path, "--key", logKey, "--witness", witness.url, "--witness-key", witnessKey], home);
    assert.equal(ok.code, 0, ok.err + ok.out);
    assert.match(ok.out, /witness: cosigned seq 10/);
    const fromFile = cordon(["audit", "verify", path, "--key", logKey, "--witness", cosignaturePath(path), "--witness-key", witnessKey], home);
    assert.equal(fromFile.code, 0, fromFile.err + fromFile.out);

    writeFileSync(path, readFileSync(path, "utf8").split("\n").slice(0, 6).join("\n") + "\n");
    writeFileSync(checkpointPath(path), readFileSync(checkpointPath(path), "utf8").split("\n").slice(0, 2).join("\n") + "\n");
    const alone = cordon(["audit", "verify", path, "--key", logKey], home);
    assert.equal(alone.code, 0, "the checkpoints alone cannot tell");
    assert.match(alone.out, /not checked against a witness/);
    const caught = cordon(["audit", "verify", path, "--key", logKey, "--witness", witness.url, "--witness-key", witnessKey], home);
    assert.equal(caught.code, 1);
    assert.match(caught.out, /^TAMPERED: .*truncated/m);
    assert.match(caught.err, /ERR_AUDIT_TRUNCATED/);
    // The witness key of another witness does not vouch.
    const other = freshSigningKey();
    const otherPub = join(home, "other-witness.pub");
    writeFileSync(otherPub, [...other.trusted.values()][0]?.export({ type: "spki", format: "pem" }) ?? "");
    const foreign = cordon(["audit", "verify", path, "--key", logKey, "--witness", witness.url, "--witness-key", otherPub], home);
    assert.equal(foreign.code, 1);
    assert.match(foreign.err, /ERR_AUDIT_WITNESS_INVALID/);
    assert.equal(cordon(["audit", "verify", path, "--witness", witness.url], home).code, 2, "--witness without --witness-key (and --key) is a usage error");
  });

  it("a strict start with --witness sends its checkpoints there; with the witness gone, verify exits 1 (unreachable)", async () => {
    assert.equal(cordon(["init"], home).code, 0);
    const audit = join(home, "audit.jsonl");
    const started = await trustedStart({ policy: EXAMPLE_POLICY, audit, strict: true, isolation: "in-process", env: { CORDON_HOME: home }, witness: { url: witness.url, keyFile: witnessKey } });
    for (let i = 0; i < 3; i++) await started.runtime.record({ type: "probe.ran", probe: `p${i}` });
    await started.runtime.close();
    const ok = cordon(["audit", "verify", audit, "--key", join(home, "checkpoint.key.pub"), "--witness", witness.url, "--witness-key", witnessKey], home);
    assert.equal(ok.code, 0, ok.err + ok.out);
    const head = readFileSync(audit, "utf8").trimEnd().split("\n").length;
    assert.match(ok.out, new RegExp(`witness: cosigned seq ${head} `));
    assert.ok(!readFileSync(audit, "utf8").includes("audit.witness-unreachable"));

    witness.child.kill("SIGTERM");
    assert.equal(await witness.exited, 0);
    const down = cordon(["audit", "verify", audit, "--key", join(home, "checkpoint.key.pub"), "--witness", witness.url, "--witness-key", witnessKey], home);
    assert.equal(down.code, 1);
    assert.match(down.out, /^NOT VERIFIED/m);
    assert.match(down.err, /ERR_AUDIT_WITNESS_UNREACHABLE/);
  });
});
