// `cordon serve --stdio --role ROLE --token-file FILE`: one process, one role, one session.
// The token comes from a file only its owner can read (never from the environment); its role
// must be the one this process serves; the session ends when stdin closes or the token expires.
// Every line from stdin is checked before the SDK's transport sees it (stdioMessages): the SDK
// only reports a line it cannot use to its onerror and answers nothing, where JSON-RPC wants
// -32700 for bytes that are not JSON and -32600 for JSON that is not one message (a batch too).
import { closeSync, constants, fstatSync, openSync, readSync } from "node:fs";
import { PassThrough, type Readable, type Writable } from "node:stream";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import type { AuditEvent } from "../audit/index.js";
import type { Principal, TokenVerifier } from "../authn/principal.js";
import type { Session } from "../runtime/session.js";
import { authenticateToken, refuse } from "./authenticate.js";
import { RoleMismatch, TokenFileUnusable } from "./errors.js";
import type { GatewayRuntime } from "./http-gateway.js";
import { inspectMessage, invalidRequestAnswer, parseErrorAnswer } from "./jsonrpc-message.js";
import { createSessionServer } from "./session-server.js";

const MAX_TOKEN_FILE_BYTES = 16 * 1024;
/** Largest JSON-RPC message read from stdin. */
const MAX_MESSAGE_BYTES = 1024 * 1024;
/** setTimeout's ceiling; a later expiry is re-armed when it fires. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export interface StdioGatewayOptions {
  readonly runtime: GatewayRuntime;
  readonly verifier: TokenVerifier;
  readonly role: string;
  readonly tokenFile: string;
  readonly stdin?: Readable;
  readonly stdout?: Writable;
  /** Wall clock in ms, for the token's expiry. */
  readonly now?: () => number;
}

export interface StdioGateway {
  readonly principal: Principal;
  readonly session: Session;
  /** Settles once the session has ended (stdin closed, token expired, or close()). */
  readonly closed: Promise<void>;
  close(): Promise<void>;
}

/**
 * Reads a token file: a regular file (not a symlink), at most 16 KiB, readable by its owner
 * only. Trailing whitespace (a final newline) is dropped.
 */
export function readTokenFile(path: string): string {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    throw new TokenFileUnusable(path, (err as NodeJS.ErrnoException).code ?? "open failed");
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new TokenFileUnusable(path, "not a regular file");
    if ((st.mode & 0o077) !== 0) throw new TokenFileUnusable(path, `mode ${(st.mode & 0o777).toString(8)} lets others read it`);
    if (st.size > MAX_TOKEN_FILE_BYTES) throw new TokenFileUnusable(path, `larger than ${MAX_TOKEN_FILE_BYTES} bytes`);
    const buf = Buffer.alloc(st.size);
    const n = readSync(fd, buf, 0, st.size, 0);
    return buf.subarray(0, n).toString("utf8").trimEnd();
  } finally {
    closeSync(fd);
  }
}

const EMPTY = Buffer.alloc(0);

/**
 * The lines of `input` that are one JSON-RPC message each, for the SDK's stdio transport; every
 * other line is answered on `answer` at once: -32700 (not UTF-8 JSON), -32600 with id null (JSON
 * but not one message, a batch included, or a line over `maxBytes`, which is skipped to its end
 * without being buffered). Blank lines are ignored. Nothing else is ever written by this.
 */
export function stdioMessages(input: Readable, answer: (message: object) => void, maxBytes: number): Readable {
  const out = new PassThrough();
  let pending: Buffer = EMPTY;
  let skipping = false;
  const line = (bytes: Buffer) => {
    const end = bytes.at(-1) === 0x0d ? bytes.length - 1 : bytes.length;
    let text: string;
    try {
      text = new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(0, end));
    } catch {
      answer(parseErrorAnswer());
      return;
    }
    if (text.trim() === "") return;
    let value: unknown;
    try {
      value = JSON.parse(text) as unknown;
    } catch {
      answer(parseErrorAnswer());
      return;
    }
    if (!inspectMessage(value).ok) answer(invalidRequestAnswer());
    else out.write(`${text}\n`);
  };
  const onData = (chunk: Buffer | string) => {
    const data = typeof chunk === "string" ? Buffer.from(chunk, "utf8") : chunk;
    let start = 0;
    for (let nl = data.indexOf(0x0a, start); nl !== -1; nl = data.indexOf(0x0a, start)) {
      if (!skipping) line(pending.length === 0 ? data.subarray(start, nl) : Buffer.concat([pending, data.subarray(start, nl)]));
      skipping = false;
      pending = EMPTY;
      start = nl + 1;
    }
    if (skipping || start === data.length) return;
    const rest = data.subarray(start);
    if (pending.length + rest.length > maxBytes) {
      skipping = true;
      pending = EMPTY;
      answer(invalidRequestAnswer({ code: "ERR_GATEWAY_MESSAGE_TOO_LARGE" }));
      return;
    }
    pending = pending.length === 0 ? Buffer.from(rest) : Buffer.concat([pending, rest]);
  };
  const onEnd = () => out.end();
  const onError = (err: Error) => out.destroy(err);
  input.on("data", onData);
  input.on("end", onEnd);
  input.on("error", onError);
  // Once the session's transport is gone, nothing more is read or answered.
  out.once("close", () => {
    input.off("data", onData);
    input.off("end", onEnd);
    input.off("error", onError);
    // As the SDK's transport does: a stdin nobody reads any more must not hold the process open.
    if (input.listenerCount("data") === 0) input.pause();
  });
  return out;
}

/**
 * Verifies the token, opens the role's session and serves it over stdio. Throws the AuthnError
 * (after its `authn.denied` record) for a bad token or a token of another role.
 */
export async function serveStdio(opts: StdioGatewayOptions): Promise<StdioGateway> {
  const { runtime, role } = opts;
  const now = opts.now ?? Date.now;
  const audit = { append: (event: AuditEvent) => runtime.record(event) };
  const context = { transport: "stdio" };
  const token = readTokenFile(opts.tokenFile);
  const auth = await authenticateToken(token, { verifier: opts.verifier, audit, context });
  if (!auth.ok) throw auth.error;
  const { principal } = auth;
  if (principal.role !== role) {
    const error = new RoleMismatch(role, principal.role);
    await refuse(error, principal.tokenDigest, { audit, context });
    throw error;
  }
  const session = await runtime.openSession(role, principal);
  const server = createSessionServer({ session, policy: runtime.policy });
  const stdin = opts.stdin ?? process.stdin;
  const stdout = opts.stdout ?? process.stdout;
  const messages = stdioMessages(stdin, (answer) => stdout.write(`${JSON.stringify(answer)}\n`), MAX_MESSAGE_BYTES);
  const transport = new StdioServerTransport(messages, stdout, { maxBufferSize: MAX_MESSAGE_BYTES + 2 });

  let expiry: NodeJS.Timeout | undefined;
  let ending: Promise<void> | null = null;
  let settle: () => void = () => undefined;
  const closed = new Promise<void>((resolve) => {
    settle = resolve;
  });
  const end = (reason: "closed" | "lifetime"): Promise<void> => {
    ending ??= (async () => {
      clearTimeout(expiry);
      stdin.off("end", onEnd);
      await runtime.closeSession(session, reason).catch(() => undefined);
      await server.close().catch(() => undefined);
      messages.destroy();
      settle();
    })();
    return ending;
  };
  const onEnd = () => void end("closed");
  const arm = () => {
    const left = principal.expiresAt * 1000 - now();
    if (left <= 0) return void end("lifetime");
    expiry = setTimeout(arm, Math.min(left, MAX_TIMER_MS));
  };
  server.onclose = () => void end("closed");
  stdin.on("end", onEnd);
  await server.connect(transport);
  arm();
  return { principal, session, closed, close: () => end("closed") };
}
