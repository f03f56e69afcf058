// What a cell costs in memory, read from /proc for every process in its cgroup (the bwrap
// processes and node): resident set (RSS), proportional set (PSS: shared pages split among the
// processes sharing them) and unique set (USS: pages no other process maps).
import { readdirSync, readFileSync, realpathSync } from "node:fs";
import { join } from "node:path";
import type { CellProcess } from "../cell/cell-process.js";

export const MIB = 1024 * 1024;

/**
 * How long a cell sits idle before its memory is read. V8's memory reducer shrinks the heap
 * some 8-12 s after the last activity (about 3 MB here); earlier readings include that slack.
 */
export const IDLE_READ_MS = 12_000;

/** Bytes as MiB with one decimal. */
export const mb = (bytes: number): number => Math.round((bytes / MIB) * 10) / 10;

export interface ProcMemory {
  readonly pid: number;
  readonly comm: string;
  readonly rssBytes: number;
  readonly pssBytes: number | null;
  readonly ussBytes: number | null;
}

export interface CellMemory {
  readonly procs: readonly ProcMemory[];
  readonly rssBytes: number;
  /** Null when some process's smaps_rollup could not be read. */
  readonly pssBytes: number | null;
  readonly ussBytes: number | null;
  /** The largest process (node). */
  readonly nodeRssBytes: number;
  /** Of that, the node binary's own mapped pages (code, read-only data): shared between cells. */
  readonly nodeBinaryRssBytes: number | null;
  /** cgroup v1 memory.usage_in_bytes: only pages charged after the cell joined its cgroup. */
  readonly cgroupUsageBytes: number | null;
}

function statusBytes(pid: number, field: string): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m === null ? 0 : Number(m[1]) * 1024;
}

function rollup(pid: number): { pss: number | null; uss: number | null } {
  try {
    const text = readFileSync(`/proc/${pid}/smaps_rollup`, "utf8");
    const kb = (field: string) => {
      const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(text);
      return m === null ? null : Number(m[1]) * 1024;
    };
    const clean = kb("Private_Clean");
    const dirty = kb("Private_Dirty");
    return { pss: kb("Pss"), uss: clean === null || dirty === null ? null : clean + dirty };
  } catch {
    return { pss: null, uss: null };
  }
}

function comm(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, "utf8").trim();
  } catch {
    return "?";
  }
}

/** Resident bytes of the mappings of one file (e.g. the node binary) in a process. */
export function fileRssBytes(pid: number, file: string): number | null {
  try {
    let total = 0;
    let inFile = false;
    for (const line of readFileSync(`/proc/${pid}/smaps`, "utf8").split("\n")) {
      const head = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
      if (head !== null) inFile = head[1] === file;
      else if (inFile) {
        const m = /^Rss:\s+(\d+) kB/.exec(line);
        if (m !== null) total += Number(m[1]) * 1024;
      }
    }
    return total;
  } catch {
    return null;
  }
}

/** Every live descendant of `root` (children first found by scanning /proc for their parent). */
export function descendants(root: number): number[] {
  const parent = new Map<number, number>();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      // Field 4 of stat, after the command name in parentheses (which may itself hold spaces).
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      parent.set(Number(name), ppid);
    } catch {
      continue;
    }
  }
  const out: number[] = [];
  const queue = [root];
  while (queue.length > 0) {
    const p = queue.shift() as number;
    for (const [pid, ppid] of parent) {
      if (ppid === p) {
        out.push(pid);
        queue.push(pid);
      }
    }
  }
  return out;
}

function sumOrNull(values: readonly (number | null)[]): number | null {
  return values.every((v) => v !== null) ? values.reduce<number>((s, v) => s + (v ?? 0), 0) : null;
}

/** Reads the memory of the given processes; throws if there are none. */
export function measurePids(pids: readonly number[], cgroupUsageBytes: number | null = null, nodeBinary = realpathSync(process.execPath)): CellMemory {
  if (pids.length === 0) throw new Error("no processes to measure");
  const procs = pids.map((pid): ProcMemory => {
    const r = rollup(pid);
    return { pid, comm: comm(pid), rssBytes: statusBytes(pid, "VmRSS"), pssBytes: r.pss, ussBytes: r.uss };
  });
  const node = procs.reduce((a, b) => (b.rssBytes > a.rssBytes ? b : a));
  return {
    procs,
    rssBytes: procs.reduce((s, p) => s + p.rssBytes, 0),
    pssBytes: sumOrNull(procs.map((p) => p.pssBytes)),
    ussBytes: sumOrNull(procs.map((p) => p.ussBytes)),
    nodeRssBytes: node.rssBytes,
    nodeBinaryRssBytes: fileRssBytes(node.pid, nodeBinary),
    cgroupUsageBytes,
  };
}

/** Reads the memory of every process in the cell's cgroup; throws if it lists none. */
export function measureCell(cell: CellProcess): CellMemory {
  const pids = cell.cgroup?.pids() ?? [];
  if (pids.length === 0) throw new Error("the cell's cgroup lists no processes");
  let usage: number | null = null;
  const memDir = cell.cgroup?.paths.memory;
  try {
    if (memDir !== undefined) usage = Number(readFileSync(join(memDir, "memory.usage_in_bytes"), "utf8").trim());
  } catch {
    usage = null;
  }
  return measurePids(pids, usage);
}

/** The figures of a measurement as bench.json data. */
export function memoryData(m: CellMemory): Record<string, number | string> {
  const data: Record<string, number | string> = {
    rssBytes: m.rssBytes,
    nodeRssBytes: m.nodeRssBytes,
    processes: m.procs.map((p) => `${p.pid}:${p.comm}:${mb(p.rssBytes)}MB`).join(" "),
  };
  if (m.pssBytes !== null) data["pssBytes"] = m.pssBytes;
  if (m.ussBytes !== null) data["ussBytes"] = m.ussBytes;
  if (m.nodeBinaryRssBytes !== null) data["nodeBinaryRssBytes"] = m.nodeBinaryRssBytes;
  if (m.cgroupUsageBytes !== null) data["cgroupMemoryUsageBytes"] = m.cgroupUsageBytes;
  return data;
}

/** One line for the table: the figures beside RSS. */
export function memoryDetail(m: CellMemory): string {
  return [
    `${m.procs.length} processes`,
    `node alone ${mb(m.nodeRssBytes)} MB${m.nodeBinaryRssBytes === null ? "" : ` (its binary's pages ${mb(m.nodeBinaryRssBytes)} MB)`}`,
    ...(m.pssBytes === null ? [] : [`PSS ${mb(m.pssBytes)} MB`]),
    ...(m.ussBytes === null ? [] : [`USS ${mb(m.ussBytes)} MB`]),
    ...(m.cgroupUsageBytes === null ? [] : [`cgroup memory.usage ${mb(m.cgroupUsageBytes)} MB`]),
  ].join(", ");
}
