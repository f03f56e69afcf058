import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { InFlight } from "./in-flight.js";

describe("InFlight", () => {
  it("drains at once when nothing is in flight", async () => {
    const f = new InFlight();
    await f.drained();
    assert.equal(f.size, 0);
  });

  it("drains only when every request has left, and a leave counts once", async () => {
    const f = new InFlight();
    const a = f.enter();
    const b = f.enter();
    let drained = false;
    const done = f.drained().then(() => {
      drained = true;
    });
    a();
    a();
    await Promise.resolve();
    assert.equal(f.size, 1);
    assert.equal(drained, false);
    b();
    await done;
    assert.equal(drained, true);
    assert.equal(f.size, 0);
  });
});
