import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { Errno } from "./constants.js";
import { parseGuestPath } from "./guest-path.js";
import { Refusal } from "./refusal.js";

function outcome(bytes: Uint8Array): string[] | Refusal {
  try {
    return parseGuestPath(bytes, "wasi-jail").components.map((c) => c.toString("latin1"));
  } catch (e) {
    if (e instanceof Refusal) return e;
    throw e;
  }
}

const isEscape = (r: string[] | Refusal): boolean =>
  r instanceof Refusal && r.errno === Errno.NOTCAPABLE && r.denial?.code === "ERR_WASI_PATH_ESCAPE";

const component = fc.oneof(
  fc.constantFrom("..", ".", "", "a", "sub", "...", ".a", "..a", "a.."),
  fc.string({ minLength: 1, maxLength: 6 }).filter((s) => !s.includes("/") && !s.includes("\0")),
);

test("any path with a `..` component is an escape, wherever it sits", () => {
  fc.assert(fc.property(fc.array(component), fc.array(component), (head, tail) => {
    const p = Buffer.from([...head, "..", ...tail].join("/"));
    return isEscape(outcome(p));
  }));
});

test("any absolute path is an escape", () => {
  fc.assert(fc.property(fc.array(component), (parts) => isEscape(outcome(Buffer.from(`/${parts.join("/")}`)))));
});

test("accepted components are never empty, `.`, `..`, and never hold `/` or NUL", () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
    const r = outcome(bytes);
    if (r instanceof Refusal) return true;
    return r.every((c) => c.length > 0 && c !== "." && c !== ".." && !c.includes("/") && !c.includes("\0"));
  }));
});

test("accepted paths keep every other component, in order, byte for byte", () => {
  fc.assert(fc.property(fc.array(component, { minLength: 1 }), (parts) => {
    const r = outcome(Buffer.from(parts.join("/")));
    if (r instanceof Refusal) return parts.includes("..") || parts.join("/") === "" || parts[0] === "";
    return r.join("/") === parts.filter((c) => c !== "" && c !== ".").map((c) => Buffer.from(c).toString("latin1")).join("/");
  }));
});

test("examples", () => {
  const gp = parseGuestPath(Buffer.from("a/./b//c/"), "wasi-jail");
  assert.deepEqual(gp.components.map(String), ["a", "b", "c"]);
  assert.equal(gp.mustBeDir, true);
  assert.equal(parseGuestPath(Buffer.from("a/b"), "wasi-jail").mustBeDir, false);
  assert.deepEqual(parseGuestPath(Buffer.from("."), "wasi-jail").components, []);
  assert.equal((outcome(new Uint8Array()) as Refusal).errno, Errno.NOENT);
  assert.equal((outcome(Buffer.from("a\0b")) as Refusal).errno, Errno.INVAL);
  assert.equal((outcome(Buffer.from("..")) as Refusal).denial?.path, "..");
});
