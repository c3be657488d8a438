// Live readers parked at the tail of a stream, woken together when it changes, and counted by kind
// (long-poll requests, and the reads an SSE connection makes between its events). A reader that
// names itself can be released alone: its client went away, so it must stop waiting (and counting).

export type WaiterKind = "long-poll" | "sse";

/**
 * Releases that arrived before their wait began (the release overtook the read while it was still
 * pulling an estuary): remembered so that wait ends at once. Bounded so releases of reads that never
 * wait here cannot grow memory; the oldest are forgotten first.
 */
const MAX_EARLY_RELEASES = 1_024;

export class Waiters {
  private readonly pending = new Set<() => void>();
  private readonly named = new Map<string, () => void>();
  private readonly earlyReleases = new Set<string>();
  private readonly parked: Record<WaiterKind, number> = { "long-poll": 0, sse: 0 };

  /** Resolves on the next wake(), on release(`readerId`), or after `timeoutMs`, whichever comes first. */
  wait(timeoutMs: number, kind: WaiterKind, readerId?: string): Promise<void> {
    if (readerId !== undefined && this.earlyReleases.delete(readerId)) return Promise.resolve();
    this.parked[kind]++;
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.pending.delete(done);
        if (readerId !== undefined && this.named.get(readerId) === done) this.named.delete(readerId);
        this.parked[kind]--;
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      this.pending.add(done);
      if (readerId !== undefined) this.named.set(readerId, done);
    });
  }

  wake(): void {
    // Deleting the current entry while iterating a Set is safe; each waiter removes itself.
    for (const done of this.pending) done();
  }

  /** Ends the wait of the reader named `readerId` now (or as soon as it begins). */
  release(readerId: string): void {
    const done = this.named.get(readerId);
    if (done) return done();
    this.earlyReleases.add(readerId);
    if (this.earlyReleases.size > MAX_EARLY_RELEASES) {
      const oldest = this.earlyReleases.values().next().value;
      if (oldest !== undefined) this.earlyReleases.delete(oldest);
    }
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
