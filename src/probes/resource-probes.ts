// Probes for a role's resource roots (resource-jail): over a throwaway copy of the root's grant
// (same mount, same URI prefix, same holder tool, in a cell of its own), a planted symlink out
// of the grant, a '..' and an absolute path must be neither listed nor read, the outside file
// must not leak, and each refusal must leave one record.
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { WasmTool } from "../policy/load-policy.js";
import type { ResourceRoot } from "../policy/resources.js";
import { openProbeSession } from "./probe-session.js";
import type { Probe, ProbeEnv } from "./types.js";
import { variant } from "./variant.js";

const SECRET = "OUTSIDE-RESOURCE-SECRET-5c1e";

type Attack = "symlink" | "dotdot" | "absolute";

function rootOf(env: ProbeEnv): ResourceRoot {
  const root = env.line.rootIndex === undefined ? undefined : env.runtime.policy.resources.get(env.line.scope.name)?.[env.line.rootIndex];
  if (root === undefined) throw new Error(`line '${env.line.text}' is not a resource root`);
  return root;
}

function resourceProbe(attack: Attack): Probe {
  return async (env) => {
    const root = rootOf(env);
    const holder = env.runtime.policy.tools.get(root.tool);
    if (holder?.tier !== "wasm") throw new Error(`the root's tool ${root.tool} is not a Wasm tool`);
    const dir = join(env.tmp, "root");
    const outside = join(env.tmp, "outside");
    mkdirSync(dir);
    mkdirSync(outside);
    writeFileSync(join(dir, "inside.txt"), "inside");
    const secretFile = join(outside, "secret.txt");
    writeFileSync(secretFile, SECRET);
    if (attack === "symlink") symlinkSync(secretFile, join(dir, "link.txt"));
    const grants = holder.grants.map((g) => ((g.kind === "fs.read" || g.kind === "fs.write") && g.mount === root.mount ? { ...g, hostPath: dir } : g));
    const tool: WasmTool = variant(holder, { grants, abi: holder.abi });
    const session = await openProbeSession(env.runtime, `probe:${env.line.scope.name}`, [tool], { offers: { roots: [root], prompts: [] } });
    try {
      const uri = attack === "symlink" ? `${root.prefix}link.txt` : attack === "dotdot" ? `${root.prefix}../outside/secret.txt` : `${root.prefix}/${secretFile.replace(/^\/+/, "")}`;
      const listed = await session.resources.list();
      const r = await session.resources.read(uri);
      const leaked = JSON.stringify(r).includes(SECRET) || JSON.stringify(listed).includes("link.txt");
      const intact = readFileSync(secretFile, "utf8") === SECRET;
      const sawInside = listed.some((x) => x.name === "inside.txt");
      const stopped = !r.ok && r.error.code === "ERR_RESOURCE_DENIED" && !leaked && intact && sawInside;
      const reason = r.ok ? null : r.error.fields()["reason"];
      const why = r.ok ? "READ the file" : `${r.error.code}${typeof reason === "string" ? ` (${reason})` : ""}`;
      return { stopped, detail: stopped ? `${uri}: ${why}; listing holds only inside.txt` : `${uri}: ${why}; ${leaked ? "LEAKED" : sawInside ? "nothing leaked" : "the listing did not even show inside.txt"}` };
    } finally {
      await env.runtime.closeSession(session);
    }
  };
}

export const resourceEscapeSymlink = resourceProbe("symlink");
export const resourceEscapeDotdot = resourceProbe("dotdot");
export const resourceEscapeAbsolute = resourceProbe("absolute");
