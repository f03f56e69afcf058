// The process tier on this host: real bwrap, seccomp and a cgroup per call. Also the plan
// (pure) and what policy loading accepts for a process tool.
import assert from "node:assert/strict";
import { chmodSync, existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { sha256Hex } from "../crypto/digest.js";
import { AuditLog } from "../audit/index.js";
import { PolicyInvalid } from "../errors.js";
import { loadPolicy, type ProcessTool } from "../policy/load-policy.js";
import { Runtime } from "../runtime/runtime.js";
import type { SessionHost } from "../runtime/session-host.js";
import { makePolicyDir, type PolicyDir } from "../testing/policy-fixture.js";
import { PROCESS_ENV, processArgv, processPlan } from "./process-plan.js";
import { describeWithCells } from "../testing/host.js";

/** A python script: echoes its input, or misbehaves on request. */
const SCRIPT = `import json, sys, os, time
req = json.load(sys.stdin)
op = req.get("op")
if op == "exit": sys.stderr.write("told to fail\\n"); sys.exit(3)
if op == "garbage": sys.stdout.write("not json"); sys.exit(0)
if op == "sleep": time.sleep(30)
if op == "fill":
    written, err = 0, None
    try:
        with open(req["path"], "wb") as f:
            while written < req["bytes"]:
                f.write(b"x" * 65536); f.flush(); written += 65536
    except OSError as e: err = e.errno
    print(json.dumps({"written": written, "errno": err})); sys.exit(0)
if op == "exec":
    import subprocess
    p = req["path"]; open(p, "w").write("#!/bin/sh\\necho ran\\n"); os.chmod(p, 0o755)
    try: print(json.dumps({"ran": subprocess.run([p], capture_output=True, text=True).stdout}))
    except OSError as e: print(json.dumps({"errno": e.errno}))
    sys.exit(0)
if op == "deny-loop":
    import ctypes, errno as E
    libc = ctypes.CDLL(None, use_errno=True)
    answers = set()
    for _ in range(req["n"]):
        if libc.socket(2, 1, 0) < 0: answers.add(E.errorcode[ctypes.get_errno()])
    print(json.dumps({"answers": sorted(answers), "env": sorted(os.environ)})); sys.exit(0)
if op == "save":
    open("/workspace/saved.txt", "w").write(req["text"])
if op == "load":
    print(json.dumps({"text": open("/workspace/saved.txt").read()})); sys.exit(0)
print(json.dumps({"echo": req, "cwd": os.getcwd()}))
`;

function processPolicy(p: PolicyDir, opts: { argv?: string; limits?: string; sha?: string } = {}): string {
  writeFileSync(join(p.dir, "tool.py"), SCRIPT);
  const sha = opts.sha ?? sha256Hex(new TextEncoder().encode(SCRIPT));
  return `version: 1
roles:
  worker:
    tools: [proc]
tools:
  proc:
    description: test process tool
    command:
      argv: ${opts.argv ?? '[/usr/bin/python3, -I, -S, -B, -c, "{script}"]'}
      script: { path: tool.py, sha256: "${sha}" }
    abi: json-stdio
    risk: file-ops
    tier: process
    limits: ${opts.limits ?? "{ memory: 64MiB, wallClockMs: 3000, inputBytes: 4KiB, outputBytes: 4KiB, pids: 8 }"}
    grants:
      - { kind: fs.read, path: data, mount: /data, enforcer: bwrap-mounts, check: proc-write-readonly }
    input: { type: object }
`;
}

async function setup(isolation: "cell" | "in-process" = "cell", opts: { limits?: string } = {}) {
  const p = await makePolicyDir();
  chmodSync(p.dir, 0o755);
  const policy = loadPolicy(p.write(processPolicy(p, opts)));
  const audit = AuditLog.memory();
  const runtime = await Runtime.start({ policy, audit, isolation });
  return { runtime, audit, policy };
}

describe("process plan", () => {
  it("puts the verified script in argv, builds the env from the allowlist and binds only what is granted", async () => {
    const p = await makePolicyDir();
    const tool = loadPolicy(p.write(processPolicy(p))).tools.get("proc") as ProcessTool;
    const argv = processArgv(tool);
    assert.deepEqual(argv.slice(0, 5), ["/usr/bin/python3", "-I", "-S", "-B", "-c"]);
    assert.equal(argv[5], SCRIPT);
    const plan = processPlan({ argv, tool, workspace: "/tmp/ws", seccomp: { helper: "/opt/cordon/build/native/cordon-seccomp-exec", filterFd: 3, notifyFd: 5 } });
    const a = plan.args;
    const pairs = (flag: string) => a.flatMap((x, i) => (x === flag ? [`${a[i + 1] ?? ""}=>${a[i + 2] ?? ""}`] : []));
    assert.deepEqual(pairs("--bind"), ["/tmp/ws=>/workspace"]);
    assert.ok(pairs("--ro-bind").includes(`${join(p.dir, "data")}=>/data`));
    const env = a.flatMap((x, i) => (x === "--setenv" ? [a[i + 1] ?? ""] : []));
    assert.deepEqual(env.sort(), Object.keys(PROCESS_ENV).sort());
    for (const flag of ["--unshare-all", "--disable-userns", "--clearenv", "--die-with-parent", "--new-session", "--remount-ro"]) assert.ok(a.includes(flag), flag);
    // no bwrap --seccomp: cordon-seccomp-exec installs the filter (fd 3) with its listener (fd 5),
    // keeping PWD because the process environment lists it
    assert.equal(a.includes("--seccomp"), false);
    const sep = a.indexOf("--");
    assert.deepEqual(a.slice(sep + 1, sep + 7), ["/.cordon/seccomp-exec", "3", "5", "--keep-pwd", "--", "/usr/bin/python3"]);
    assert.ok(pairs("--ro-bind").includes("/opt/cordon/build/native/cordon-seccomp-exec=>/.cordon/seccomp-exec"));
  });
});

describe("policy: process tools", () => {
  const issuesOf = (f: () => unknown): string[] => {
    try {
      f();
    } catch (err) {
      if (err instanceof PolicyInvalid) return err.issues.map((i) => `${i.path}: ${i.problem}`);
      throw err;
    }
    return [];
  };

  it("refuses a program outside /usr, a shell-free argv without the placeholder, a tampered script and fuel", async () => {
    const p = await makePolicyDir();
    assert.match(issuesOf(() => loadPolicy(p.write(processPolicy(p, { argv: '[/tmp/evil, "{script}"]' })))).join("\n"), /argv\.0/);
    assert.match(issuesOf(() => loadPolicy(p.write(processPolicy(p, { argv: "[/usr/bin/python3, -c, print]" })))).join("\n"), /exactly one argument/);
    assert.match(issuesOf(() => loadPolicy(p.write(processPolicy(p, { sha: "0".repeat(64) })))).join("\n"), /digest mismatch/);
    assert.match(issuesOf(() => loadPolicy(p.write(processPolicy(p, { limits: "{ memory: 64MiB, fuel: 5, wallClockMs: 100, inputBytes: 1KiB, outputBytes: 1KiB }" })))).join("\n"), /fuel applies to the wasm tier only/);
    const container = processPolicy(p).replace("tier: process", "tier: container");
    assert.match(issuesOf(() => loadPolicy(p.write(container))).join("\n"), /a container tool needs container/);
  });
});

describeWithCells("process tier (live: bwrap, seccomp, a cgroup per call)", () => {
  it("runs a call with JSON in and out, in the session's workspace, which lasts exactly as long as the session", async () => {
    const { runtime, audit } = await setup();
    try {
      const session = await runtime.openSession("worker");
      const r = await session.call("proc", { op: "hello" });
      assert.ok(r.ok, r.ok ? "" : r.error.message);
      assert.deepEqual(r.output, { echo: { op: "hello" }, cwd: "/workspace" });
      assert.ok((await session.call("proc", { op: "save", text: "kept" })).ok);
      const loaded = await session.call("proc", { op: "load" });
      assert.ok(loaded.ok);
      assert.deepEqual(loaded.output, { text: "kept" });
      const ws = (session.toolHost as SessionHost).processHost?.workspace() ?? "";
      assert.ok(existsSync(join(ws, "saved.txt")));
      await runtime.closeSession(session);
      assert.equal(existsSync(ws), false, "workspace removed at session end");
      const other = await runtime.openSession("worker");
      const fresh = await other.call("proc", { op: "load" });
      assert.equal(fresh.ok ? "ok" : fresh.error.code, "ERR_PROCESS_EXIT", "another session does not see the first one's files");
      assert.equal(audit.recordsAfter(0).filter((x) => x.type === "call.completed").length, 3);
    } finally {
      await runtime.close();
    }
  });

  it("maps a non-zero exit, non-JSON output and the deadline to typed errors, each audited", async () => {
    const { runtime, audit } = await setup("cell", { limits: "{ memory: 64MiB, wallClockMs: 400, inputBytes: 4KiB, outputBytes: 4KiB, pids: 8 }" });
    try {
      const session = await runtime.openSession("worker");
      const exit = await session.call("proc", { op: "exit" });
      assert.ok(!exit.ok);
      assert.equal(exit.error.code, "ERR_PROCESS_EXIT");
      assert.deepEqual(exit.error.fields(), { exitCode: 3 });
      assert.match(exit.error.message, /told to fail/);
      const garbage = await session.call("proc", { op: "garbage" });
      assert.equal(garbage.ok ? "ok" : garbage.error.code, "ERR_GUEST_OUTPUT_INVALID");
      const slow = await session.call("proc", { op: "sleep" });
      assert.ok(!slow.ok);
      assert.deepEqual([slow.error.code, slow.error.fields()["limit"]], ["ERR_LIMIT_EXCEEDED", "wall-clock"]);
      const records = audit.recordsAfter(0);
      assert.equal(records.find((x) => x.seq === slow.auditSeq)?.["enforcer"], "process-deadline");
      assert.equal(records.find((x) => x.seq === exit.auditSeq)?.["code"], "ERR_PROCESS_EXIT");
      assert.ok(!JSON.stringify(records).includes("told to fail"), "stderr is never audited");
    } finally {
      await runtime.close();
    }
  });

  it("caps /workspace and /tmp at limits.disk (ENOSPC, recorded under disk-quota) and runs nothing the tool wrote there", async () => {
    const { runtime, audit } = await setup("cell", { limits: "{ memory: 64MiB, wallClockMs: 5000, inputBytes: 4KiB, outputBytes: 4KiB, pids: 8, disk: 1MiB }" });
    try {
      const session = await runtime.openSession("worker");
      for (const path of ["/workspace/big", "/tmp/big"]) {
        const r = await session.call("proc", { op: "fill", path, bytes: 8 * 1024 * 1024 });
        assert.ok(r.ok, r.ok ? "" : r.error.message);
        const out = r.output as { written: number; errno: number };
        assert.equal(out.errno, 28, `${path}: ENOSPC`);
        assert.ok(out.written <= 1024 * 1024, `${path}: ${out.written} bytes got in`);
        const hit = audit.recordsAfter(0).filter((x) => x.enforcer === "disk-quota" && x.type === "guest.denied" && x.seq < r.auditSeq);
        assert.ok(hit.length >= 1, "the call that hit the cap is recorded");
      }
      for (const path of ["/workspace/x.sh", "/tmp/x.sh"]) {
        const r = await session.call("proc", { op: "exec", path });
        assert.ok(r.ok);
        assert.deepEqual(r.output, { errno: 13 }, `${path} is noexec`);
      }
      const ws = (session.toolHost as SessionHost).processHost?.workspace() ?? "";
      await runtime.closeSession(session);
      assert.equal(existsSync(ws), false, "the workspace tmpfs is gone with the session");
    } finally {
      await runtime.close();
    }
  });

  it("records a seccomp denial at run time, live: one record per denial naming syscall, session and tool, then a count (no flood)", async () => {
    const { runtime, audit } = await setup();
    try {
      const session = await runtime.openSession("worker");
      const before = audit.head?.seq ?? 0;
      const r = await session.call("proc", { op: "deny-loop", n: 500 });
      assert.ok(r.ok, r.ok ? "" : r.error.message);
      assert.deepEqual(r.output, { answers: ["EPERM"], env: Object.keys(PROCESS_ENV).sort() });
      await runtime.closeSession(session);
      const denied = audit.recordsAfter(before).filter((x) => x.type === "sandbox.denied");
      const single = denied.filter((x) => x["suppressed"] === undefined);
      const summary = denied.filter((x) => x["suppressed"] === true);
      assert.ok(single.length >= 1 && single.length <= 16, `individual records: ${single.length}`);
      for (const x of single) assert.deepEqual([x["enforcer"], x["syscall"], x["tool"], x["session"], x["tier"]], ["seccomp", "socket", "proc", session.id, "process"]);
      const counted = single.length + summary.reduce((n, x) => n + Number(x["count"]), 0);
      assert.equal(counted, 500, "every denial is a record or counted in one");
    } finally {
      await runtime.close();
    }
  });

  it("never runs a process tool without the OS sandbox: in-process, the call is refused and audited", async () => {
    const { runtime, audit } = await setup("in-process");
    try {
      const session = await runtime.openSession("worker");
      assert.deepEqual(session.toolNames(), ["proc"]);
      const r = await session.call("proc", { op: "hello" });
      assert.equal(r.ok ? "ok" : r.error.code, "ERR_TIER_UNAVAILABLE");
      const rec = audit.recordsAfter(0).find((x) => x.seq === r.auditSeq);
      assert.equal(rec?.["code"], "ERR_TIER_UNAVAILABLE");
      assert.equal(rec?.["isolation"], "in-process: no OS sandbox (bwrap, seccomp, cgroups missing)");
    } finally {
      await runtime.close();
    }
  });
});
