// Every failure cordon reports is one of these classes, each with a stable `code`.
// Callers switch on `code`; audit records and wire errors are built from `code` and fields,
// never from `message`. Messages describe; fields carry data; secrets appear in neither.

import type { EnforcerName } from "./enforcers.js";
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export abstract class CordonError extends Error {
  abstract readonly code: string;
  /** How an operator could grant or fix this (which policy line, which capability). */
  hint: string | undefined;
  constructor(message: string, hint?: string) {
    super(message);
    this.name = new.target.name;
    this.hint = hint;
  }
  /** Structured fields for audit records and wire errors. Never includes `message`. */
  abstract fields(): Record<string, Json>;
}

export interface PolicyIssue {
  readonly path: string;
  readonly problem: string;
}

export class PolicyInvalid extends CordonError {
  readonly code = "ERR_POLICY_INVALID";
  constructor(readonly issues: readonly PolicyIssue[]) {
    super(`policy is invalid: ${issues.map((i) => `${i.path}: ${i.problem}`).join("; ")}`);
  }
  fields(): Record<string, Json> {
    return { issues: this.issues.map((i) => ({ path: i.path, problem: i.problem })) };
  }
}

export class PolicyWish extends CordonError {
  readonly code = "ERR_POLICY_WISH";
  constructor(readonly lines: readonly string[]) {
    super(`policy has ${lines.length} line(s) without a known enforcer: ${lines.join("; ")}`,
      "name an enforcer from `cordon policy check`'s registry on each line, or pass --no-strict to inspect it");
  }
  fields(): Record<string, Json> {
    return { lines: [...this.lines] };
  }
}

export class DigestMismatch extends CordonError {
  readonly code = "ERR_ARTIFACT_DIGEST_MISMATCH";
  constructor(readonly artifact: string, readonly expected: string, readonly actual: string) {
    super(`digest of ${artifact} does not match the policy (expected sha256:${expected}, got sha256:${actual})`);
  }
  fields(): Record<string, Json> {
    return { artifact: this.artifact, expected: this.expected, actual: this.actual };
  }
}

export class ArtifactUnreadable extends CordonError {
  readonly code = "ERR_ARTIFACT_UNREADABLE";
  constructor(readonly artifact: string, readonly reason: string) {
    super(`cannot read ${artifact}: ${reason}`);
  }
  fields(): Record<string, Json> {
    return { artifact: this.artifact, reason: this.reason };
  }
}

/** The bytes are not a well-formed WebAssembly module (or use a construct cordon cannot meter). */
export class ModuleMalformed extends CordonError {
  readonly code = "ERR_MODULE_MALFORMED";
  constructor(readonly reason: string, readonly offset?: number) {
    super(`malformed module: ${reason}${offset === undefined ? "" : ` at byte ${offset}`}`);
  }
  fields(): Record<string, Json> {
    return this.offset === undefined ? { reason: this.reason } : { reason: this.reason, offset: this.offset };
  }
}

export type RefusalReason =
  | "oversized"
  | "memory64"
  | "shared-memory"
  | "multi-memory"
  | "imported-memory"
  | "too-many-functions"
  | "table-too-large"
  | "memory-too-large"
  | "reserved-export"
  | "unsupported-feature"
  | "abi-mismatch"
  | ModuleCapReason;

/** A well-formed module that cordon will not load under this tool's limits. */
export class ModuleRefused extends CordonError {
  readonly code = "ERR_MODULE_REFUSED";
  constructor(readonly reason: RefusalReason, readonly detail: string) {
    super(`module refused (${reason}): ${detail}`);
  }
  fields(): Record<string, Json> {
    return { reason: this.reason, detail: this.detail };
  }
}

export class ImportUngranted extends CordonError {
  readonly code = "ERR_MODULE_IMPORT_UNGRANTED";
  constructor(readonly importModule: string, readonly importName: string, readonly needs: string | null) {
    super(`module imports ${importModule}.${importName}, which ${needs === null ? "cordon never provides" : `needs the '${needs}' grant`}`,
      needs === null ? undefined : `add a '${needs}' grant to the tool, naming its enforcer`);
  }
  fields(): Record<string, Json> {
    return { importModule: this.importModule, importName: this.importName, needs: this.needs };
  }
}

export type LimitName = "memory" | "fuel" | "wall-clock" | "stack" | "output" | "input" | "fds" | "pids";

export class LimitExceeded extends CordonError {
  readonly code = "ERR_LIMIT_EXCEEDED";
  constructor(readonly limit: LimitName, readonly used: number, readonly max: number) {
    super(`${limit} limit exceeded (used ${used}, max ${max})`, `raise limits.${limit} on the tool if this is expected`);
  }
  fields(): Record<string, Json> {
    return { limit: this.limit, used: this.used, max: this.max };
  }
}

export class GuestTrap extends CordonError {
  readonly code = "ERR_GUEST_TRAP";
  /**
   * `reason` is host-generated (V8's trap kind or "abort"); `guestMessage` is whatever the guest
   * said when it aborted. It is guest output, so it is shown to the caller but never audited.
   */
  constructor(
    readonly reason: string,
    readonly func: string | null,
    readonly frames: readonly string[],
    readonly guestMessage: string | null = null,
  ) {
    super(`guest trapped: ${reason}${func === null ? "" : ` in ${func}`}${guestMessage === null ? "" : `: ${guestMessage}`}`);
  }
  fields(): Record<string, Json> {
    return { reason: this.reason, func: this.func, frames: [...this.frames] };
  }
}

export class GuestExit extends CordonError {
  readonly code = "ERR_GUEST_EXIT";
  /** What the guest wrote before exiting (its error report). Shown to the caller, never audited. */
  output: Uint8Array = new Uint8Array(0);
  constructor(readonly exitCode: number) {
    super(`guest exited with status ${exitCode}`);
  }
  fields(): Record<string, Json> {
    return { exitCode: this.exitCode };
  }
}

export class GuestOutputInvalid extends CordonError {
  readonly code = "ERR_GUEST_OUTPUT_INVALID";
  constructor(readonly bytes: number) {
    super(`guest output (${bytes} bytes) is not a JSON document`);
  }
  fields(): Record<string, Json> {
    return { bytes: this.bytes };
  }
}

export class ToolNotFound extends CordonError {
  readonly code = "ERR_TOOL_NOT_FOUND";
  constructor(readonly tool: string) {
    super(`tool not found: ${JSON.stringify(tool)}`);
  }
  fields(): Record<string, Json> {
    return { tool: this.tool };
  }
}

export class RoleNotFound extends CordonError {
  readonly code = "ERR_ROLE_NOT_FOUND";
  constructor(readonly role: string) {
    super(`role not found: ${JSON.stringify(role)}`);
  }
  fields(): Record<string, Json> {
    return { role: this.role };
  }
}

export class InputInvalid extends CordonError {
  readonly code = "ERR_INPUT_INVALID";
  constructor(readonly issues: readonly PolicyIssue[]) {
    super(`input is invalid: ${issues.map((i) => `${i.path}: ${i.problem}`).join("; ")}`);
  }
  fields(): Record<string, Json> {
    return { issues: this.issues.map((i) => ({ path: i.path, problem: i.problem })) };
  }
}

export class AuditWriteFailed extends CordonError {
  readonly code = "ERR_AUDIT_WRITE_FAILED";
  constructor(readonly reason: string) {
    super(`audit record could not be written (${reason}); the action it describes did not happen`);
  }
  fields(): Record<string, Json> {
    return { reason: this.reason };
  }
}

export class AuditCorrupt extends CordonError {
  readonly code = "ERR_AUDIT_CORRUPT";
  constructor(readonly firstBadSeq: number, readonly reason: string) {
    super(`audit log is corrupt from seq ${firstBadSeq}: ${reason}`);
  }
  fields(): Record<string, Json> {
    return { firstBadSeq: this.firstBadSeq, reason: this.reason };
  }
}

export class TierUnavailable extends CordonError {
  readonly code = "ERR_TIER_UNAVAILABLE";
  constructor(readonly tier: string, readonly missing: string) {
    super(`tier ${tier} is unavailable on this host: ${missing}`);
  }
  fields(): Record<string, Json> {
    return { tier: this.tier, missing: this.missing };
  }
}

export class UsageError extends CordonError {
  readonly code = "ERR_USAGE";
  constructor(message: string) {
    super(message);
  }
  fields(): Record<string, Json> {
    return {};
  }
}

/** A tool's module was refused while a cell loaded its role's template. */
export class ToolRefused extends CordonError {
  readonly code = "ERR_TOOL_REFUSED";
  constructor(readonly tool: string, readonly reason: CordonError, readonly enforcer: EnforcerName) {
    super(`tool ${tool} refused by ${enforcer}: ${reason.message}`, reason.hint);
  }
  fields(): Record<string, Json> {
    return { tool: this.tool, enforcer: this.enforcer, reasonCode: this.reason.code, ...this.reason.fields() };
  }
}

/** A granted preopen directory cannot be opened as a directory on this host (fail closed). */
export class PreopenUnavailable extends CordonError {
  readonly code = "ERR_WASI_PREOPEN_UNAVAILABLE";
  constructor(readonly guestPath: string, readonly reason: string) {
    super(`preopen ${guestPath} is unavailable: ${reason}`,
      "check that the host directory granted for this preopen exists and is a directory");
  }
  fields(): Record<string, Json> {
    return { guestPath: this.guestPath, reason: this.reason };
  }
}

/** A seccomp rule cannot be compiled as written; no filter is produced (fail closed). */
export class SeccompRuleInvalid extends CordonError {
  readonly code = "ERR_SECCOMP_RULE_INVALID";
  constructor(readonly index: number, readonly syscall: string, readonly problem: string) {
    super(`seccomp rule #${index} (${syscall}) is invalid: ${problem}`,
      "fix the rule in src/sandbox/seccomp/rules.ts (or the table passed to compileFilter)");
  }
  fields(): Record<string, Json> {
    return { index: this.index, syscall: this.syscall, problem: this.problem };
  }
}

/**
 * cordon has no syscall table for this CPU architecture. It refuses to build a filter rather
 * than produce one whose numbers match nothing (which would deny nothing).
 */
export class SeccompArchUnsupported extends CordonError {
  readonly code = "ERR_SECCOMP_ARCH_UNSUPPORTED";
  constructor(readonly arch: string, readonly supported: readonly string[]) {
    super(`no seccomp syscall table for arch ${JSON.stringify(arch)} (supported: ${supported.join(", ")})`,
      "run the sandboxed tiers on a supported architecture; the tier refuses to start here");
  }
  fields(): Record<string, Json> {
    return { arch: this.arch, supported: [...this.supported] };
  }
}

/** The compiled program would exceed the kernel's classic-BPF limit (BPF_MAXINSNS). */
export class SeccompFilterTooLong extends CordonError {
  readonly code = "ERR_SECCOMP_FILTER_TOO_LONG";
  constructor(readonly instructions: number, readonly max: number) {
    super(`seccomp program needs ${instructions} instructions; the kernel accepts at most ${max}`,
      "shorten the seccomp rule table");
  }
  fields(): Record<string, Json> {
    return { instructions: this.instructions, max: this.max };
  }
}

export type SessionEndReason = "idle" | "lifetime" | "max-calls" | "closed" | "cell-exited";

/** The session reached a limit (idle time, lifetime, number of calls) and was ended. */
export class SessionExpired extends CordonError {
  readonly code = "ERR_SESSION_EXPIRED";
  constructor(readonly reason: SessionEndReason) {
    super(`session ended (${reason})`, "open a new session");
  }
  fields(): Record<string, Json> {
    return { reason: this.reason };
  }
}

/** A process-tier tool exited with a non-zero status. Its stderr is shown to the caller, never audited. */
export class ProcessExit extends CordonError {
  readonly code = "ERR_PROCESS_EXIT";
  constructor(readonly exitCode: number, readonly stderr = "") {
    const said = stderr.trim().split("\n").at(-1)?.slice(0, 512) ?? "";
    super(`tool process exited with status ${exitCode}${said === "" ? "" : `: ${said}`}`);
  }
  fields(): Record<string, Json> {
    return { exitCode: this.exitCode };
  }
}

/** A process-tier tool died by a signal cordon did not send (e.g. SIGSEGV, SIGSYS). */
export class ProcessKilled extends CordonError {
  readonly code = "ERR_PROCESS_KILLED";
  constructor(readonly signal: string) {
    super(`tool process was killed by ${signal}`);
  }
  fields(): Record<string, Json> {
    return { signal: this.signal };
  }
}

/** A writable grant whose directory the kernel does not cap as the policy says (size, noexec). */
export class WritableGrantUncapped extends CordonError {
  readonly code = "ERR_GRANT_UNCAPPED";
  constructor(readonly tool: string, readonly mount: string, readonly problem: string, readonly enforcer: "disk-quota" | "noexec-mounts") {
    super(`tool ${tool}: the writable grant at ${mount} is refused: ${problem}`, "make the grant's directory a filesystem of its own (a tmpfs or a loop-mounted image) no larger than limits.disk, mounted noexec for process tools");
  }
  fields(): Record<string, Json> {
    return { tool: this.tool, mount: this.mount, problem: this.problem };
  }
}

/**
 * Each of cordon's module caps (src/wasm/module/module-caps.ts) and the refusal reason a module
 * over it gets. Totals (typeValues, elements, localGroups, dataBytes, totalNameBytes,
 * nameEntries, customSections) are over the whole module; the others per item or per index space.
 */
export const MODULE_CAP_REASONS = Object.freeze({
  types: "too-many-types",
  typeParams: "too-many-params",
  typeResults: "too-many-results",
  typeValues: "too-many-type-values",
  imports: "too-many-imports",
  functions: "too-many-functions",
  tables: "too-many-tables",
  memories: "too-many-memories",
  globals: "too-many-globals",
  tags: "too-many-tags",
  exports: "too-many-exports",
  elementSegments: "too-many-element-segments",
  segmentElements: "too-many-segment-elements",
  elements: "too-many-elements",
  dataSegments: "too-many-data-segments",
  dataBytes: "data-too-large",
  functionLocals: "too-many-locals",
  localGroups: "too-many-local-groups",
  bodyBytes: "body-too-large",
  nestingDepth: "nesting-too-deep",
  nameBytes: "name-too-long",
  totalNameBytes: "names-too-large",
  nameEntries: "too-many-names",
  customSections: "too-many-custom-sections",
} as const);

export type ModuleCapName = keyof typeof MODULE_CAP_REASONS;
export type ModuleCapReason = (typeof MODULE_CAP_REASONS)[ModuleCapName];

/**
 * A module declares more of something than its cap allows. Raised by the parser where the count
 * is read, before anything is allocated for it: `declared` is the count (or running total) that
 * went over `limit`, `offset` the byte where it was read. Never carries module bytes.
 */
export class ModuleCapExceeded extends ModuleRefused {
  constructor(readonly cap: ModuleCapName, readonly limit: number, readonly declared: number, readonly offset: number) {
    super(MODULE_CAP_REASONS[cap], `${declared} declared at byte ${offset}; the ${cap} cap is ${limit}`);
    this.hint =
      cap === "functions" ? "raise limits.maxFunctions on the tool if this module is expected"
      : cap === "dataBytes" ? "data segments may hold at most the tool's memory cap: raise limits.memory if this module is expected"
      : `the ${cap} cap is a fixed implementation limit of cordon: build the module smaller`;
  }
  override fields(): Record<string, Json> {
    return { ...super.fields(), cap: this.cap, limit: this.limit, declared: this.declared, offset: this.offset };
  }
}

/** A container image is not a well-formed tar archive (a bad header, checksum, or a truncated archive). */
export class TarMalformed extends CordonError {
  readonly code = "ERR_IMAGE_MALFORMED";
  constructor(readonly problem: string) {
    super(`container image is not a well-formed tar archive: ${problem}`, "rebuild the image with scripts/build-images.mjs");
  }
  fields(): Record<string, Json> {
    return { problem: this.problem };
  }
}

/**
 * An entry of a container image that cordon refuses to unpack: an absolute or '..' path, a link
 * that escapes the root, a device node, a setuid or setgid bit, an owner other than root.
 */
export class ImageEntryRefused extends CordonError {
  readonly code = "ERR_IMAGE_REFUSED";
  constructor(readonly path: string, readonly reason: string) {
    super(`container image entry ${JSON.stringify(path.slice(0, 200))} is refused: ${reason}`, "images are normalised by scripts/build-images.mjs: rebuild it there");
  }
  fields(): Record<string, Json> {
    return { path: this.path.slice(0, 200), reason: this.reason };
  }
}

// ---- MCP: cancellation, human approval, results, sampling, resources, prompts ----

/** How far a cancelled call had got when it was stopped, and how its work was stopped. */
export type CancelStage = "before-run" | "awaiting-approval" | "running";

/** The client cancelled the call (notifications/cancelled); its sandbox work was stopped. */
export class CallCancelled extends CordonError {
  readonly code = "ERR_CALL_CANCELLED";
  constructor(readonly stage: CancelStage, readonly stoppedBy: string) {
    super(`call cancelled by the client (${stage}; ${stoppedBy})`);
  }
  fields(): Record<string, Json> {
    return { stage: this.stage, stoppedBy: this.stoppedBy };
  }
}

/** Why a human-approval call was refused: the three ways it fails closed, besides a bad answer. */
export type ApprovalFailure = "declined" | "unanswered" | "unsupported" | "invalid-answer";

/** Base of the human-approval refusals: the call did not run. */
export abstract class ApprovalRefused extends CordonError {
  abstract readonly failure: ApprovalFailure;
  constructor(message: string, readonly tool: string) {
    super(message, `tool ${tool} has 'approval: required' in the policy: a person must accept each call through an MCP client that supports elicitation`);
  }
  fields(): Record<string, Json> {
    return { tool: this.tool, failure: this.failure };
  }
}

/** The user declined (or cancelled) the approval request, or accepted without approving. */
export class ApprovalDeclined extends ApprovalRefused {
  readonly code = "ERR_APPROVAL_DECLINED";
  readonly failure = "declined";
  constructor(tool: string, readonly action: string) {
    super(`the user did not approve the call of ${tool} (${action})`, tool);
  }
  override fields(): Record<string, Json> {
    return { ...super.fields(), action: this.action };
  }
}

/** Nobody answered the approval request in time. */
export class ApprovalUnanswered extends ApprovalRefused {
  readonly code = "ERR_APPROVAL_UNANSWERED";
  readonly failure = "unanswered";
  constructor(tool: string, readonly timeoutMs: number) {
    super(`no answer to the approval request for ${tool} within ${timeoutMs} ms`, tool);
  }
  override fields(): Record<string, Json> {
    return { ...super.fields(), timeoutMs: this.timeoutMs };
  }
}

/** The client cannot ask its user (no elicitation capability, or a transport with no way back). */
export class ApprovalUnsupported extends ApprovalRefused {
  readonly code = "ERR_APPROVAL_UNSUPPORTED";
  readonly failure = "unsupported";
  constructor(tool: string, readonly why: string) {
    super(`cannot ask for approval of ${tool}: ${why}`, tool);
  }
  override fields(): Record<string, Json> {
    return { ...super.fields(), why: this.why };
  }
}

/** The user's answer did not fit the approval form the policy declares. */
export class ApprovalInvalid extends ApprovalRefused {
  readonly code = "ERR_APPROVAL_INVALID";
  readonly failure = "invalid-answer";
  constructor(tool: string, readonly issues: readonly PolicyIssue[]) {
    super(`the approval answer for ${tool} does not fit its form: ${issues.map((i) => `${i.path}: ${i.problem}`).join("; ")}`, tool);
  }
  override fields(): Record<string, Json> {
    return { ...super.fields(), problems: this.issues.length };
  }
}

/** A result that does not fit the content types or output schema its tool declares. */
export class OutputRefused extends CordonError {
  readonly code = "ERR_OUTPUT_REFUSED";
  constructor(readonly tool: string, readonly issues: readonly PolicyIssue[]) {
    super(`the result of ${tool} is refused: ${issues.map((i) => `${i.path}: ${i.problem}`).join("; ")}`,
      "the tool's 'output' in the policy lists the content types and the schema its results may have");
  }
  fields(): Record<string, Json> {
    return { tool: this.tool, issues: this.issues.slice(0, 8).map((i) => ({ path: i.path.slice(0, 128), problem: i.problem.slice(0, 256) })) };
  }
}

export type SamplingProblem = "over-budget" | "too-many-tokens" | "malformed" | "unsupported" | "client-failed" | "timeout" | "ungranted";

/** A tool's request to the client's model was refused or failed (the guest gets an error code). */
export class SamplingRefused extends CordonError {
  readonly code = "ERR_SAMPLING_REFUSED";
  constructor(readonly tool: string, readonly problem: SamplingProblem, readonly detail: string) {
    super(`sampling request of ${tool} refused (${problem}): ${detail}`, "the tool's sampling grant sets maxRequests and maxTokens per call");
  }
  fields(): Record<string, Json> {
    return { tool: this.tool, problem: this.problem, detail: this.detail.slice(0, 256) };
  }
}

/** No resource of this session has that URI (outside every resource root, or absent). */
export class ResourceNotFound extends CordonError {
  readonly code = "ERR_RESOURCE_NOT_FOUND";
  constructor(readonly uri: string) {
    super(`resource not found: ${JSON.stringify(uri)}`);
  }
  fields(): Record<string, Json> {
    return { uri: this.uri };
  }
}

/** A resource read the jail refused (a symlink, '..', an absolute path, a device). */
export class ResourceDenied extends CordonError {
  readonly code = "ERR_RESOURCE_DENIED";
  constructor(readonly uri: string, readonly reason: string) {
    super(`resource ${JSON.stringify(uri)} refused: ${reason}`, "resources are the regular files under a role's resource roots; links and paths out of them are never followed");
  }
  fields(): Record<string, Json> {
    return { uri: this.uri, reason: this.reason };
  }
}

/** No prompt of that name for this role, or its arguments do not fit. */
export class PromptNotFound extends CordonError {
  readonly code = "ERR_PROMPT_NOT_FOUND";
  constructor(readonly prompt: string) {
    super(`prompt not found: ${JSON.stringify(prompt)}`);
  }
  fields(): Record<string, Json> {
    return { prompt: this.prompt };
  }
}

export class PromptArgumentsInvalid extends CordonError {
  readonly code = "ERR_PROMPT_ARGUMENTS";
  constructor(readonly prompt: string, readonly issues: readonly PolicyIssue[]) {
    super(`arguments of prompt ${prompt} are invalid: ${issues.map((i) => `${i.path}: ${i.problem}`).join("; ")}`);
  }
  fields(): Record<string, Json> {
    return { prompt: this.prompt, issues: this.issues.map((i) => ({ path: i.path, problem: i.problem })) };
  }
}
