// The open labels of the ORIGINAL body while it is rewritten, with what the rewrite added
// around them: how many synthetic labels (loop trampolines) enclose each one, and which of them
// opened the cached region (see fuel-checks.ts).
//
// Branch-depth fix-up. A trampoline puts three labels ($done, $r, $x) between an original loop
// and its enclosing label, and nothing between the loop's label and its body. A branch at
// original depth d, from code directly inside the innermost open label T, to the label L d
// levels out, therefore crosses synth[T] - synth[L] synthetic labels: its new depth is
// d + synth[T] - synth[L]. A branch from a trampolined loop's body to the loop itself crosses
// none; one to anything outside it crosses its three (and those of every trampoline between).
import { ModuleMalformed } from "../../errors.js";
import { TRAMPOLINE_LABELS } from "./fuel-checks.js";

export class LabelStack {
  /** Synthetic labels enclosing each open label; index 0 is the function's own label. */
  private readonly synth: number[] = [0];
  /** For a trampolined loop, the COST its tail credits back; else -1. */
  private readonly credit: number[] = [-1];
  /** Values a branch to each label carries. */
  private readonly arity: number[];
  /** Index of the label (a loop) that opened the cached region, or -1 outside one. */
  private regionAt = -1;

  constructor(functionResults: number) {
    this.arity = [functionResults];
  }

  private get top(): number {
    return this.synth.length - 1;
  }

  get empty(): boolean {
    return this.synth.length === 0;
  }

  get inRegion(): boolean {
    return this.regionAt >= 0;
  }

  /** True when no branch from here can cross a synthetic label or leave the cached region. */
  get flat(): boolean {
    return this.synth[this.top] === 0 && this.regionAt < 0;
  }

  /** Does the innermost open label close the cached region when it ends? */
  get topOpensRegion(): boolean {
    return this.regionAt === this.top;
  }

  /** `credit` is the trampoline's COST, or -1 when the label is not a trampolined loop. */
  push(arity: number, credit: number, opensRegion: boolean): void {
    const outer = this.synth[this.top] as number;
    this.synth.push(credit >= 0 ? outer + TRAMPOLINE_LABELS : outer);
    this.credit.push(credit);
    this.arity.push(arity);
    if (opensRegion) this.regionAt = this.top;
  }

  /** Pops the innermost label; returns its credit (-1 when it is not a trampolined loop). */
  pop(): number {
    if (this.regionAt === this.top) this.regionAt = -1;
    this.synth.pop();
    this.arity.pop();
    return this.credit.pop() ?? -1;
  }

  private target(depth: number, at: number): number {
    if (depth > this.top) throw new ModuleMalformed(`branch depth ${depth} out of range`, at);
    return this.top - depth;
  }

  /** The new depth of a branch `depth` levels out. */
  fixed(depth: number, at: number): number {
    return depth + (this.synth[this.top] as number) - (this.synth[this.target(depth, at)] as number);
  }

  /** Does a branch `depth` levels out leave the cached region? */
  leaves(depth: number, at: number): boolean {
    return this.target(depth, at) < this.regionAt;
  }

  /** Values a branch `depth` levels out carries. */
  arityOf(depth: number, at: number): number {
    return this.arity[this.target(depth, at)] as number;
  }
}
