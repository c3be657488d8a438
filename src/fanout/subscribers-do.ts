// StreamSubscribersDO: one per source stream. Owns the subscriber list and fan-out progress; its
// RPC methods compose the modules that change them: the list's lifecycle (membership.ts), the rounds
// that deliver each published range to every estuary (rounds.ts), the reports of queue jobs
// (job-reports.ts) and the commit policy (commit/tracker.ts). Progress is durable (SQLite + alarm),
// so a lost publish, an eviction or a crash only delays delivery.
import { DurableObject } from "cloudflare:workers";
import { z } from "zod";
import {
  AwaitCommitSchema, CommitPolicySchema, FanoutJobSchema, HotLeaseSchema, JobReportSchema, PublishSchema, PullReportSchema,
  SinkPositionSchema, StreamKeySchema, SubscribeSchema, type AwaitCommit, type CommitPolicy, type FanoutJob, type FanoutStatus,
  type HotLease, type HotLeaseGrant, type JobReport, type Publish, type PullReport, type SinkPosition, type Subscribe,
  type SubscribeOutcome,
} from "../contract/fanout";
import { loadConfig, type Config } from "../config";
import type { Env } from "../env";
import type { Failure } from "../errors";
import { AlarmPlanner } from "../storage/alarm-planner";
import { LazySchema } from "../storage/migrations";
import { Outbox } from "../storage/outbox";
import { SubscribersCallSchema, type SubscribersCall } from "./calls";
import { CommitTracker, type FanoutFacts } from "../commit/tracker";
import { addCost } from "./cost";
import { FanoutRowRepository } from "./fanout-row";
import { JobReports } from "./job-reports";
import { JobStore } from "./jobs";
import { Membership } from "./membership";
import { pushesOnlyHot } from "./round";
import { FanoutRounds } from "./rounds";
import { SUBSCRIBERS_MIGRATIONS } from "./schema";
import { fanoutStatus } from "./status";
import { SubscriberStates } from "./subscriber-states";
import { WrittenRows } from "./written-rows";

export class StreamSubscribersDO extends DurableObject<Env> {
  private readonly schema: LazySchema;
  private readonly fanout: FanoutRowRepository;
  private readonly subscribers: SubscriberStates;
  private readonly jobs: JobStore;
  private readonly commits: CommitTracker;
  private readonly outbox: Outbox<SubscribersCall>;
  private readonly rounds: FanoutRounds;
  private readonly membership: Membership;
  private readonly jobReports: JobReports;
  private readonly alarms: AlarmPlanner;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    const schema = new LazySchema(ctx.storage, SUBSCRIBERS_MIGRATIONS);
    this.schema = schema;
    // The rows written through `rows` are booked as subscriberRowsWritten: the list, the commit
    // policy's counts and sinks, the queue job rows. The outbox's are not: its calls follow the
    // fan-out state going away, not its rounds.
    const rows = new WrittenRows(ctx.storage.sql);
    this.jobs = new JobStore(rows);
    // The committed offset from persisted facts only: the cohort saved, the jobs recorded, the counts.
    this.commits = new CommitTracker(rows, () => this.commitFacts(), () => schema.exists);
    this.fanout = new FanoutRowRepository(rows);
    this.subscribers = new SubscriberStates(rows, this.commits.ledger, this.fanout);
    this.outbox = new Outbox(ctx.storage, SubscribersCallSchema, (call) => this.membership.send(call), () => schema.exists);
    this.rounds = new FanoutRounds(env, ctx, this.fanout, this.subscribers, this.jobs, () => this.alarms.plan(), {
      sourceGone: (source) => this.sourceDeleted(source),
      releaseIfEmpty: () => this.membership.releaseIfEmpty(),
      progressed: () => this.commits.changed(),
    });
    const parts = { fanout: this.fanout, subscribers: this.subscribers, jobs: this.jobs, commits: this.commits, rounds: this.rounds };
    this.membership = new Membership(env, ctx.storage, { ...parts, outbox: this.outbox });
    this.jobReports = new JobReports(ctx.storage, parts);
    this.alarms = new AlarmPlanner(ctx.storage, [
      () => this.rounds.dueAt(),
      () => (schema.exists ? this.rounds.nextLaggardAt() : null),
      () => (schema.exists ? this.rounds.nextJobExpiry() : null),
      () => this.outbox.nextDue(),
    ]);
  }

  /** Adds estuaries (up to SUBSCRIBE_BATCH at once, one transaction). One outcome per estuary, in order. */
  async subscribe(input: Subscribe): Promise<{ ok: true; outcomes: SubscribeOutcome[] } | Failure> {
    const req = SubscribeSchema.parse(input);
    this.schema.ensure();
    return this.membership.subscribe(req);
  }

  async unsubscribe(estuary: string): Promise<boolean> {
    if (!this.schema.exists) return false;
    return this.membership.unsubscribe(StreamKeySchema.parse(estuary));
  }

  /** The source was deleted: its subscriptions end (membership.ts sourceDeleted). */
  async sourceDeleted(input: string): Promise<void> {
    const source = StreamKeySchema.parse(input);
    if (this.schema.exists) this.membership.sourceDeleted(source);
  }

  /**
   * An estuary is being read: push to it until the lease ends. It pulls up to the answer's target
   * next; a round that starts after this lease includes it, so nothing falls between the two.
   */
  async hot(input: HotLease): Promise<HotLeaseGrant | null> {
    const { estuary, applied } = HotLeaseSchema.parse(input);
    const state = this.schema.exists ? this.fanout.load() : null;
    if (!state) return null;
    const until = Date.now() + this.config().ESTUARY_HOT_MS;
    // The lease alone moves no position: the estuary counts where it is until a push or its pull says more.
    if (!this.subscribers.setHot(estuary, until, applied)) return null;
    this.commits.changed();
    if (pushesOnlyHot(state, this.config())) {
      state.cost = addCost(state.cost, { pullChecks: 1 });
      this.fanout.save(state);
    }
    return { until, target: state.target };
  }

  /** What an estuary's pull cost, reported after it applied what it pulled. */
  async recordPull(input: PullReport): Promise<void> {
    const report = PullReportSchema.parse(input);
    const state = this.schema.exists ? this.fanout.load() : null;
    if (!state) return;
    state.cost = addCost(state.cost, { pullReads: report.reads, messagesPulled: report.messages, pullRowsWritten: report.rowsWritten });
    this.subscribers.pulledTo(report.estuary, report.applied);
    this.fanout.save(state);
    this.commits.changed();
  }

  // --- the commit policy (commit/tracker.ts) ------------------------------------------------------

  async setPolicy(input: CommitPolicy): Promise<void> {
    const policy = CommitPolicySchema.parse(input);
    this.schema.ensure();
    this.commits.setPolicy(policy);
  }

  /** Answers once `position` is committed (true) or when the time is up (false). */
  async awaitCommit(input: AwaitCommit): Promise<boolean> {
    return this.commits.wait(AwaitCommitSchema.parse(input));
  }

  /** The policy and the committed position, for a source without estuary subscribers (`tail`: its tail). */
  async commitState(tail: number): Promise<{ policy: CommitPolicy; committedPosition: number }> {
    return { policy: this.commits.policy(), committedPosition: this.commits.committed(z.number().int().min(0).parse(tail)) };
  }

  /**
   * How far back the source's retention must keep data for its required subscribers: the lowest
   * position a required estuary or data sink holds (the commit policy's `required` arithmetic, from
   * persisted facts only), never past `tail`.
   */
  async retentionHold(tail: number): Promise<number> {
    return this.commits.committed(z.number().int().min(0).parse(tail), { mode: "required" });
  }

  /** A data sink was created (or created again) and starts counting at `position`. */
  async sinkAdded(input: SinkPosition): Promise<void> {
    this.schema.ensure();
    this.commits.registerSink(SinkPositionSchema.parse(input));
  }

  /** A data sink delivered up to `position`. */
  async sinkDelivered(input: SinkPosition): Promise<void> {
    if (this.schema.exists) this.commits.sinkDelivered(SinkPositionSchema.parse(input));
  }

  async sinkRemoved(sinkId: string): Promise<void> {
    if (this.schema.exists) this.commits.removeSink(z.string().min(1).max(128).parse(sinkId));
  }

  // --- fan-out -----------------------------------------------------------------------------------

  /**
   * The source now reaches `tail`: the round that delivers it saves it with its progress (one row for
   * both). Until then it is held in memory only: if this object dies first, its alarm asks the
   * source for its tail (rounds.ts recoverTarget), and the source's safety-net alarm publishes again.
   */
  async publish(input: Publish): Promise<void> {
    const { tail, appended } = PublishSchema.parse(input);
    if (!this.schema.exists) return;
    const state = this.fanout.load();
    if (!state) return;
    if (appended) this.rounds.carried(appended.from, tail, appended.messages);
    if (tail > state.target) state.target = tail;
    this.rounds.kick();
    this.commits.changed();
  }

  /** Estuaries whose queued delivery was dead-lettered: caught up from the source by this object. */
  async repair(input: FanoutJob): Promise<void> {
    const job = FanoutJobSchema.parse(input);
    if (this.schema.exists) this.jobReports.repair(job);
  }

  /** A queue job's cost and first failure, reported by the consumer that ran it. */
  async recordJob(input: JobReport): Promise<void> {
    const report = JobReportSchema.parse(input);
    if (this.schema.exists) this.jobReports.record(report);
  }

  async status(): Promise<FanoutStatus | null> {
    const state = this.schema.exists ? this.fanout.load() : null;
    return state ? fanoutStatus(state, this.config(), this.subscribers, this.commits) : null;
  }

  override async alarm(): Promise<void> {
    this.alarms.fired();
    if (!this.schema.exists) return;
    await this.outbox.drain();
    await this.rounds.recoverTarget().catch((error: unknown) => console.warn("asking the source for its tail failed", error));
    await this.rounds.run();
    this.alarms.plan();
  }

  private commitFacts(): FanoutFacts | null {
    const state = this.fanout.load();
    return state ? { cohort: state.cohort, target: state.target, holds: this.jobs.holds() } : null;
  }

  private config(): Config {
    return loadConfig(this.env);
  }
}
