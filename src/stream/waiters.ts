// Live readers parked at the tail of a stream, woken together when it changes.

export class Waiters {
  private readonly pending = new Set<() => void>();

  /** Resolves on the next wake() or after `timeoutMs`, whichever comes first. */
  wait(timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.pending.delete(done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      this.pending.add(done);
    });
  }

  wake(): void {
    // Deleting the current entry while iterating a Set is safe; each waiter removes itself.
    for (const done of this.pending) done();
  }
}
