// A process-tier call's sandbox as data: the same bubblewrap layers as a cell (every namespace,
// no capabilities, a private /tmp), the program from /usr, the session's workspace and the
// tool's grants. Pure; run-process.ts does the I/O.
import type { ProcessTool } from "../policy/load-policy.js";
import { SCRIPT_PLACEHOLDER } from "../policy/schema.js";
import { buildSandboxPlan, type Bind, type SandboxPlan, type SupervisedSeccomp } from "../sandbox/bwrap-plan.js";

/** Where a session's workspace appears to its tool processes. */
export const WORKSPACE = "/workspace";
/** uid/gid a tool process sees itself as, inside its user namespace. */
export const PROCESS_INNER_ID = 1000;

/** The whole environment of a tool process: nothing is inherited. (PWD is what bwrap's --chdir sets.) */
export const PROCESS_ENV: Readonly<Record<string, string>> = Object.freeze({ PATH: "/usr/bin:/bin", LANG: "C.UTF-8", HOME: WORKSPACE, PWD: WORKSPACE });

/** The tool's argv with the verified script text in place of `{script}`. */
export function processArgv(tool: { readonly command: ProcessTool["command"] }): string[] {
  const script = tool.command.script;
  const text = script === null ? "" : new TextDecoder("utf-8", { fatal: true }).decode(script.bytes);
  return tool.command.argv.map((a) => (a === SCRIPT_PLACEHOLDER ? text : a));
}

export interface ProcessPlanInput {
  readonly argv: readonly string[];
  readonly tool: ProcessTool;
  /** Host directory bound writable at /workspace, or null for none. */
  readonly workspace: string | null;
  /** Host directory bound writable at /tmp (the session's capped tmpfs); null leaves bwrap's own. */
  readonly tmp?: string | null;
  /** Extra read-only host directories, bound at the same path (probes: the native fixtures). */
  readonly extraRo?: readonly Bind[];
  readonly seccomp: SupervisedSeccomp | null;
}

export function processPlan(input: ProcessPlanInput): SandboxPlan {
  const binds: Bind[] = [];
  if (input.workspace !== null) binds.push({ host: input.workspace, guest: WORKSPACE, writable: true });
  if (input.tmp !== undefined && input.tmp !== null) binds.push({ host: input.tmp, guest: "/tmp", writable: true });
  for (const g of input.tool.grants) {
    if (g.kind === "fs.read" || g.kind === "fs.write") binds.push({ host: g.hostPath, guest: g.mount, writable: g.kind === "fs.write" });
  }
  binds.push(...(input.extraRo ?? []));
  return buildSandboxPlan({
    argv: input.argv,
    binds,
    env: PROCESS_ENV,
    uid: PROCESS_INNER_ID,
    gid: PROCESS_INNER_ID,
    seccomp: input.seccomp,
    cwd: input.workspace === null ? "/tmp" : WORKSPACE,
    hostname: "tool",
  });
}
