// The cell program: a sandboxed child process that hosts the Wasm engine for exactly one
// session (per-session, the default) or for the sessions of one role, each with its own
// instances (per-role). See serve-cell.ts; the real cell has no extension.
import { serveCell } from "./serve-cell.js";

serveCell();
