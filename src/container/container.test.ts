// The container tier on this host: real crun and runsc, a Debian image from the store, the
// seccomp supervisor, a cgroup per call. Where the host lacks the tier (not root, no runtime),
// the tests assert that it refuses instead.
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, rmdirSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { AuditLog } from "../audit/index.js";
import { EXAMPLE_POLICY, PACKAGE_ROOT } from "../config/defaults.js";
import { loadPolicy, type ContainerTool } from "../policy/load-policy.js";
import { Runtime } from "../runtime/runtime.js";
import { SessionHost } from "../runtime/session-host.js";
import { CellCgroup } from "../sandbox/cgroups/index.js";
import { DEFAULT_RULES } from "../sandbox/seccomp/rules.js";
import { ContainerDriver } from "./container-driver.js";
import { containerOutcome } from "./container-host.js";
import { ContainerTier } from "./container-tier.js";
import { planContainer, PROBE_DIR } from "./oci-plan.js";
import { ContainerCall, type ContainerRun } from "./run-container.js";

const root = process.getuid?.() === 0;
const haveCrun = existsSync("/usr/bin/crun");
const policy = loadPolicy(EXAMPLE_POLICY);
const crunTool = policy.tools.get("build-test") as ContainerTool;
const NATIVE = join(PACKAGE_ROOT, "build", "native");

const MAKE_INPUT = {
  command: "make test",
  files: [
    { name: "Makefile", text: "test: hello\n\t./hello\nhello: hello.c\n\tcc -o hello hello.c\n" },
    { name: "hello.c", text: '#include <stdio.h>\nint main(void){puts("built in a container");return 0;}\n' },
  ],
};

function run(over: Partial<ContainerRun>): ContainerRun {
  return { exitCode: 0, signal: null, stdout: Buffer.from("{}"), stderrTail: "", timedOut: false, outputBytes: 2, outputCapped: false, wallUs: 1, pidsMaxHits: 0, oomKills: 0, peakMemoryBytes: 0, leftovers: 0, cgroupDirs: [], seccompDenials: 0, seccompKilled: false, runtimeFailed: null, ...over };
}

describe("containerOutcome", () => {
  it("maps limits to typed errors naming their enforcer, the first limit hit winning", () => {
    const o = (r: Partial<ContainerRun>) => containerOutcome(crunTool, run(r));
    const err = (r: Partial<ContainerRun>) => {
      const out = o(r);
      return out.ok ? "ok" : `${out.error.code}${"limit" in out.error ? `(${String(out.error.limit)})` : ""}@${out.enforcer ?? "-"}`;
    };
    assert.equal(err({}), "ok");
    assert.equal(err({ outputCapped: true, timedOut: true }), "ERR_LIMIT_EXCEEDED(output)@io-cap");
    assert.equal(err({ timedOut: true, signal: "SIGKILL" }), "ERR_LIMIT_EXCEEDED(wall-clock)@process-deadline");
    assert.equal(err({ oomKills: 1, signal: "SIGKILL" }), "ERR_LIMIT_EXCEEDED(memory)@cgroup-memory");
    assert.equal(err({ signal: "SIGSEGV", exitCode: null }), "ERR_PROCESS_KILLED@-");
    assert.equal(err({ exitCode: 2 }), "ERR_PROCESS_EXIT@-");
    assert.deepEqual(o({ pidsMaxHits: 3 }).denials.map((d) => d.enforcer), ["cgroup-pids"]);
    assert.deepEqual(containerOutcome(crunTool, run({}), ["tmp"]).denials.map((d) => d.enforcer), ["disk-quota"]);
  });
});

/** The test's own cgroup parent in each hierarchy cordon drives (the runtime's is removed by the OS sandbox). */
function removeTestParent(): void {
  for (const c of ["memory", "pids", "cpu"]) {
    try {
      rmdirSync(join("/sys/fs/cgroup", c, `cordon-test-${process.pid}`));
    } catch {
      // absent
    }
  }
}

describe("container tier (live)", () => {
  after(removeTestParent);

  it("refuses where the host cannot run it", { skip: root && haveCrun && "this host runs the tier (tested below)" }, () => {
    const d = new ContainerDriver(null);
    assert.equal(d.availability.ok, false);
  });

  it("runs build-test under crun through the runtime: make and cc inside the image, audited, nothing left after", { skip: !(root && haveCrun) && "needs root and crun (refusal tested above)" }, async () => {
    const audit = AuditLog.memory();
    const runtime = await Runtime.start({ policy, audit });
    try {
      const session = await runtime.openSession("operator");
      const r = await session.call("build-test", MAKE_INPUT);
      assert.ok(r.ok, r.ok ? "" : `${r.error.code}: ${r.error.message}`);
      const out = r.output as { ok: boolean; steps: Array<{ stdout: string; exitCode: number }> };
      assert.equal(out.ok, true);
      assert.match(out.steps[0]?.stdout ?? "", /built in a container/);
      const host = session.toolHost instanceof SessionHost ? session.toolHost.containerHost : null;
      const last = host?.lastRun;
      assert.ok(last !== null && last !== undefined);
      const places = host?.places().root ?? "";
      await runtime.closeSession(session);
      assert.ok(last.cgroupDirs.length > 0 && last.cgroupDirs.every((d) => !existsSync(d)), "the call's cgroups are gone");
      assert.ok(!existsSync(places), "the session's places are gone");
      assert.ok(!readFileSync("/proc/self/mountinfo", "utf8").includes(places), "no mount of them is left");
      const types = audit.recordsAfter(0).map((x) => x.type);
      for (const t of ["tier.probed", "call.allowed", "session.closed"]) assert.ok(types.includes(t), t);
    } finally {
      await runtime.close();
    }
  });

  it("without cordon's filter the OCI wall still refuses (ENOSYS); with it the supervisor answers EPERM and reports", { skip: !(root && haveCrun) && "needs root and crun" }, async () => {
    let uid = 250_000;
    const tier = new ContainerTier({ launcher: join(NATIVE, "cordon-launch"), seccompExec: join(NATIVE, "cordon-seccomp-exec"), allocUid: () => uid++, cgroupParent: `cordon-test-${process.pid}` });
    try {
      const host = await tier.runtime("crun", crunTool);
      const hostile = { ...crunTool, command: { argv: [`${PROBE_DIR}/hostile`, "mount"], script: null } } as ContainerTool;
      const extraRo = [{ host: NATIVE, guest: PROBE_DIR, writable: false }];
      // Through the tier: the supervised entry point; one denial reported, EPERM for the tool.
      const events: string[] = [];
      const supervised = await tier.newCall(host, { tool: hostile, hostUid: uid++, places: null, extraRo, onSeccomp: (e) => events.push(e.kind === "failed" ? e.reason : e.syscall) }, "run").call(new Uint8Array());
      assert.equal((JSON.parse(supervised.stdout.toString()) as { errno: number }).errno, 1);
      assert.deepEqual(events, ["mount"]);
      // The same container without cordon-seccomp-exec: the TRACE wall alone answers ENOSYS.
      const bare = new ContainerCall(
        {
          host,
          launcher: join(NATIVE, "cordon-launch"),
          bundles: join("/run", "cordon-oci", String(process.pid), "bundles"),
          config: planContainer({ tool: hostile, runtime: "crun", argv: hostile.command.argv, rootfs: tier.rootfs(crunTool), hostUid: uid++, workspace: null, tmp: null, execIn: { workspace: false, tmp: false }, extraRo, seccompExec: null, rules: DEFAULT_RULES }),
          cgroup: (id, limits) => CellCgroup.create(id, limits, { parent: `cordon-test-${process.pid}` }),
          limits: { memoryBytes: 64 * 1024 * 1024, pids: 16 },
          seccomp: null,
          wallClockMs: 5_000,
          maxOutputBytes: 4096,
        },
        "run",
      );
      const wall = await bare.call(new Uint8Array());
      assert.equal((JSON.parse(wall.stdout.toString()) as { errno: number }).errno, 38, wall.stderrTail);
    } finally {
      await tier.close();
    }
    assert.deepEqual(existsSync(`/run/cordon-oci/${process.pid}`) ? readdirSync(`/run/cordon-oci/${process.pid}`) : [], []);
  });

  it("a runtime that fails its probe refuses the call (ERR_TIER_UNAVAILABLE) and records why", { skip: !(root && haveCrun) && "needs root and crun" }, async () => {
    const records: Array<Record<string, unknown>> = [];
    const tier = new ContainerTier({ launcher: join(NATIVE, "cordon-launch"), seccompExec: "/nonexistent/cordon-seccomp-exec", allocUid: () => 251_000, cgroupParent: `cordon-test-${process.pid}`, onRecord: (e) => records.push(e) });
    try {
      await assert.rejects(tier.runtime("crun", crunTool), { code: "ERR_TIER_UNAVAILABLE" });
      const refused = records.find((r) => r["type"] === "tier.refused");
      assert.equal(refused?.["enforcer"], "container-runtime");
      assert.equal(refused?.["runtime"], "crun");
    } finally {
      await tier.close();
    }
  });

  it("a warm container is created ahead, bound to the session that takes it, and answers its first call", { skip: !(root && haveCrun) && "needs root and crun" }, async () => {
    let uid = 252_000;
    const tier = new ContainerTier({ launcher: join(NATIVE, "cordon-launch"), seccompExec: join(NATIVE, "cordon-seccomp-exec"), allocUid: () => uid++, cgroupParent: `cordon-test-${process.pid}`, poolSize: 1 });
    try {
      tier.fill(crunTool, [crunTool]);
      await tier.settled();
      const slot = tier.takeWarm(crunTool, [crunTool]);
      assert.ok(slot !== null);
      const r = await slot.call.call(new TextEncoder().encode(JSON.stringify(MAKE_INPUT)));
      assert.equal(r.exitCode, 0, r.stderrTail);
      assert.match(r.stdout.toString(), /built in a container/);
      assert.ok(readdirSync(slot.places.dirOf("workspace")).includes("hello"), "it worked in the slot's own workspace");
      slot.places.remove();
      // Never reused: taking it again gives the refill, a different container with another uid.
      await tier.settled();
      const next = tier.takeWarm(crunTool, [crunTool]);
      assert.ok(next !== null && next.call.id !== slot.call.id && next.uid !== slot.uid);
      await next.call.discard();
      next.places.remove();
    } finally {
      await tier.close();
    }
  });
});
