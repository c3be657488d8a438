// The commit policy of a source: its committed offset is the furthest position the policy holds for
// over its subscriptions (estuaries and data sinks): every required one has it (`required`, the
// default), any n have it (`quorum`), every one has it (`all`). Appends may wait for it
// (Stream-Await-Commit); waiters are woken whenever a position may have moved.
import type { AwaitCommit, CommitPolicy } from "../contract/fanout";
import type { PositionGroup } from "./commit-store";

/** The committed position for `policy` over `groups`, never past `target` (how far the source reaches). */
export function committedPosition(policy: CommitPolicy, groups: readonly PositionGroup[], target: number): number {
  const counted = policy.mode === "required" ? groups.filter((group) => group.required) : groups;
  const present = counted.filter((group) => group.count > 0);
  // Nothing to wait for: everything the source holds is committed.
  if (present.length === 0) return target;
  const lowest = Math.min(...present.map((group) => group.position));
  if (policy.mode !== "quorum") return Math.min(lowest, target);
  // The n-th highest position; with fewer than n subscriptions, every one counts (as in `all`).
  let held = 0;
  for (const group of [...present].sort((a, b) => b.position - a.position)) {
    held += group.count;
    if (held >= (policy.quorum ?? 1)) return Math.min(group.position, target);
  }
  return Math.min(lowest, target);
}

interface Waiter {
  position: number;
  resolve: (committed: boolean) => void;
}

/** Appends waiting for their data to be committed, answered as positions move or their time runs out. */
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
