// What a loaded policy grants a tool and how far it may go, as plain data: shared by the policy
// loader (which produces it) and every tier (which enforces it), below both.

export type Grant =
  | { readonly kind: "fs.read" | "fs.write"; readonly hostPath: string; readonly mount: string }
  | { readonly kind: "env"; readonly name: string; readonly value: string }
  | { readonly kind: "exec"; readonly mount: "/workspace" | "/tmp" }
  | { readonly kind: "clock" | "random" | "log" }
  /** Wasm: the guest may report its progress (`cordon.progress`). */
  | { readonly kind: "progress" }
  /** Wasm: the guest may ask the client's model (`cordon.sample`), this often and this long per call. */
  | { readonly kind: "sampling"; readonly maxRequests: number; readonly maxTokens: number };

export interface Limits {
  readonly memoryBytes: number;
  /** Wasm only (0 for process tools). */
  readonly fuel: number;
  readonly wallClockMs: number;
  readonly inputBytes: number;
  readonly outputBytes: number;
  readonly moduleBytes: number;
  readonly maxFunctions: number;
  readonly maxTableElements: number;
  readonly maxOpenFiles: number;
  /** Process tier only: pids.max of each call's cgroup. */
  readonly pids: number;
  /** Each writable place's size: a process tool's /workspace and /tmp, any writable grant's filesystem. */
  readonly diskBytes: number;
}
