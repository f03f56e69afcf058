// Every probe id named by the enforcer registry maps to a hostile fixture run here.
import { fsEscapeAbsolute, fsEscapeDotdot, fsEscapeSymlinkDir, fsEscapeSymlinkFile, fsRaceCreate, fsRaceSwap, fsWriteReadonly } from "./fs-probes.js";
import { deadlineSpin, deepRecursion, fuelSpin, inputOversized, inputSchemaViolation, memoryGrowBomb, outputFlood } from "./limit-probes.js";
import { clockUngranted, envUngranted, importUngranted, logUngranted, moduleOversized, moduleTampered, otherRoleTool, randomUngranted } from "./module-probes.js";
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
]);
