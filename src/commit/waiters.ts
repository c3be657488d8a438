// Appends waiting for their data to be committed (Stream-Await-Commit), answered as positions move
// or their time runs out.
import type { AwaitCommit } from "../contract/fanout";

interface Waiter {
  position: number;
  resolve: (committed: boolean) => void;
}

export class CommitWaiters {
  private readonly waiting = new Set<Waiter>();

  /** `committed()` is the current committed position, computed only while someone waits. */
  constructor(private readonly committed: () => number) {}

  wait(request: AwaitCommit): Promise<boolean> {
    if (this.committed() >= request.position) return Promise.resolve(true);
    if (request.timeoutMs === 0) return Promise.resolve(false);
    return new Promise((resolve) => {
      const waiter: Waiter = {
        position: request.position,
        resolve: (committed) => {
          clearTimeout(timer);
          this.waiting.delete(waiter);
          resolve(committed);
        },
      };
      const timer = setTimeout(() => waiter.resolve(false), request.timeoutMs);
      this.waiting.add(waiter);
    });
  }

  /** A position may have moved: answer every waiter the committed offset now covers. */
  changed(): void {
    if (this.waiting.size === 0) return;
    const committed = this.committed();
    for (const waiter of this.waiting) if (committed >= waiter.position) waiter.resolve(true);
  }
}
