// Failures of the cgroup enforcer. They extend the shared CordonError so callers switch on
// `code` exactly as for ../../errors.ts. Fields carry paths, pids and errno codes; no secrets
// ever pass through this module.
import { CordonError } from "../../errors.js";
import type { Json } from "../../errors.js";
import type { CgroupUnsupportedReason, ControllerName } from "./types.js";

/** A controller cordon needs is not usable on this host (fail closed: the tier must not start). */
export class CgroupUnavailable extends CordonError {
  readonly code = "ERR_CGROUP_UNAVAILABLE";
  constructor(readonly controller: ControllerName, readonly reason: CgroupUnsupportedReason, readonly detail: string) {
    super(`cgroup controller ${controller} is unavailable (${reason}): ${detail}`,
      `mount a writable cgroup v1 '${controller}' hierarchy under the cgroup root, or drop the limit that needs it`);
  }
  fields(): Record<string, Json> {
    return { controller: this.controller, reason: this.reason, detail: this.detail };
  }
}

/** A cell id or limit that cordon will not turn into a cgroup (bad name, non-integer, too small). */
export class CgroupConfigInvalid extends CordonError {
  readonly code = "ERR_CGROUP_CONFIG_INVALID";
  constructor(readonly field: string, readonly problem: string) {
    super(`cgroup config invalid at ${field}: ${problem}`);
  }
  fields(): Record<string, Json> {
    return { field: this.field, problem: this.problem };
  }
}

/** The cell's cgroup directory already exists: another cell (or a leftover) owns that id. */
export class CgroupExists extends CordonError {
  readonly code = "ERR_CGROUP_EXISTS";
  constructor(readonly id: string, readonly path: string) {
    super(`cgroup for cell ${id} already exists at ${path}`,
      "call sweepStale() at start-up to remove leftovers, and never reuse a live cell id");
  }
  fields(): Record<string, Json> {
    return { id: this.id, path: this.path };
  }
}

/** Writing a control file failed (`reason` is the errno code, e.g. EINVAL, EBUSY, ENOENT). */
export class CgroupWriteFailed extends CordonError {
  readonly code = "ERR_CGROUP_WRITE_FAILED";
  constructor(readonly path: string, readonly reason: string) {
    super(`cannot write ${path}: ${reason}`);
  }
  fields(): Record<string, Json> {
    return { path: this.path, reason: this.reason };
  }
}

/** A limit was written but the kernel reports a weaker value when read back. */
export class CgroupLimitNotApplied extends CordonError {
  readonly code = "ERR_CGROUP_LIMIT_NOT_APPLIED";
  constructor(readonly file: string, readonly wanted: number, readonly actual: number | null) {
    super(`cgroup limit ${file} not in force: wrote ${wanted}, read back ${actual === null ? "nothing" : actual}`);
  }
  fields(): Record<string, Json> {
    return { file: this.file, wanted: this.wanted, actual: this.actual };
  }
}

/** A process could not be moved into the cell's cgroup (`reason`: errno code or "destroyed"). */
export class CgroupAdoptFailed extends CordonError {
  readonly code = "ERR_CGROUP_ADOPT_FAILED";
  constructor(readonly id: string, readonly pid: number, readonly reason: string) {
    super(`cannot move pid ${pid} into cgroup of cell ${id}: ${reason}`);
  }
  fields(): Record<string, Json> {
    return { id: this.id, pid: this.pid, reason: this.reason };
  }
}

/** Processes survived repeated SIGKILL within the deadline. */
export class CgroupKillFailed extends CordonError {
  readonly code = "ERR_CGROUP_KILL_FAILED";
  constructor(readonly id: string, readonly survivors: readonly number[], readonly waitedMs: number) {
    super(`cell ${id}: ${survivors.length} process(es) survived SIGKILL for ${Math.round(waitedMs)} ms: ${survivors.join(", ")}`);
  }
  fields(): Record<string, Json> {
    return { id: this.id, survivors: [...this.survivors], waitedMs: Math.round(this.waitedMs) };
  }
}

/** A cgroup directory could not be removed (`reason` is the errno code of the last attempt). */
export class CgroupRemoveFailed extends CordonError {
  readonly code = "ERR_CGROUP_REMOVE_FAILED";
  constructor(readonly id: string, readonly path: string, readonly reason: string) {
    super(`cell ${id}: cannot remove ${path}: ${reason}`);
  }
  fields(): Record<string, Json> {
    return { id: this.id, path: this.path, reason: this.reason };
  }
}
