// Queue jobs sent and not yet reported done, for the commit policy: their estuaries hold nothing past
// the job's start until they are. Kept in memory and summed up in the fanout row (`queued_from`,
// saved with the round that sends the jobs and the report that finishes them), so tracking them
// writes no row of its own. After a restart the ids are gone but the summary stays; a summary with
// no job left to clear it is dropped once every job sent before it must have finished or been
// dead-lettered (whose repair then tracks the estuaries as laggards).
import type { FanoutState } from "./repository";

/** Longer than a job's retries and its trip through the dead-letter queue take. */
export const QUEUED_JOB_MAX_MS = 10 * 60_000;

export class QueuedJobs {
  /** Job id -> the source position its range starts at. */
  private readonly out = new Map<number, number>();
  private sequence = 0;

  /** Jobs sent by this instance and not yet done. */
  get outstanding(): number {
    return this.out.size;
  }

  /** A job for a range starting at `from` is about to be sent: its id. Ids stay unique across restarts. */
  sent(state: FanoutState, from: number, now: number): number {
    const id = now * 1_000 + (this.sequence++ % 1_000);
    this.out.set(id, from);
    this.summarise(state, now);
    return id;
  }

  /** The job's estuaries hold its range, or it was not sent after all, or it was handed to repair. */
  done(state: FanoutState, id: number, now: number): void {
    if (this.out.delete(id)) this.summarise(state, now);
  }

  /** Where the oldest job still out starts, or null; a summary left from before a restart ages out. */
  oldestFrom(state: FanoutState, now: number): number | null {
    if (state.queuedFrom === null) return null;
    if (this.out.size === 0 && (state.queuedAt ?? 0) + QUEUED_JOB_MAX_MS < now) {
      state.queuedFrom = null;
      state.queuedAt = null;
    }
    return state.queuedFrom;
  }

  clear(): void {
    this.out.clear();
  }

  private summarise(state: FanoutState, now: number): void {
    if (this.out.size === 0) {
      state.queuedFrom = null;
      state.queuedAt = null;
      return;
    }
    state.queuedFrom = Math.min(...this.out.values());
    state.queuedAt = now;
  }
}
