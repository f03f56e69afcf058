// The enforcer registry: every policy line must name one of these, and every enforcer names
// the probes that show it firing. A line whose enforcer is missing, unknown or "TBD" is a wish.
import type { ModuleCapName } from "./errors.js";

/**
 * One probe per module cap (src/wasm/module/module-caps.ts): a module generated just past the
 * cap, which the vetting must refuse where it reads the count. Each is a row of every Wasm
 * tool's module-shape line.
 */
export const MODULE_CAP_PROBES: Readonly<Record<ModuleCapName, string>> = Object.freeze({
  types: "module-too-many-types",
  typeParams: "module-too-many-params",
  typeResults: "module-too-many-results",
  typeValues: "module-too-many-type-values",
  imports: "module-too-many-imports",
  functions: "module-too-many-functions",
  tables: "module-too-many-tables",
  memories: "module-too-many-memories",
  globals: "module-too-many-globals",
  tags: "module-too-many-tags",
  exports: "module-too-many-exports",
  elementSegments: "module-too-many-element-segments",
  segmentElements: "module-too-many-segment-elements",
  elements: "module-too-many-elements",
  dataSegments: "module-too-many-data-segments",
  dataBytes: "module-data-too-large",
  functionLocals: "module-too-many-locals",
  localGroups: "module-too-many-local-groups",
  bodyBytes: "module-body-too-large",
  nestingDepth: "module-deep-nesting",
  nameBytes: "module-name-too-long",
  totalNameBytes: "module-names-too-large",
  nameEntries: "module-too-many-names",
  customSections: "module-too-many-custom-sections",
});

export type Tier = "wasm" | "process" | "container" | "microvm";

/** What a line constrains; an enforcer covers one or more subjects. */
export type Subject =
  | "fs.read"
  | "fs.write"
  | "env"
  | "clock"
  | "random"
  | "log"
  | "module.digest"
  | "module.shape"
  | "module.imports"
  | "limits.memory"
  | "limits.fuel"
  | "limits.wallClock"
  | "limits.stack"
  | "limits.input"
  | "limits.output"
  | "input.schema"
  | "role.toolset"
  | "tier.network"
  | "tier.syscalls"
  | "tier.filesystem"
  | "tier.environment"
  | "tier.pids"
  | "tier.memory"
  | "tier.frames"
  | "tier.cleanup"
  | "command.digest"
  | "tier.launch"
  | "proc.pids"
  | "proc.memory"
  | "proc.wallClock"
  | "proc.output"
  | "proc.network"
  | "proc.syscalls"
  | "proc.filesystem"
  | "proc.environment"
  | "proc.cleanup"
  | "proc.disk"
  | "proc.exec"
  | "limits.disk"
  | "exec"
  // The container tier: the tool's own lines, then the tier's (once per runtime).
  | "image.digest"
  | "ctr.pids"
  | "ctr.memory"
  | "ctr.wallClock"
  | "ctr.output"
  | "ctr.disk"
  | "ctr.exec"
  | "ctr.kernelfs"
  | "ctr.devices"
  | "ctr.privilege"
  | "ctr.syscalls"
  | "ctr.network"
  | "ctr.filesystem"
  | "ctr.sessions"
  | "ctr.isolation"
  | "ctr.cleanup"
  // Runtime and control-plane lines (not from a policy): what `cordon prove` adds to the
  // policy's own lines when it runs on a verified trust bundle (src/probes/runtime-lines.ts).
  | "authn.token"
  | "gateway.authn"
  | "gateway.origin"
  | "gateway.session"
  | "gateway.sessions"
  | "gateway.connections"
  | "trust.bundle"
  | "artifact.signature"
  | "key.source"
  | "audit.chain"
  | "audit.checkpoint"
  | "audit.witness"
  | "runtime.lock"
  | "tier.watchdog"
  | "oci.artifact"
  // MCP: what a tool may do through its client, what its results may be, what a role may read.
  | "progress"
  | "sampling"
  | "tool.approval"
  | "output.content"
  | "output.schema"
  | "role.resources";

export interface Enforcer {
  readonly name: string;
  readonly tier: Tier | "control-plane";
  readonly covers: readonly Subject[];
  /** Probe ids that exercise this enforcer, per subject. The first is the default check. */
  readonly probes: Readonly<Partial<Record<Subject, readonly string[]>>>;
  readonly mechanism: string;
  /** For grant enforcers: the tiers whose tools may name this enforcer on a grant. */
  readonly grantTiers?: readonly Tier[];
}

const FS_READ_PROBES = [
  "fs-escape-dotdot",
  "fs-escape-absolute",
  "fs-escape-symlink-file",
  "fs-escape-symlink-dir",
  "fs-race-swap",
  "fs-write-readonly",
] as const;
const FS_WRITE_PROBES = [
  "fs-escape-dotdot",
  "fs-escape-absolute",
  "fs-escape-symlink-file",
  "fs-escape-symlink-dir",
  "fs-race-create",
] as const;

const REGISTRY = [
  {
    name: "wasi-jail",
    tier: "wasm",
    covers: ["fs.read", "fs.write"],
    probes: { "fs.read": FS_READ_PROBES, "fs.write": FS_WRITE_PROBES },
    grantTiers: ["wasm"],
    mechanism: "cordon's WASI subset: per-component openat via /proc/self/fd with O_NOFOLLOW, fd re-check, read-only host opens",
  },
  {
    name: "wasi-env",
    tier: "wasm",
    covers: ["env"],
    probes: { env: ["env-ungranted"] },
    mechanism: "environ_* exist only for tools with an env grant and expose only the granted literal values",
  },
  {
    name: "wasi-clock",
    tier: "wasm",
    covers: ["clock"],
    probes: { clock: ["clock-ungranted"] },
    mechanism: "clock_* imports refused at load without a clock grant",
  },
  {
    name: "wasi-random",
    tier: "wasm",
    covers: ["random"],
    probes: { random: ["random-ungranted"] },
    mechanism: "random_get refused at load without a random grant",
  },
  {
    name: "cordon-log",
    tier: "wasm",
    covers: ["log"],
    probes: { log: ["log-ungranted"] },
    mechanism: "cordon.log refused at load without a log grant; lines are capped and never audited raw",
  },
  {
    name: "module-digest",
    tier: "control-plane",
    covers: ["module.digest", "command.digest", "image.digest"],
    probes: { "module.digest": ["module-tampered"], "command.digest": ["script-tampered"], "image.digest": ["image-tampered"] },
    mechanism: "sha256 of the bytes read once into memory must equal the policy's digest; those same bytes are compiled",
  },
  {
    name: "wasm-module-vetting",
    tier: "wasm",
    covers: ["module.shape"],
    probes: { "module.shape": ["module-oversized", ...Object.values(MODULE_CAP_PROBES)] },
    mechanism: "size cap, then a parse that holds every count to its cap where it reads it (functions from limits.maxFunctions, data bytes from limits.memory, the rest fixed), at policy load in the control plane and again in the cell before the engine sees the bytes; memory64, shared and imported memory refused",
  },
  {
    name: "wasm-import-vetting",
    tier: "wasm",
    covers: ["module.imports"],
    probes: { "module.imports": ["import-ungranted"] },
    mechanism: "every import must be covered by a grant, else the module is refused at load, naming the import",
  },
  {
    name: "wasm-memory-cap",
    tier: "wasm",
    covers: ["limits.memory"],
    probes: { "limits.memory": ["memory-grow-bomb"] },
    mechanism: "memory maximum rewritten into the module bytes; memory.grow routed through the host, which records refusals",
  },
  {
    name: "wasm-fuel",
    tier: "wasm",
    covers: ["limits.fuel"],
    probes: { "limits.fuel": ["fuel-spin"] },
    mechanism: "deterministic fuel counter injected at function entries and loop headers",
  },
  {
    name: "wasm-deadline",
    tier: "wasm",
    covers: ["limits.wallClock"],
    probes: { "limits.wallClock": ["deadline-spin"] },
    mechanism: "wall-clock deadline checked at every fuel slice (~1M units), independent of the fuel budget",
  },
  {
    name: "wasm-stack-guard",
    tier: "wasm",
    covers: ["limits.stack"],
    probes: { "limits.stack": ["deep-recursion"] },
    mechanism: "V8's stack limit turns unbounded recursion into a typed LimitExceeded; the instance is discarded",
  },
  {
    name: "io-cap",
    tier: "wasm",
    covers: ["limits.input", "limits.output", "proc.output", "ctr.output"],
    probes: { "limits.input": ["input-oversized"], "limits.output": ["output-flood"], "proc.output": ["proc-output-flood"], "ctr.output": ["ctr-output-flood"] },
    mechanism: "input size checked before the call; stdout is a capped buffer that stops the guest (or kills the process) at the cap",
  },
  {
    name: "input-schema",
    tier: "control-plane",
    covers: ["input.schema"],
    probes: { "input.schema": ["input-schema-violation"] },
    mechanism: "the tool's JSON Schema (enforced keywords only) is checked before anything reaches the cell",
  },
  {
    name: "seccomp",
    tier: "wasm",
    covers: ["tier.network", "tier.syscalls", "proc.network", "proc.syscalls", "ctr.syscalls"],
    probes: {
      "tier.network": ["cell-socket-inet", "cell-connect"],
      "tier.syscalls": ["cell-ptrace", "cell-mount", "cell-unshare"],
      "proc.network": ["proc-socket-inet", "proc-connect"],
      "proc.syscalls": [
        "proc-ptrace", "proc-mount", "proc-unshare",
        "proc-bpf", "proc-io-uring-setup", "proc-keyctl", "proc-perf-event-open", "proc-userfaultfd", "proc-kexec-load", "proc-setns",
      ],
      "ctr.syscalls": ["ctr-mount", "ctr-unshare", "ctr-ptrace", "ctr-socket-inet"],
    },
    mechanism: "classic-BPF filter from src/sandbox/seccomp/rules.ts, installed inside the sandbox with a user-notification listener: the supervisor outside answers every denied call EPERM and the control plane records each (sandbox.denied, rate-limited per session)",
  },
  {
    name: "bwrap-mounts",
    tier: "wasm",
    covers: ["tier.filesystem", "proc.filesystem", "fs.read", "fs.write"],
    probes: {
      "tier.filesystem": ["cell-read-shadow", "cell-read-home", "cell-write-system"],
      "proc.filesystem": ["proc-read-shadow", "proc-read-home", "proc-write-system"],
      "fs.read": ["proc-write-readonly"],
      "fs.write": ["proc-write-granted"],
    },
    grantTiers: ["process"],
    mechanism: "a fresh mount namespace: read-only /usr and cordon's code, a private /tmp, the grants bound read-only or writable; no /etc/shadow, no home",
  },
  {
    name: "cell-launch",
    tier: "wasm",
    covers: ["tier.environment", "proc.environment"],
    probes: { "tier.environment": ["cell-environ", "cell-fds"], "proc.environment": ["proc-environ", "proc-fds"] },
    mechanism: "bwrap --clearenv with an empty allowlist; cordon-launch closes every fd but stdio and the frame socket",
  },
  {
    name: "cgroup-pids",
    tier: "wasm",
    covers: ["tier.pids", "proc.pids", "ctr.pids"],
    probes: { "tier.pids": ["cell-fork-bomb"], "proc.pids": ["proc-fork-bomb"], "ctr.pids": ["ctr-fork-bomb"] },
    mechanism: "a per-cell (per process-tier call) cgroup with pids.max; evidence is the kernel's pids.events counter",
  },
  {
    name: "cgroup-memory",
    tier: "wasm",
    covers: ["tier.memory", "proc.memory", "ctr.memory"],
    probes: { "tier.memory": ["cell-mem-hog"], "proc.memory": ["proc-mem-hog"], "ctr.memory": ["ctr-mem-hog"] },
    mechanism: "a per-cell (per process-tier call) cgroup with memory.limit_in_bytes; evidence is the kernel's oom_kill counter",
  },
  {
    name: "launch-attestation",
    tier: "wasm",
    covers: ["tier.launch"],
    probes: { "tier.launch": ["launch-tampered", "launch-mismatch"] },
    mechanism: "each session's in-toto launch statement is signed with the per-boot launch key; the cell checks the signature (key from its command line) and every module digest against the bytes it received before it serves the session",
  },
  {
    name: "disk-quota",
    tier: "process",
    covers: ["proc.disk", "limits.disk", "ctr.disk"],
    probes: { "proc.disk": ["proc-disk-fill"], "limits.disk": ["fs-write-uncapped"], "ctr.disk": ["ctr-disk-fill"] },
    mechanism: "the kernel's size caps: each process-tier session gets its own tmpfs mounts for /workspace and /tmp (size=limits.disk, nr_inodes capped; pages charged to the writer's memory cgroup), and a writable grant must be a filesystem of its own no larger than limits.disk (statfs at session open), else the session is refused; a call that fills one is recorded",
  },
  {
    name: "noexec-mounts",
    tier: "process",
    covers: ["proc.exec", "exec", "ctr.exec"],
    probes: { "proc.exec": ["proc-exec-written"], exec: ["proc-exec-granted", "ctr-exec-granted"], "ctr.exec": ["ctr-exec-written"] },
    grantTiers: ["process", "container"],
    mechanism: "the session's /workspace and /tmp tmpfs are mounted noexec,nosuid,nodev unless an exec grant names them (then exec, still nosuid); a writable grant of a process tool must be on a noexec filesystem (mountinfo at session open)",
  },
  {
    name: "process-deadline",
    tier: "process",
    covers: ["proc.wallClock", "ctr.wallClock"],
    probes: { "proc.wallClock": ["proc-timeout"], "ctr.wallClock": ["ctr-timeout"] },
    mechanism: "a wall-clock timer per process-tier or container call; at the deadline the call's whole cgroup is killed (a container's, then the container deleted)",
  },
  {
    name: "oci-hardening",
    tier: "container",
    covers: ["ctr.kernelfs", "ctr.devices", "ctr.privilege", "ctr.network", "ctr.filesystem", "ctr.sessions", "fs.read", "fs.write"],
    probes: {
      "ctr.kernelfs": ["ctr-write-proc-sys", "ctr-write-sys"],
      "ctr.devices": ["ctr-mknod"],
      "ctr.privilege": ["ctr-caps", "ctr-setuid"],
      "ctr.network": ["ctr-loopback"],
      "ctr.filesystem": ["ctr-read-host", "ctr-write-root"],
      "ctr.sessions": ["ctr-other-workspace"],
      "fs.read": ["ctr-write-readonly"],
      "fs.write": ["ctr-write-granted"],
    },
    grantTiers: ["container"],
    mechanism: "the bundle's config.json, planned from the policy as data (src/container/oci-plan.ts): read-only root, noNewPrivileges, every capability set empty, a user namespace mapping container root to the session's unprivileged host uid, pid/ipc/uts/mount/cgroup namespaces, a network namespace with only lo, /proc and /sys masked and read-only, rlimits, cgroup limits, the session's capped /workspace and /tmp, no host path unless a grant names it",
  },
  {
    name: "container-runtime",
    tier: "container",
    covers: ["ctr.isolation"],
    probes: { "ctr.isolation": ["ctr-runtime-isolation"] },
    mechanism: "the OCI runtime's own boundary, probed before the tier is offered: crun (namespaces, pivot_root into the image) or runsc (gVisor: the tool's syscalls are served by the Sentry, a user-space kernel, not the host's); a runtime that is missing or fails its probe makes the tier refuse (ERR_TIER_UNAVAILABLE, audited)",
  },
  {
    name: "frame-guard",
    tier: "control-plane",
    covers: ["tier.frames"],
    probes: { "tier.frames": ["cell-forge-session", "cell-oversized-frame"] },
    mechanism: "every frame from a cell is size-capped and checked for its session; a violation kills the cell",
  },
  {
    name: "reaper",
    tier: "control-plane",
    covers: ["tier.cleanup", "proc.cleanup", "ctr.cleanup"],
    probes: { "tier.cleanup": ["cell-leftovers"], "proc.cleanup": ["proc-leftovers"], "ctr.cleanup": ["ctr-leftovers"] },
    mechanism: "ending a session freezes (pids.max=0) and kills the cell's cgroup; bwrap --die-with-parent; start-up sweep of dead control planes",
  },
  {
    name: "role-toolset",
    tier: "control-plane",
    covers: ["role.toolset"],
    probes: { "role.toolset": ["other-role-tool"] },
    mechanism: "a session's cell is built from its role's tools only; any other name is not found and never loaded",
  },
  {
    name: "authn-token",
    tier: "control-plane",
    covers: ["authn.token", "gateway.authn"],
    probes: {
      "authn.token": [
        "token-forged-signature",
        "token-alg-none",
        "token-alg-none-case",
        "token-hs256-public-key",
        "token-embedded-jwk",
        "token-jku-canary",
        "token-kid-path",
        "token-kid-oversized",
        "token-wrong-iss",
        "token-wrong-aud",
        "token-expired",
        "token-nbf-future",
        "token-id-token",
        "token-lifetime-excessive",
        "token-exp-huge",
      ],
      "gateway.authn": ["gateway-no-token"],
    },
    mechanism: "jose, configured strictly, over the signed trust bundle's issuers: algorithm allowlist, a closed set of header parameters (alg, typ, kid: jku, x5u, jwk, b64, crit and the rest are refused), plain kids, exact iss and aud, exp/nbf/iat with bounded skew and age, a lifetime (exp - iat, exp - now) capped at the issuer's maximum age with safe-integer time claims, typ at+jwt; every refusal is one authn.denied record with a token digest",
  },
  {
    name: "origin-check",
    tier: "control-plane",
    covers: ["gateway.origin"],
    probes: { "gateway.origin": ["gateway-foreign-origin"] },
    mechanism: "Host and Origin are checked against this server's names before anything else (DNS rebinding, cross-site calls)",
  },
  {
    name: "session-binding",
    tier: "control-plane",
    covers: ["gateway.session"],
    probes: { "gateway.session": ["gateway-foreign-session"] },
    mechanism: "an Mcp-Session-Id is bound to the principal that opened it (issuer, subject, role, tenant); anyone else gets 'not found'",
  },
  {
    name: "session-limits",
    tier: "control-plane",
    covers: ["gateway.sessions"],
    probes: { "gateway.sessions": ["gateway-session-cap"] },
    mechanism: "concurrent sessions are capped per principal and in total, counting sessions still being opened",
  },
  {
    name: "connection-limits",
    tier: "control-plane",
    covers: ["gateway.connections"],
    probes: { "gateway.connections": ["gateway-slowloris-headers", "gateway-slow-body", "gateway-connection-cap"] },
    mechanism: "node:http's header, request and keep-alive clocks, a body clock (idle and total) and a socket idle clock; concurrent connections capped per remote address (IPv6 by /64) and in total; 408, 429 or 503, then the socket is closed; records throttled per reason with one summary record carrying the count",
  },
  {
    name: "trust-bundle",
    tier: "control-plane",
    covers: ["trust.bundle"],
    probes: { "trust.bundle": ["trust-bundle-tampered"] },
    mechanism: "the bundle is read once, verified against the pinned root key (DSSE, payload type bound), parsed from the verified bytes, and refused if older than one accepted here",
  },
  {
    name: "artifact-signature",
    tier: "control-plane",
    covers: ["artifact.signature"],
    probes: { "artifact.signature": ["policy-tampered", "signed-module-tampered", "policy-rollback", "module-swap-race"] },
    mechanism: "strict mode: the policy and every module and script are read once and must carry a signature by an allowed signer over exactly those bytes; an older policy version is refused",
  },
  {
    name: "key-source",
    tier: "control-plane",
    covers: ["key.source"],
    probes: { "key.source": ["key-env-offered"] },
    mechanism: "keys and trust roots come only from files in cordon's data directory; key-like environment variables are ignored and recorded by name",
  },
  {
    name: "audit-chain",
    tier: "control-plane",
    covers: ["audit.chain"],
    probes: { "audit.chain": ["audit-edited"] },
    mechanism: "every record carries the sha256 of the previous one; an edited, reordered or removed record breaks the chain",
  },
  {
    name: "audit-checkpoint",
    tier: "control-plane",
    covers: ["audit.checkpoint"],
    probes: { "audit.checkpoint": ["audit-truncated", "audit-rewritten"] },
    mechanism: "signed checkpoints pin (seq, head hash): a log cut short or rewritten as a whole new chain no longer matches them",
  },
  {
    name: "audit-witness",
    tier: "control-plane",
    covers: ["audit.witness"],
    probes: { "audit.witness": ["audit-witness-truncated", "audit-witness-fork"] },
    mechanism: "a witness on another host cosigns each checkpoint only if the records since its last cosignature link to it: a log cut back with its checkpoints falls short of the witness's latest, a forked checkpoint is refused",
  },
  {
    name: "runtime-lock",
    tier: "control-plane",
    covers: ["runtime.lock"],
    probes: { "runtime.lock": ["lock-file-tampered"] },
    mechanism: "a signed manifest of sha256 digests of node, cordon's built files, its dependencies and the sandbox binaries; the runtime on disk is compared file by file",
  },
  {
    name: "cell-watchdog",
    tier: "control-plane",
    covers: ["tier.watchdog"],
    probes: { "tier.watchdog": ["cell-hang"] },
    mechanism: "every call to a cell has a backstop deadline (the tool's wall clock plus a grace): a cell that has not answered by then is killed with its whole cgroup, and the call fails typed",
  },
  {
    name: "oci-verify",
    tier: "control-plane",
    covers: ["oci.artifact"],
    probes: {
      "oci.artifact": [
        "oci-blob-tampered",
        "oci-manifest-swapped",
        "oci-signature-untrusted",
        "oci-rollback",
        "oci-signature-misattached",
        "oci-tag-moved",
        "oci-manifest-oversized",
        "oci-blob-oversized",
        "oci-redirect-foreign",
        "oci-registry-slow",
      ],
    },
    mechanism: "a pull from an OCI registry (src/oci/): every manifest and blob hashed as it downloads and checked against the digest its parent names, under caps checked before the download completes; Sigstore bundles (OCI referrers, or the tag schema) verified offline by @sigstore/verify against the trust bundle's keys only (tlog/timestamp thresholds 0, the key hint never picks a key), each naming exactly the bytes it vouches for; the trust bundle only as signed by the pinned root; rollback refused; a tag pinned once; redirects only within the registry's origin; deadlines on every exchange",
  },
  {
    name: "cordon-progress",
    tier: "wasm",
    covers: ["progress"],
    probes: { progress: ["progress-ungranted"] },
    mechanism: "cordon.progress refused at load without a progress grant; reports are capped per call, kept increasing, and counted on the call's record",
  },
  {
    name: "cordon-sampling",
    tier: "wasm",
    covers: ["sampling"],
    probes: { sampling: ["sampling-ungranted", "sampling-over-budget"] },
    mechanism: "cordon.sample refused at load without a sampling grant; the control plane answers at most maxRequests requests of at most maxTokens per call, only for a client with the sampling capability, and records every request and its size",
  },
  {
    name: "human-approval",
    tier: "control-plane",
    covers: ["tool.approval"],
    probes: { "tool.approval": ["approval-declined", "approval-unanswered", "approval-unsupported"] },
    mechanism: "before a call of a tool with 'approval: required' is allowed, the control plane asks the user through the client (elicitation/create) with the tool and its input; only an accepted, well-formed answer lets it run; a decline, no answer in time or a client without elicitation refuses it (fail closed); both outcomes are recorded",
  },
  {
    name: "output-check",
    tier: "control-plane",
    covers: ["output.content", "output.schema"],
    probes: { "output.content": ["output-content-undeclared"], "output.schema": ["output-schema-violation"] },
    mechanism: "a result leaves the control plane only as the MCP content types its tool's policy declares (base64 and MIME types checked) and, with an output schema, only with structuredContent that validates against it",
  },
  {
    name: "resource-jail",
    tier: "wasm",
    covers: ["role.resources"],
    probes: { "role.resources": ["resource-escape-symlink", "resource-escape-dotdot", "resource-escape-absolute"] },
    mechanism: "resources are listed and read inside the session's sandboxed cell through cordon's WASI jail over the grant's read-only bind (per-component O_NOFOLLOW, /proc/self/fd re-check); symlinks and non-regular files are never listed; a URI outside every root, with '..' or an absolute path is refused and recorded; the control plane never opens a grant path itself",
  },
] as const satisfies readonly Enforcer[];

/** Every enforcer cordon has: the only names a policy line or an audit record may carry. */
export type EnforcerName = (typeof REGISTRY)[number]["name"];

export const ENFORCERS: readonly (Enforcer & { readonly name: EnforcerName })[] = Object.freeze(REGISTRY);

const NAMES: ReadonlySet<string> = new Set(REGISTRY.map((e) => e.name));

/** True for a registry name (what a peer or a policy says is checked against this). */
export function isEnforcerName(name: string): name is EnforcerName {
  return NAMES.has(name);
}

export function findEnforcer(name: string): Enforcer | undefined {
  return ENFORCERS.find((e) => e.name === name);
}

/** Probe ids that may serve as the check for a line of this subject under this enforcer. */
export function probesFor(enforcer: Enforcer, subject: Subject): readonly string[] {
  return enforcer.probes[subject] ?? [];
}

/** The enforcer cordon uses for an implicit line (limits, module, role). */
export function defaultEnforcerFor(subject: Subject): Enforcer {
  const found = ENFORCERS.find((e) => e.covers.includes(subject));
  if (found === undefined) throw new Error(`no enforcer covers ${subject}`);
  return found;
}
