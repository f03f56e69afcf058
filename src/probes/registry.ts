// Every probe id named by the enforcer registry maps to a hostile fixture run here.
import { fsEscapeAbsolute, fsEscapeDotdot, fsEscapeSymlinkDir, fsEscapeSymlinkFile, fsRaceCreate, fsRaceSwap, fsWriteReadonly } from "./fs-probes.js";
import { deadlineSpin, deepRecursion, fuelSpin, inputOversized, inputSchemaViolation, memoryGrowBomb, outputFlood } from "./limit-probes.js";
import { clockUngranted, envUngranted, importUngranted, logUngranted, moduleOversized, moduleTampered, otherRoleTool, randomUngranted } from "./module-probes.js";
import {
  cellConnect, cellEnviron, cellFds, cellForgeSession, cellForkBomb, cellLeftovers, cellMemHog, cellMount, cellOversizedFrame,
  cellPtrace, cellReadHome, cellReadShadow, cellSocketInet, cellUnshare, cellWriteSystem,
} from "./cell-probes.js";
import type { Probe } from "./types.js";

export const PROBES: ReadonlyMap<string, Probe> = new Map<string, Probe>([
  ["fs-escape-dotdot", fsEscapeDotdot],
  ["fs-escape-absolute", fsEscapeAbsolute],
  ["fs-escape-symlink-file", fsEscapeSymlinkFile],
  ["fs-escape-symlink-dir", fsEscapeSymlinkDir],
  ["fs-race-swap", fsRaceSwap],
  ["fs-race-create", fsRaceCreate],
  ["fs-write-readonly", fsWriteReadonly],
  ["env-ungranted", envUngranted],
  ["clock-ungranted", clockUngranted],
  ["random-ungranted", randomUngranted],
  ["log-ungranted", logUngranted],
  ["import-ungranted", importUngranted],
  ["module-tampered", moduleTampered],
  ["module-oversized", moduleOversized],
  ["memory-grow-bomb", memoryGrowBomb],
  ["fuel-spin", fuelSpin],
  ["deadline-spin", deadlineSpin],
  ["deep-recursion", deepRecursion],
  ["output-flood", outputFlood],
  ["input-oversized", inputOversized],
  ["input-schema-violation", inputSchemaViolation],
  ["other-role-tool", otherRoleTool],
  ["cell-socket-inet", cellSocketInet],
  ["cell-connect", cellConnect],
  ["cell-ptrace", cellPtrace],
  ["cell-mount", cellMount],
  ["cell-unshare", cellUnshare],
  ["cell-read-shadow", cellReadShadow],
  ["cell-read-home", cellReadHome],
  ["cell-write-system", cellWriteSystem],
  ["cell-environ", cellEnviron],
  ["cell-fds", cellFds],
  ["cell-fork-bomb", cellForkBomb],
  ["cell-mem-hog", cellMemHog],
  ["cell-forge-session", cellForgeSession],
  ["cell-oversized-frame", cellOversizedFrame],
  ["cell-leftovers", cellLeftovers],
]);
