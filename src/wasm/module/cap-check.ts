// One parse's view of its ModuleCaps: every count is checked where it is read, before the loop
// that would allocate for it, and the module-wide totals are kept here (one CapCheck per parse,
// never shared).
import { ModuleCapExceeded, type ModuleCapName } from "../../errors.js";
import type { ByteReader } from "./byte-reader.js";
import type { ModuleCaps } from "./module-caps.js";

type TotalCap = "typeValues" | "elements" | "localGroups" | "dataBytes" | "totalNameBytes" | "nameEntries" | "customSections";

export class CapCheck {
  private readonly totals: Record<TotalCap, number> = { typeValues: 0, elements: 0, localGroups: 0, dataBytes: 0, totalNameBytes: 0, nameEntries: 0, customSections: 0 };

  constructor(readonly caps: ModuleCaps) {}

  /** Throws ModuleCapExceeded when `declared` is over `cap`; `at` is where it was read. */
  limit(cap: ModuleCapName, declared: number, at: number): void {
    const limit = this.caps[cap];
    if (declared > limit) throw new ModuleCapExceeded(cap, limit, declared, at);
  }

  /** Adds `n` to a module-wide total and checks the total. */
  add(cap: TotalCap, n: number, at: number): void {
    const total = this.totals[cap] + n;
    this.limit(cap, total, at);
    this.totals[cap] = total;
  }

  /**
   * Reads a vec's length and checks `base + length` against `cap` first (so a count past its cap
   * is refused as such, even when the bytes it announces are not there), then that one byte per
   * entry would still fit.
   */
  count(r: ByteReader, cap: ModuleCapName, base = 0): number {
    const at = r.pos;
    const n = r.u32();
    this.limit(cap, base + n, at);
    if (n > r.end - r.pos) r.fail("length out of bounds", at);
    return n;
  }

  /** Like `count`, for a length that also adds to a module-wide total. */
  countTotal(r: ByteReader, cap: TotalCap): number {
    const at = r.pos;
    const n = r.u32();
    this.add(cap, n, at);
    if (n > r.end - r.pos) r.fail("length out of bounds", at);
    return n;
  }

  /** A name: its length is checked against `nameBytes` and `totalNameBytes` before a byte of it is decoded. */
  name(r: ByteReader): string {
    const at = r.pos;
    const len = r.u32();
    this.limit("nameBytes", len, at);
    this.add("totalNameBytes", len, at);
    return r.utf8(len, at);
  }
}
