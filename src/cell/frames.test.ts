import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import type { Json } from "../errors.js";
import { encodeFrame, FrameDecoder, FrameInvalid } from "./frames.js";

describe("frames", () => {
  it("round-trips messages split at every possible chunk boundary", () => {
    fc.assert(
      fc.property(fc.array(fc.dictionary(fc.string(), fc.jsonValue()), { minLength: 1, maxLength: 5 }), fc.integer({ min: 1, max: 64 }), (messages, chunk) => {
        const bytes = Buffer.concat(messages.map((m) => encodeFrame(m as Record<string, Json>)));
        const d = new FrameDecoder();
        const got = [];
        for (let i = 0; i < bytes.byteLength; i += chunk) got.push(...d.push(bytes.subarray(i, i + chunk)));
        d.end();
        assert.deepEqual(got, JSON.parse(JSON.stringify(messages)));
      }),
    );
  });

  it("rejects an oversized length before buffering the body, and stays failed", () => {
    const d = new FrameDecoder(1024);
    const head = Buffer.alloc(4);
    head.writeUInt32BE(1025, 0);
    assert.throws(() => d.push(head), (e: unknown) => e instanceof FrameInvalid && e.fault === "oversized");
    assert.throws(() => d.push(encodeFrame({ ok: true })), FrameInvalid);
  });

  it("rejects bad UTF-8, non-JSON, non-objects and a truncated tail with typed faults", () => {
    const frame = (body: Buffer) => Buffer.concat([Buffer.from([0, 0, 0, body.byteLength]), body]);
    const cases: Array<[Buffer, string]> = [
      [frame(Buffer.from([0xff, 0xfe])), "not-utf8"],
      [frame(Buffer.from("{nope")), "not-json"],
      [frame(Buffer.from("[1,2]")), "not-object"],
      [frame(Buffer.from("null")), "not-object"],
    ];
    for (const [bytes, fault] of cases) {
      assert.throws(() => new FrameDecoder().push(bytes), (e: unknown) => e instanceof FrameInvalid && e.fault === fault);
    }
    const d = new FrameDecoder();
    d.push(encodeFrame({ a: 1 }).subarray(0, 6));
    assert.throws(() => d.end(), (e: unknown) => e instanceof FrameInvalid && e.fault === "truncated");
  });

  it("never lets a frame pollute Object.prototype", () => {
    const d = new FrameDecoder();
    const [m] = d.push(Buffer.concat([Buffer.from([0, 0, 0, 28]), Buffer.from('{"__proto__":{"polluted":1}}')]));
    assert.equal(({} as Record<string, unknown>)["polluted"], undefined);
    assert.ok(m);
  });
});
