// Test fixture: a control plane that opens one cell session, prints the cell's pids and its
// cgroup, then waits to be SIGKILLed.
import { AuditLog } from "../audit/index.js";
import { loadPolicy } from "../policy/load-policy.js";
import { cellOf, Runtime } from "../runtime/runtime.js";
import type { CellHost } from "./cell-hosts.js";

const policy = loadPolicy(process.argv[2] ?? "");
const runtime = await Runtime.start({ policy, audit: AuditLog.memory(), isolation: "cell" });
const session = await runtime.openSession("reader");
const cell = (cellOf(session.toolHost) as CellHost).process;
const pids = cell.cgroup?.pids() ?? [];
const cgroup = cell.cgroup?.paths?.pids ?? "";
process.stdout.write(`${JSON.stringify({ pids, cgroup })}\n`);
setInterval(() => undefined, 1000);
