// The cgroup enforcer: per-cell v1 cgroups (memory, pids, cpu), read-back of what is in force,
// bounded teardown, and a start-up sweep of leftovers.
export { CellCgroup, CFS_PERIOD_US, DEFAULT_CGROUP_PARENT, DEFAULT_CGROUP_ROOT } from "./cell-cgroup.js";
export type { AppliedLimits, CellCgroupOptions } from "./cell-cgroup.js";
export {
  CgroupAdoptFailed, CgroupConfigInvalid, CgroupExists, CgroupKillFailed, CgroupLimitNotApplied,
  CgroupRemoveFailed, CgroupUnavailable, CgroupWriteFailed,
} from "./cgroup-errors.js";
export { realCgroupHost } from "./cgroup-host.js";
export { detectCgroups } from "./detect-cgroups.js";
export type { DetectOptions } from "./detect-cgroups.js";
export type { DrainReport } from "./drain-cgroups.js";
export { sweepStale } from "./sweep.js";
export type { SweepFailure, SweepOptions, SweepResult, SweptCell } from "./sweep.js";
export { CONTROLLERS } from "./types.js";
export type {
  CellEvents, CellLimits, CgroupHost, CgroupSupport, CgroupUnsupportedReason, ControllerName, ControllerSupport,
} from "./types.js";
