// The seccomp enforcer: a denylist rule table as data, compiled to classic BPF for
// `bwrap --seccomp FD`, described for `cordon prove`, and checked live on this host.
export { compileFilter } from "./compile-filter.js";
export { describeCondition, describeRules } from "./describe-filter.js";
export type { RuleRow } from "./describe-filter.js";
export { openFilterFd } from "./filter-fd.js";
export { checkSeccompWorks } from "./load-check.js";
export type { SeccompCheck, SeccompCheckOptions } from "./load-check.js";
export { AF_UNIX, CLONE_NAMESPACE_FLAGS, DEFAULT_RULES, ERRNO_NUMBERS, PERSONALITY_WEAKENING_FLAGS } from "./rules.js";
export type { ArgCondition, ArgIndex, ConditionOp, ErrnoRule, KillRule, SeccompErrno, SeccompRule } from "./rules.js";
export { ARCH_SPECS, archSpec, syscallNumber } from "./syscall-table.js";
export type { ArchSpec } from "./syscall-table.js";
