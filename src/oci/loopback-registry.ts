// A real OCI registry on loopback for cordon's probes, tests and benchmark: Debian's
// `docker-registry` (the CNCF distribution registry 2.8), a Go binary run directly with its own
// config file and storage directory in a temporary directory, on a free 127.0.0.1 port, with a
// cleared environment (so no REGISTRY_* variable reconfigures it). It is never a service and
// never outlives the caller: close() ends it, and it dies with this process's group.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { createServer, connect } from "node:net";
import { join } from "node:path";
import { findInPath } from "../lock/find-binary.js";

export const REGISTRY_BINARY = "docker-registry";

export interface LoopbackRegistry {
  /** `127.0.0.1:PORT`, the registry part of a reference. */
  readonly registry: string;
  readonly port: number;
  /** The storage driver's root directory. */
  readonly storage: string;
  /** Where the filesystem driver keeps a blob's bytes (manifests are blobs too). */
  blobDataPath(digest: string): string;
  close(): Promise<void>;
}

export interface LoopbackRegistryOptions {
  /** An htpasswd file (bcrypt entries): Basic auth. */
  readonly htpasswd?: string;
  /** Serve blob downloads as redirects to this base URL (the storage redirect middleware). */
  readonly redirectBlobsTo?: string;
}

/** The registry binary in PATH, or null with nothing to run. */
export async function findRegistryBinary(searchPath = process.env["PATH"] ?? "/usr/bin:/bin"): Promise<string | null> {
  return (await findInPath(REGISTRY_BINARY, `${searchPath}:/usr/bin`))?.path ?? null;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const addr = s.address();
      s.close(() => (typeof addr === "object" && addr !== null ? resolve(addr.port) : reject(new Error("no port"))));
    });
  });
}

function configYaml(storage: string, port: number, opts: LoopbackRegistryOptions): string {
  const lines = [
    "version: 0.1",
    "log:",
    "  level: error",
    "  accesslog:",
    "    disabled: true",
    "storage:",
    "  filesystem:",
    `    rootdirectory: ${JSON.stringify(storage)}`,
    "  delete:",
    "    enabled: true",
    "  maintenance:",
    "    uploadpurging:",
    "      enabled: false",
    "http:",
    `  addr: 127.0.0.1:${port}`,
    // A fixed secret: uploads are signed with it (the registry warns without one).
    "  secret: cordon-loopback-registry",
  ];
  if (opts.redirectBlobsTo !== undefined) lines.push("middleware:", "  storage:", "    - name: redirect", "      options:", `        baseurl: ${JSON.stringify(opts.redirectBlobsTo)}`);
  if (opts.htpasswd !== undefined) lines.push("auth:", "  htpasswd:", "    realm: cordon-loopback", `    path: ${JSON.stringify(opts.htpasswd)}`);
  return `${lines.join("\n")}\n`;
}

async function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: "127.0.0.1", port }, () => {
      s.end("GET /v2/ HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    });
    let head = "";
    s.on("data", (d: Buffer) => (head += d.toString("latin1")));
    s.on("close", () => resolve(/^HTTP\/1\.1 (200|401)/.test(head)));
    s.on("error", () => resolve(false));
  });
}

/** Starts a registry in `dir` (its config and storage go there). Throws if the binary is missing or it does not come up. */
export async function startLoopbackRegistry(dir: string, opts: LoopbackRegistryOptions = {}): Promise<LoopbackRegistry> {
  const binary = await findRegistryBinary();
  if (binary === null) throw new Error(`${REGISTRY_BINARY} is not installed (apt-get install docker-registry)`);
  const storage = join(dir, "storage");
  mkdirSync(storage, { recursive: true, mode: 0o700 });
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    const config = join(dir, "registry.yml");
    writeFileSync(config, configYaml(storage, port, opts), { mode: 0o600 });
    const child: ChildProcess = spawn(binary, ["serve", config], { stdio: ["ignore", "ignore", "ignore"], env: { PATH: "/usr/bin:/bin" }, shell: false });
    let exited = false;
    child.once("exit", () => (exited = true));
    child.once("error", () => (exited = true));
    const deadline = Date.now() + 15_000;
    while (!exited && Date.now() < deadline && !(await answers(port))) await new Promise((r) => setTimeout(r, 25));
    if (!exited && (await answers(port))) {
      return {
        registry: `127.0.0.1:${port}`,
        port,
        storage,
        blobDataPath: (digest) => {
          const hex = digest.replace(/^sha256:/, "");
          return join(storage, "docker", "registry", "v2", "blobs", "sha256", hex.slice(0, 2), hex, "data");
        },
        close: () =>
          new Promise<void>((resolve) => {
            if (exited) return resolve();
            child.once("exit", () => resolve());
            child.kill("SIGTERM");
          }),
      };
    }
    if (!exited) child.kill("SIGKILL");
    if (attempt >= 2) throw new Error(`${REGISTRY_BINARY} did not come up on loopback`);
  }
}
