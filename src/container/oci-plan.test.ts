import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { ContainerTool } from "../policy/load-policy.js";
import { SECCOMP_EXEC_PATH } from "../sandbox/bwrap-plan.js";
import { DEFAULT_RULES } from "../sandbox/seccomp/rules.js";
import { MASKED_PATHS, ociSeccomp, planContainer, READONLY_PATHS, type ContainerPlanInput, type OciMount } from "./oci-plan.js";
import { runtimeArgs } from "./runtime-host.js";

const MiB = 1024 * 1024;

function tool(grants: ContainerTool["grants"] = []): ContainerTool {
  return {
    name: "t",
    description: "t",
    risk: "build-test",
    tier: "container",
    abi: "json-stdio",
    runtime: "crun",
    command: { argv: ["/usr/bin/python3", "-c", "{script}"], script: null },
    image: { path: "i.tar", absPath: "/x/i.tar", sha256: "a".repeat(64), bytes: 1 },
    limits: { memoryBytes: 64 * MiB, fuel: 0, wallClockMs: 1000, inputBytes: 1024, outputBytes: 1024, moduleBytes: 0, maxFunctions: 0, maxTableElements: 0, maxOpenFiles: 16, pids: 32, diskBytes: 16 * MiB },
    grants,
    inputSchema: {},
    validateInput: () => [],
  } as unknown as ContainerTool;
}

function input(over: Partial<ContainerPlanInput> = {}): ContainerPlanInput {
  return {
    tool: tool(),
    runtime: "crun",
    argv: ["/usr/bin/true"],
    rootfs: "/var/lib/cordon/images/abc/rootfs",
    hostUid: 201_000,
    workspace: "/tmp/ws/workspace",
    tmp: "/tmp/ws/tmp",
    execIn: { workspace: false, tmp: false },
    seccompExec: "/opt/cordon/build/native/cordon-seccomp-exec",
    rules: DEFAULT_RULES,
    ...over,
  };
}

const mountAt = (mounts: readonly OciMount[], dest: string): OciMount | undefined => mounts.find((m) => m.destination === dest);

describe("planContainer", () => {
  it("hardens the process: no capabilities, no new privileges, container root mapped to the session's uid", () => {
    const c = planContainer(input());
    const p = c.process as { capabilities: Record<string, unknown[]>; noNewPrivileges: boolean; user: { uid: number }; env: string[]; terminal: boolean };
    for (const set of ["bounding", "effective", "inheritable", "permitted", "ambient"]) assert.deepEqual(p.capabilities[set], [], set);
    assert.equal(p.noNewPrivileges, true);
    assert.equal(p.terminal, false);
    assert.equal(p.user.uid, 0);
    assert.deepEqual((c.linux["uidMappings"] as unknown[])[0], { containerID: 0, hostID: 201_000, size: 1 });
    assert.deepEqual((c.linux["gidMappings"] as unknown[])[0], { containerID: 0, hostID: 201_000, size: 1 });
    assert.deepEqual(p.env.map((e) => e.split("=")[0]).sort(), ["HOME", "LANG", "PATH", "PWD"]);
    assert.throws(() => planContainer(input({ hostUid: 0 })), /host root/);
  });

  it("unshares every namespace and keeps the root read-only, /proc and /sys masked and read-only", () => {
    const c = planContainer(input());
    assert.deepEqual((c.linux["namespaces"] as Array<{ type: string }>).map((n) => n.type).sort(), ["cgroup", "ipc", "mount", "network", "pid", "user", "uts"]);
    assert.equal(c.root.readonly, true);
    assert.ok(MASKED_PATHS.includes("/proc/kcore") && MASKED_PATHS.includes("/sys/firmware"));
    assert.deepEqual(c.linux["maskedPaths"], MASKED_PATHS);
    assert.ok(READONLY_PATHS.includes("/proc/sys") && READONLY_PATHS.includes("/proc/sysrq-trigger"));
    assert.ok(mountAt(c.mounts, "/sys")?.options.includes("ro"));
    assert.ok(mountAt(c.mounts, "/proc")?.options.includes("noexec"));
    // No cgroup of the runtime's own: the call's cgroup is cordon's (its counters outlive the container).
    assert.equal(c.linux["cgroupsPath"], undefined);
    assert.equal(c.linux["resources"], undefined);
  });

  it("binds no host path but the session's places, the grants and the seccomp helper; places are noexec unless granted", () => {
    const c = planContainer(input());
    const binds = c.mounts.filter((m) => m.type === "bind");
    assert.deepEqual(binds.map((m) => m.destination).sort(), ["/tmp", "/workspace", SECCOMP_EXEC_PATH].sort());
    for (const m of binds) assert.ok(m.options.includes("nosuid") && m.options.includes("nodev"), m.destination);
    assert.ok(mountAt(c.mounts, "/workspace")?.options.includes("noexec"));
    assert.ok(mountAt(c.mounts, SECCOMP_EXEC_PATH)?.options.includes("ro"));
    const granted = planContainer(input({ execIn: { workspace: true, tmp: false } }));
    assert.ok(!mountAt(granted.mounts, "/workspace")?.options.includes("noexec"));
    assert.ok(mountAt(granted.mounts, "/tmp")?.options.includes("noexec"));
    const withGrant = planContainer(input({ tool: tool([{ kind: "fs.read", hostPath: "/srv/data", mount: "/data" }]) }));
    assert.ok(mountAt(withGrant.mounts, "/data")?.options.includes("ro"));
  });

  it("without the session's places, /workspace and /tmp are capped tmpfs of the container's own", () => {
    const c = planContainer(input({ workspace: null, tmp: null }));
    assert.ok(mountAt(c.mounts, "/tmp")?.options.includes(`size=${16 * MiB}`));
    assert.equal(mountAt(c.mounts, "/workspace")?.type, "tmpfs");
  });

  it("crun runs the command under cordon-seccomp-exec, with a TRACE wall that leaves the notifier in charge", () => {
    const c = planContainer(input({ argv: ["/usr/bin/make", "test"] }));
    assert.deepEqual((c.process as { args: string[] }).args, [SECCOMP_EXEC_PATH, "3", "4", "--keep-pwd", "--", "/usr/bin/make", "test"]);
    const sc = c.linux["seccomp"] as ReturnType<typeof ociSeccomp>;
    assert.equal(sc.defaultAction, "SCMP_ACT_ALLOW");
    const names = sc.syscalls.flatMap((r) => r.names);
    assert.ok(names.includes("mount") && names.includes("ptrace") && names.includes("bpf"));
    // cordon-seccomp-exec must still be able to install its own filter; that filter then denies these.
    assert.ok(!names.includes("seccomp") && !names.includes("prctl"));
    for (const r of sc.syscalls) if (r.names[0] !== "clone3") assert.equal(r.action, "SCMP_ACT_TRACE", r.names[0]);
  });

  it("runsc runs the command directly, its filter answering EPERM, and no clone3 rule (gVisor has none)", () => {
    const c = planContainer(input({ runtime: "runsc", seccompExec: null }));
    assert.deepEqual((c.process as { args: string[] }).args, ["/usr/bin/true"]);
    const sc = c.linux["seccomp"] as ReturnType<typeof ociSeccomp>;
    assert.ok(sc.syscalls.every((r) => r.action === "SCMP_ACT_ERRNO" && r.errnoRet === 1));
    assert.ok(!sc.syscalls.some((r) => r.names.includes("clone3")));
    const rl = (c.process as { rlimits: Array<{ type: string; hard: number }> }).rlimits;
    assert.equal(rl.find((r) => r.type === "RLIMIT_NPROC")?.hard, 32);
    assert.equal(mountAt(c.mounts, "/dev"), undefined);
  });

  it("translates argument conditions: masked-any becomes one alternative per bit", () => {
    const sc = ociSeccomp([{ syscall: "clone", action: "deny", why: "x", when: { arg: 0, op: "masked-any", value: 0b101 } }], "SCMP_ACT_TRACE");
    assert.deepEqual(sc.syscalls.map((r) => r.args?.[0]), [{ index: 0, value: 1, valueTwo: 1, op: "SCMP_CMP_MASKED_EQ" }, { index: 0, value: 4, valueTwo: 4, op: "SCMP_CMP_MASKED_EQ" }]);
    const ne = ociSeccomp([{ syscall: "socket", action: "deny", why: "x", when: { arg: 0, op: "ne", value: 1 } }], "SCMP_ACT_ERRNO");
    assert.deepEqual(ne.syscalls[0]?.args, [{ index: 0, value: 1, op: "SCMP_CMP_NE" }]);
  });
});

describe("runtimeArgs", () => {
  const crun = { name: "crun", bin: "/usr/bin/crun", version: "1.8.1", stateRoot: "/run/s/crun", platform: null } as const;
  const runsc = { name: "runsc", bin: "/usr/bin/runsc", version: "x", stateRoot: "/run/s/runsc", platform: "ptrace" } as const;
  it("crun: its own state root, no cgroup manager, the two seccomp fds passed", () => {
    assert.deepEqual(runtimeArgs(crun, "run", "c1", "/b"), ["--root", "/run/s/crun", "--cgroup-manager=disabled", "run", "--bundle", "/b", "--preserve-fds", "2", "--no-new-keyring", "c1"]);
    assert.deepEqual(runtimeArgs(crun, "delete", "c1", "/b"), ["--root", "/run/s/crun", "--cgroup-manager=disabled", "delete", "--force", "c1"]);
  });
  it("runsc: no network, its filter inside the sandbox, the Sentry's log in the bundle, never `do`", () => {
    const a = runtimeArgs(runsc, "run", "c1", "/b");
    for (const f of ["--network=none", "--oci-seccomp", "--ignore-cgroups", "--platform=ptrace", "--debug-log=/b/runsc-%COMMAND%.log", "--debug-command=boot"]) assert.ok(a.includes(f), f);
    assert.ok(!a.includes("do"));
    assert.deepEqual(a.slice(-4), ["run", "--bundle", "/b", "c1"]);
  });
});
