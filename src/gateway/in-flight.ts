// Counts a session's requests whose answers are not yet written. The SDK's transport drops
// every pending answer when it closes, so an MCP session's server is closed only once this
// count is back to zero: a call in flight when its session ends still gets its answer.

export class InFlight {
  private count = 0;
  private waiters: (() => void)[] = [];

  /** Counts one request in; the returned function counts it out (only the first call counts). */
  enter(): () => void {
    this.count += 1;
    let left = false;
    return () => {
      if (left) return;
      left = true;
      this.count -= 1;
      if (this.count === 0) for (const wake of this.waiters.splice(0)) wake();
    };
  }

  get size(): number {
    return this.count;
  }

  /** Resolves once no request is in flight (at once if none is). */
  drained(): Promise<void> {
    if (this.count === 0) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }
}
