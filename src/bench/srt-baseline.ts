// The same /bin/true as the bare bwrap row, under @anthropic-ai/sandbox-runtime's CLI (srt):
// a settings file with no allowed domains (no network) and no writable path. Before timing,
// one run checks that the settings hold (a write to srt's working directory is refused). A
// baseline that cannot run is a failed row carrying srt's own error.
import { spawn } from "node:child_process";
import { chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { REPO_ROOT } from "./guests.js";
import { timeAsync, type Plan, type Stats } from "./measure.js";
import { failedRow, type Row } from "./rows.js";

const SRT_PLAN: Plan = { warmup: 2, iterations: 20 };
/** The uid the bare bwrap rows run as; used when the benchmark runs as root. */
const NOBODY = 65534;

/** No allowed domain means no network; an empty allowWrite means no writable path. */
const SETTINGS = {
  network: { allowedDomains: [], deniedDomains: [] },
  filesystem: { denyRead: [], allowWrite: [], denyWrite: [] },
};

interface SrtSetup {
  readonly cli: string;
  readonly version: string;
  readonly dir: string;
  readonly settings: string;
  /** An empty working directory: srt scans its cwd with ripgrep for files to protect. */
  readonly cwd: string;
  readonly home: string;
  readonly id: { readonly uid: number; readonly gid: number } | null;
}

function setUp(): SrtSetup {
  const pkgDir = join(REPO_ROOT, "node_modules", "@anthropic-ai", "sandbox-runtime");
  const bin = join(REPO_ROOT, "node_modules", ".bin", "srt");
  if (!existsSync(bin)) throw new Error(`${bin} is missing (npm ci installs @anthropic-ai/sandbox-runtime, a devDependency)`);
  const pkg = JSON.parse(readFileSync(join(pkgDir, "package.json"), "utf8")) as { version?: unknown };
  const dir = mkdtempSync(join(tmpdir(), "cordon-bench-srt-"));
  const cwd = join(dir, "work");
  const home = join(dir, "home");
  mkdirSync(cwd);
  mkdirSync(home);
  const settings = join(dir, "srt-settings.json");
  writeFileSync(settings, JSON.stringify(SETTINGS));
  const id = process.getuid?.() === 0 ? { uid: NOBODY, gid: NOBODY } : null;
  if (id !== null) for (const p of [dir, cwd, home, settings]) chownSync(p, id.uid, id.gid);
  return { cli: realpathSync(bin), version: typeof pkg.version === "string" ? pkg.version : "?", dir, settings, cwd, home, id };
}

interface Exit {
  readonly code: number | null;
  readonly signal: string | null;
  readonly stderr: string;
}

function runSrt(s: SrtSetup, command: readonly string[]): Promise<Exit> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [s.cli, "--settings", s.settings, "--", ...command], {
      cwd: s.cwd,
      env: { PATH: "/usr/local/bin:/usr/bin:/bin", HOME: s.home },
      stdio: ["ignore", "ignore", "pipe"],
      shell: false,
      ...(s.id === null ? {} : s.id),
    });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", (code, signal) => resolve({ code, signal, stderr }));
  });
}

const tail = (text: string) => text.trim().replace(/\s+/g, " ").slice(-300);

async function trueUnderSrt(s: SrtSetup): Promise<void> {
  const r = await runSrt(s, ["/bin/true"]);
  if (r.code !== 0) throw new Error(`srt /bin/true exited ${r.code ?? r.signal}: ${tail(r.stderr)}`);
}

/** The settings must hold, or the row would time something weaker than it claims. */
async function checkWritesDenied(s: SrtSetup): Promise<void> {
  const target = join(s.cwd, "written-from-inside");
  const r = await runSrt(s, ["/usr/bin/touch", target]);
  if (existsSync(target) || r.code === 0) throw new Error(`srt let a write to ${target} through: its settings were not applied`);
}

export async function benchSrt(bareBwrapTrue: Stats | undefined): Promise<Row[]> {
  const base = { id: "cells.srt.true", section: "cells", label: "@anthropic-ai/sandbox-runtime (srt) /bin/true" } as const;
  let setup: SrtSetup | undefined;
  try {
    setup = setUp();
    const s = setup;
    await trueUnderSrt(s);
    await checkWritesDenied(s);
    const stats = await timeAsync(SRT_PLAN, () => trueUnderSrt(s));
    const vs = bareBwrapTrue === undefined ? "" : `; p50 ${(stats.p50Us / bareBwrapTrue.p50Us).toFixed(1)}x bare bwrap`;
    const who = s.id === null ? "as this user" : `uid ${s.id.uid}`;
    return [
      {
        ...base,
        label: `srt ${s.version} /bin/true (${who})`,
        kind: "timing",
        stats,
        note: `srt's CLI (node, its HTTP/SOCKS proxies bridged by socat, bwrap, its seccomp helper) with a settings file denying network (no allowed domains) and every write (checked: a write to its cwd is refused); cwd an empty directory, as srt scans its cwd with ripgrep for files to protect${vs}`,
      },
    ];
  } catch (err) {
    return [failedRow(base, err)];
  } finally {
    if (setup !== undefined) rmSync(setup.dir, { recursive: true, force: true });
  }
}
