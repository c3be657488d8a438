// A source's commit policy and committed offset, as its subscribers object keeps them. The committed
// offset is a function of persisted facts only: the positions the sinks reported (store.ts), the
// counts of estuary subscribers per position (ledger.ts, told of every change of a subscriber's
// position), the fan-out cohort those in step hold, and the holds of queue jobs still out.
import type { AwaitCommit, CommitPolicy, SinkPosition } from "../contract/fanout";
import { PositionLedger } from "./ledger";
import { committedPosition, type Hold } from "./position";
import { CommitStore } from "./store";
import { CommitWaiters } from "./waiters";

/** What the owner of the subscriber list tells the policy, all of it read from its storage. */
export interface FanoutFacts {
  /** Every subscriber counted "in step" holds this far (less what a hold says). */
  cohort: number;
  /** How far the source is known to reach. */
  target: number;
  /** Queue jobs still out. */
  holds: readonly Hold[];
}

export class CommitTracker {
  /** Told of every change of an estuary subscriber's position. */
  readonly ledger: PositionLedger;
  private readonly store: CommitStore;
  private readonly waiters: CommitWaiters;

  constructor(
    /** The owner's SQLite (through which the owner may count the rows written). */
    sql: Pick<SqlStorage, "exec">,
    /** The fan-out facts, or null when the source has no fan-out state. */
    private readonly facts: () => FanoutFacts | null,
    /** Whether the object has written its schema (reads before that find nothing). */
    private readonly stored: () => boolean,
  ) {
    this.store = new CommitStore(sql);
    this.ledger = new PositionLedger(sql);
    this.waiters = new CommitWaiters(() => this.committed(Number.MAX_SAFE_INTEGER));
  }

  policy(): CommitPolicy {
    return this.stored() ? this.store.policy() : { mode: "required" };
  }

  /**
   * The furthest position the policy holds for, never past `reach` (how far the source is known to
   * reach). With no subscription that counts, everything up to `reach` is committed. Reads one row
   * per distinct position, per sink and per job out; never the subscriber list.
   */
  committed(reach: number, policy: CommitPolicy = this.policy()): number {
    if (!this.stored()) return reach;
    const facts = this.facts();
    const groups = this.store.sinkGroups();
    if (facts) {
      for (const count of this.ledger.counts()) {
        groups.push({ position: count.position === "cohort" ? facts.cohort : count.position, count: count.count, required: count.required });
      }
    }
    return committedPosition(policy, groups, facts ? Math.min(reach, facts.target) : reach, facts?.holds ?? []);
  }

  /** Answers once `position` is committed (true), or when the time is up (false). */
  wait(request: AwaitCommit): Promise<boolean> {
    return this.waiters.wait(request);
  }

  /** A subscriber's position, the policy or the list may have changed: waiters look again. */
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

  /** The source was deleted: its sinks and estuaries no longer count. */
  clear(): void {
    this.store.clearSinks();
    this.ledger.clear();
  }
}
