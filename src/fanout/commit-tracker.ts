// A source's commit policy and committed offset, as its subscribers object keeps them: the policy
// and the sinks' positions in SQLite (commit-store.ts), the estuaries' positions read from the
// subscriber list, and the appends waiting for a position (commit.ts).
import type { AwaitCommit, CommitPolicy, SinkPosition } from "../contract/fanout";
import { loadConfig } from "../config";
import type { Env } from "../env";
import { committedPosition, CommitWaiters } from "./commit";
import { CommitStore } from "./commit-store";
import { QueuedJobs } from "./queued-jobs";
import type { SubscribersRepository } from "./repository";
import { pushesOnlyHot } from "./rounds";

export class CommitTracker {
  readonly store: CommitStore;
  /** Queue jobs out: rounds.ts records them as it sends, job reports and repairs as they end. */
  readonly jobs = new QueuedJobs();
  private readonly waiters: CommitWaiters;

  constructor(
    private readonly env: Env,
    sql: SqlStorage,
    private readonly repo: SubscribersRepository,
    /** Whether the object has written its schema (reads before that find nothing). */
    private readonly stored: () => boolean,
  ) {
    this.store = new CommitStore(sql);
    this.waiters = new CommitWaiters(() => this.committed(Number.MAX_SAFE_INTEGER));
  }

  policy(): CommitPolicy {
    return this.stored() ? this.store.policy() : { mode: "required" };
  }

  /**
   * The furthest position the policy holds for, never past `reach` (how far the source is known to
   * reach). With no subscription that counts, everything up to `reach` is committed.
   */
  committed(reach: number): number {
    if (!this.stored()) return reach;
    const state = this.repo.load();
    const now = Date.now();
    const pending = state ? this.jobs.oldestFrom(state, now) : null;
    const groups = this.store.sinkGroups();
    if (state) {
      const hotAfter = pushesOnlyHot(state, loadConfig(this.env)) ? now : null;
      groups.push(...this.store.estuaryGroups(state.cohort, hotAfter));
    }
    const committed = committedPosition(this.policy(), groups, state ? Math.min(reach, state.target) : reach);
    // A queue job still out: its estuaries hold nothing past its start yet.
    return pending === null ? committed : Math.min(committed, pending);
  }

  /** Answers once `position` is committed (true), or when the time is up (false). */
  wait(request: AwaitCommit): Promise<boolean> {
    return this.waiters.wait(request);
  }

  /** Call whenever a subscription's position, the policy or the list may have changed. */
  changed(): void {
    this.waiters.changed();
  }

  setPolicy(policy: CommitPolicy): void {
    this.store.setPolicy(policy);
    this.changed();
  }

  registerSink(sink: SinkPosition): void {
    this.store.registerSink(sink);
    this.changed();
  }

  sinkDelivered(sink: SinkPosition): void {
    if (this.store.sinkDelivered(sink)) this.changed();
  }

  removeSink(sinkId: string): void {
    this.store.removeSink(sinkId);
    this.changed();
  }
}
