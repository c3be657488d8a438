// Live readers parked at the tail of a stream, woken together when it changes, and counted by kind
// (long-poll requests, and the reads an SSE connection makes between its events).

export type WaiterKind = "long-poll" | "sse";

export class Waiters {
  private readonly pending = new Set<() => void>();
  private readonly parked: Record<WaiterKind, number> = { "long-poll": 0, sse: 0 };

  /** Resolves on the next wake() or after `timeoutMs`, whichever comes first. */
  wait(timeoutMs: number, kind: WaiterKind): Promise<void> {
    this.parked[kind]++;
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.pending.delete(done);
        this.parked[kind]--;
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

  /** Whether any reader is waiting now. */
  any(): boolean {
    return this.pending.size > 0;
  }

  /** Readers of this kind waiting now. */
  count(kind: WaiterKind): number {
    return this.parked[kind];
  }
}
