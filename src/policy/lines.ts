// Derives the policy's lines: every grant, limit, module and role becomes one line with its
// enforcer and checks. Pure: (spec) -> lines + issues. This is the "napkin" table.
import type { PolicyIssue } from "../errors.js";
import { DEFAULT_MODULE_CAPS } from "../wasm/module/module-caps.js";
import { defaultEnforcerFor, findEnforcer, probesFor, type Subject, type Tier } from "../enforcers.js";
import type { GrantSpec, PolicySpec, ToolSpec } from "./schema.js";

export type LineStatus = "enforced" | "wish";

export interface PolicyLine {
  /** Stable, human-readable id, e.g. `tool text-stats: memory <= 16MiB`. */
  readonly text: string;
  /** `runtime` lines come from cordon itself (identity, supply chain, gateway, audit), not from a policy. */
  readonly scope: { readonly kind: "tool" | "role" | "tier" | "runtime"; readonly name: string };
  readonly subject: Subject;
  readonly tier: Tier | "control-plane";
  readonly enforcer: string | null;
  readonly checks: readonly string[];
  readonly status: LineStatus;
  /** Why it is a wish, when it is. */
  readonly wishReason?: string;
  /** Index of the grant in the tool's grant list, for grant lines. */
  readonly grantIndex?: number;
  /** Index of the resource root in the role's list, for resource lines. */
  readonly rootIndex?: number;
}

const WISH_MARKERS = new Set(["tbd", "todo", "none", "?"]);

function formatBytes(n: number): string {
  for (const [unit, size] of [["GiB", 1024 ** 3], ["MiB", 1024 ** 2], ["KiB", 1024]] as const) {
    if (n % size === 0) return `${n / size}${unit}`;
  }
  return `${n}B`;
}

function grantText(g: GrantSpec): string {
  switch (g.kind) {
    case "fs.read":
    case "fs.write":
      return `${g.kind} ${g.mount} <- ${g.path}`;
    case "env":
      return `env ${g.name}`;
    case "exec":
      return `exec in ${g.mount}`;
    case "clock":
    case "random":
    case "log":
    case "progress":
      return g.kind;
    case "sampling":
      return `sampling: at most ${g.maxRequests} requests of at most ${g.maxTokens} tokens per call`;
  }
}

/** Lines a tool carries for what MCP adds: human approval, and the shape of its results. */
function mcpLines(name: string, tool: ToolSpec): Implicit[] {
  const lines: Implicit[] = [];
  if (tool.approval !== "none") lines.push({ subject: "tool.approval", text: "runs only after a person approves each call (elicitation); a decline, no answer or a client without elicitation refuses it" });
  if (tool.output?.content !== undefined) lines.push({ subject: "output.content", text: `results hold only ${tool.output.content.join(", ")} content` });
  if (tool.output?.schema !== undefined) lines.push({ subject: "output.schema", text: "structured results match its output schema" });
  return lines.map((x) => ({ ...x, text: `tool ${name}: ${x.text}` }));
}

type Implicit = { subject: Subject; text: string; enforcer?: string };

function implicitLines(name: string, tool: ToolSpec): Implicit[] {
  const l = tool.limits;
  const lines: Implicit[] =
    tool.tier === "container"
      ? [
          { subject: "image.digest", text: `runs ${tool.command?.argv[0] ?? "?"} in image ${tool.container?.image.path ?? "?"} (sha256:${(tool.container?.image.sha256 ?? "").slice(0, 12)}) under ${tool.container?.runtime ?? "crun"}` },
          ...(tool.command?.script === undefined ? [] : [{ subject: "command.digest" as const, text: commandText(tool) }]),
          { subject: "ctr.pids", text: `processes <= ${l.pids ?? DEFAULT_LIMITS.pids}` },
          { subject: "ctr.memory", text: `memory <= ${formatBytes(l.memory)}` },
          { subject: "ctr.wallClock", text: `wall clock <= ${l.wallClockMs}ms` },
          { subject: "limits.input", text: `input <= ${formatBytes(l.inputBytes)}` },
          { subject: "input.schema", text: "input matches its JSON Schema" },
          { subject: "ctr.output", text: `output <= ${formatBytes(l.outputBytes)}` },
          { subject: "ctr.disk", text: `disk <= ${formatBytes(l.disk ?? DEFAULT_LIMITS.diskBytes)} in each of /workspace and /tmp${writable(tool)}` },
        ]
      : tool.tier === "process"
      ? [
          { subject: "command.digest", text: commandText(tool) },
          { subject: "proc.pids", text: `processes <= ${l.pids ?? DEFAULT_LIMITS.pids}` },
          { subject: "proc.memory", text: `memory <= ${formatBytes(l.memory)}` },
          { subject: "proc.wallClock", text: `wall clock <= ${l.wallClockMs}ms` },
          { subject: "limits.input", text: `input <= ${formatBytes(l.inputBytes)}` },
          { subject: "input.schema", text: "input matches its JSON Schema" },
          { subject: "proc.output", text: `output <= ${formatBytes(l.outputBytes)}` },
          { subject: "proc.disk", text: `disk <= ${formatBytes(l.disk ?? DEFAULT_LIMITS.diskBytes)} in each of /workspace and /tmp${writable(tool)}` },
        ]
      : [
          { subject: "module.digest", text: `module ${tool.module?.path ?? "?"} is sha256:${(tool.module?.sha256 ?? "").slice(0, 12)}` },
          { subject: "module.shape", text: `module <= ${formatBytes(l.moduleBytes ?? DEFAULT_LIMITS.moduleBytes)} and ${l.maxFunctions ?? DEFAULT_LIMITS.maxFunctions} functions, every count capped, no memory64/shared/imported memory` },
          { subject: "module.imports", text: "imports only what its grants cover" },
          { subject: "limits.memory", text: `memory <= ${formatBytes(l.memory)}` },
          { subject: "limits.fuel", text: `fuel <= ${l.fuel ?? 0}` },
          { subject: "limits.wallClock", text: `wall clock <= ${l.wallClockMs}ms` },
          { subject: "limits.stack", text: "stack depth bounded" },
          { subject: "limits.input", text: `input <= ${formatBytes(l.inputBytes)}` },
          { subject: "input.schema", text: "input matches its JSON Schema" },
          { subject: "limits.output", text: `output <= ${formatBytes(l.outputBytes)}` },
          ...(tool.grants.some((g) => g.kind === "fs.write") ? [{ subject: "limits.disk" as const, text: `writable grants hold <= ${formatBytes(l.disk ?? DEFAULT_LIMITS.diskBytes)} each` }] : []),
        ];
  return lines.map((x) => ({ ...x, text: `tool ${name}: ${x.text}` }));
}

function writable(tool: ToolSpec): string {
  return tool.grants.some((g) => g.kind === "fs.write") ? " and each writable grant" : "";
}

function commandText(tool: ToolSpec): string {
  const argv0 = tool.command?.argv[0] ?? "?";
  const script = tool.command?.script;
  return script === undefined ? `runs ${argv0}` : `runs ${argv0} with ${script.path} (sha256:${script.sha256.slice(0, 12)})`;
}

/** Lines every tier of cells or processes carries once, whatever its tools (the container tier's once per runtime). */
const TIER_LINES: Readonly<Record<"wasm" | "process" | "container", ReadonlyArray<readonly [Subject, string]>>> = {
  container: [
    ["ctr.kernelfs", "containers cannot write /proc/sys or /sys"],
    ["ctr.devices", "containers cannot create device nodes"],
    ["ctr.privilege", "containers hold no capabilities, and a setuid binary gains none"],
    ["ctr.syscalls", "containers cannot mount, unshare, ptrace or open IP sockets; every seccomp denial is recorded"],
    ["ctr.network", "containers have no route to the host's loopback"],
    ["ctr.filesystem", "containers see no host file unless granted, and cannot write their root"],
    ["ctr.sessions", "containers never see another session's /workspace"],
    ["ctr.exec", "containers cannot run files they wrote unless an exec grant says so"],
    ["ctr.isolation", "containers run behind the runtime's own boundary (crun: pid, user and mount namespaces; runsc: gVisor's kernel)"],
    ["ctr.cleanup", "nothing of a session outlives it: no process, mount, cgroup, bundle or runtime state"],
  ],
  wasm: [
    ["tier.network", "cells have no network"],
    ["tier.syscalls", "cells cannot ptrace, mount or unshare; every denial is recorded"],
    ["tier.filesystem", "cells see no host secrets, no home, no writable system"],
    ["tier.environment", "cells inherit no environment and no file descriptors"],
    ["tier.pids", "a cell's process count is capped"],
    ["tier.memory", "a cell's memory is capped"],
    ["tier.frames", "a cell cannot speak for another session"],
    ["tier.cleanup", "nothing a session started outlives it"],
    ["tier.watchdog", "a cell that stops answering is killed at its call's backstop deadline"],
    ["tier.launch", "a cell serves a session only under a launch statement it has checked"],
  ],
  process: [
    ["proc.network", "tool processes have no network"],
    ["proc.syscalls", "tool processes cannot ptrace, mount, unshare, setns or reach bpf, io_uring, keyrings, perf events, userfaultfd or kexec; every denial is recorded"],
    ["proc.filesystem", "tool processes see no host secrets, no home, no writable system"],
    ["proc.environment", "tool processes inherit no environment and no file descriptors"],
    ["proc.exec", "tool processes cannot run files they wrote (noexec workspace, /tmp and writable grants) unless an exec grant says so"],
    ["proc.cleanup", "nothing a call started outlives it"],
  ],
};

export const DEFAULT_LIMITS = Object.freeze({
  moduleBytes: 8 * 1024 * 1024,
  /** The module cap on functions (imported + defined); the other module caps are fixed (module-caps.ts). */
  maxFunctions: DEFAULT_MODULE_CAPS.functions,
  maxTableElements: 100_000,
  maxOpenFiles: 16,
  pids: 16,
  diskBytes: 64 * 1024 * 1024,
});

export function deriveLines(spec: PolicySpec): { lines: PolicyLine[]; issues: PolicyIssue[] } {
  const lines: PolicyLine[] = [];
  const issues: PolicyIssue[] = [];
  for (const [name, tool] of Object.entries(spec.tools)) {
    if (tool.tier === "wasm" || tool.tier === "process" || tool.tier === "container") {
      for (const { subject, text } of implicitLines(name, tool)) {
        const enforcer = defaultEnforcerFor(subject);
        lines.push({
          text,
          scope: { kind: "tool", name },
          subject,
          tier: enforcer.tier === "control-plane" ? "control-plane" : tool.tier,
          enforcer: enforcer.name,
          checks: probesFor(enforcer, subject),
          status: "enforced",
        });
      }
    }
    for (const { subject, text } of mcpLines(name, tool)) {
      const enforcer = defaultEnforcerFor(subject);
      lines.push({ text, scope: { kind: "tool", name }, subject, tier: enforcer.tier === "control-plane" ? "control-plane" : tool.tier, enforcer: enforcer.name, checks: probesFor(enforcer, subject), status: "enforced" });
    }
    tool.grants.forEach((grant, i) => {
      const path = `tools.${name}.grants.${i}`;
      const text = `tool ${name}: ${grantText(grant)}`;
      const base = { text, scope: { kind: "tool", name } as const, subject: grant.kind, tier: tool.tier, grantIndex: i };
      const checks = grant.check === undefined ? [] : typeof grant.check === "string" ? [grant.check] : grant.check;
      const named = grant.enforcer?.trim();
      if (named === undefined || named === "" || WISH_MARKERS.has(named.toLowerCase())) {
        lines.push({ ...base, enforcer: named ?? null, checks, status: "wish", wishReason: named === undefined ? "no enforcer named" : `enforcer is '${named}'` });
        return;
      }
      const enforcer = findEnforcer(named);
      if (enforcer === undefined) {
        lines.push({ ...base, enforcer: named, checks, status: "wish", wishReason: `unknown enforcer '${named}'` });
        return;
      }
      if (!enforcer.covers.includes(grant.kind)) {
        issues.push({ path: `${path}.enforcer`, problem: `enforcer '${named}' does not enforce ${grant.kind} (it covers ${enforcer.covers.join(", ")})` });
        return;
      }
      if (enforcer.grantTiers !== undefined && !enforcer.grantTiers.includes(tool.tier)) {
        issues.push({ path: `${path}.enforcer`, problem: `enforcer '${named}' does not enforce grants of ${tool.tier} tools (it serves ${enforcer.grantTiers.join(", ")})` });
        return;
      }
      if (checks.length === 0) {
        lines.push({ ...base, enforcer: named, checks, status: "wish", wishReason: "no observable check named" });
        return;
      }
      const known = probesFor(enforcer, grant.kind);
      for (const check of checks) {
        if (!known.includes(check)) issues.push({ path: `${path}.check`, problem: `'${check}' is not a probe of ${named} for ${grant.kind} (known: ${known.join(", ")})` });
      }
      lines.push({ ...base, enforcer: named, checks, status: "enforced" });
    });
  }
  // The container tier's lines hold once per runtime in use, each proven under that runtime.
  for (const runtime of ["crun", "runsc"] as const) {
    if (!Object.values(spec.tools).some((t) => t.tier === "container" && (t.container?.runtime ?? "crun") === runtime)) continue;
    for (const [subject, text] of TIER_LINES.container) {
      const enforcer = defaultEnforcerFor(subject);
      lines.push({ text: `tier container (${runtime}): ${text}`, scope: { kind: "tier", name: `container:${runtime}` }, subject, tier: "container", enforcer: enforcer.name, checks: probesFor(enforcer, subject), status: "enforced" });
    }
  }
  for (const tier of ["wasm", "process"] as const) {
    if (!Object.values(spec.tools).some((t) => t.tier === tier)) continue;
    for (const [subject, text] of TIER_LINES[tier]) {
      const enforcer = defaultEnforcerFor(subject);
      lines.push({ text: `tier ${tier}: ${text}`, scope: { kind: "tier", name: tier }, subject, tier: enforcer.tier === "control-plane" ? "control-plane" : tier, enforcer: enforcer.name, checks: probesFor(enforcer, subject), status: "enforced" });
    }
  }
  for (const [name, role] of Object.entries(spec.roles)) {
    const enforcer = defaultEnforcerFor("role.toolset");
    lines.push({
      text: `role ${name}: holds only [${role.tools.join(", ")}]`,
      scope: { kind: "role", name },
      subject: "role.toolset",
      tier: enforcer.tier,
      enforcer: enforcer.name,
      checks: probesFor(enforcer, "role.toolset"),
      status: "enforced",
    });
    for (const [rootIndex, root] of role.resources.entries()) {
      const jail = defaultEnforcerFor("role.resources");
      lines.push({
        rootIndex,
        text: `role ${name}: resources under ${root.mount} (${root.uri ?? `file://${root.mount}/`}) are only the regular files inside the grant, listed and read through the jail`,
        scope: { kind: "role", name },
        subject: "role.resources",
        tier: "wasm",
        enforcer: jail.name,
        checks: probesFor(jail, "role.resources"),
        status: "enforced",
      });
    }
  }
  return { lines, issues };
}
