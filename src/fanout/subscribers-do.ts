// StreamSubscribersDO: one per source stream. Owns the subscriber list and fan-out progress; its
// RPC methods change them, and the rounds (rounds.ts) deliver each published range to every estuary.
// Progress is durable (SQLite + alarm), so a lost publish, an eviction or a crash only delays delivery.
import { DurableObject } from "cloudflare:workers";
import { z } from "zod";
import {
  AwaitCommitSchema, CommitPolicySchema, FanoutJobSchema, HotLeaseSchema, JobReportSchema, PublishSchema, PullReportSchema,
  SinkPositionSchema, StreamKeySchema, SubscribeSchema, type AwaitCommit, type CommitPolicy, type FanoutJob, type FanoutStatus,
  type HotLease, type HotLeaseGrant, type JobReport, type Publish, type PullReport, type SinkPosition, type Subscribe,
  type SubscribeOutcome,
} from "../contract/fanout";
import { loadConfig, type Config } from "../config";
import { streamStub, type Env } from "../env";
import { fail, type Failure } from "../errors";
import { AlarmPlanner } from "../storage/alarm-planner";
import { LazySchema } from "../storage/migrations";
import { Outbox } from "../storage/outbox";
import { CLOSED } from "./breaker";
import { FANOUT_OFF_KEY, sendSubscribersCall, SubscribersCallSchema, type SubscribersCall } from "./calls";
import { CommitTracker, type FanoutFacts } from "../commit/tracker";
import { addCost, NO_COST } from "./cost";
import { JobStore } from "./jobs";
import { FanoutRounds, pushesOnlyHot } from "./rounds";
import { SubscribersRepository } from "./repository";
import { SUBSCRIBERS_MIGRATIONS } from "./schema";

/** Subscribers let go of per transaction when the source is deleted. */
const DETACH_PAGE = 1_000;

export class StreamSubscribersDO extends DurableObject<Env> {
  private readonly repo: SubscribersRepository;
  private readonly schema: LazySchema;
  private readonly outbox: Outbox<SubscribersCall>;
  private readonly alarms: AlarmPlanner;
  private readonly rounds: FanoutRounds;
  private readonly commits: CommitTracker;
  private readonly jobs: JobStore;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    const schema = new LazySchema(ctx.storage, SUBSCRIBERS_MIGRATIONS);
    this.schema = schema;
    this.jobs = new JobStore(ctx.storage.sql);
    // The committed offset from persisted facts only: the cohort saved, the jobs recorded, the counts.
    this.commits = new CommitTracker(ctx.storage.sql, () => this.commitFacts(), () => schema.exists);
    this.repo = new SubscribersRepository(ctx.storage.sql, this.commits.ledger);
    this.outbox = new Outbox(ctx.storage, SubscribersCallSchema, (call) => this.send(call), () => schema.exists);
    this.rounds = new FanoutRounds(env, ctx, this.repo, this.jobs, () => this.alarms.plan(), {
      sourceGone: (source) => this.sourceDeleted(source),
      releaseIfEmpty: () => this.releaseIfEmpty(),
      progressed: () => this.commits.changed(),
    });
    this.alarms = new AlarmPlanner(ctx.storage, [
      () => this.rounds.dueAt(),
      () => (schema.exists ? this.rounds.nextLaggardAt() : null),
      () => (schema.exists ? this.rounds.nextJobExpiry() : null),
      () => this.outbox.nextDue(),
    ]);
  }

  /**
   * Adds estuaries (up to SUBSCRIBE_BATCH at once, one transaction); each is caught up from its
   * position if that is not where the cohort stands. One outcome per estuary, in order.
   */
  async subscribe(input: Subscribe): Promise<{ ok: true; outcomes: SubscribeOutcome[] } | Failure> {
    const req = SubscribeSchema.parse(input);
    this.schema.ensure();
    let state = this.repo.load();
    if (!state) {
      // A first subscriber after the last one left: a pending "stop publishing" must not land after
      // this "start publishing", so cancel it and let any one in flight finish first.
      this.outbox.cancel(FANOUT_OFF_KEY);
      await this.outbox.settled();
      const source = await streamStub(this.env, req.source).setFanout(true);
      if (!source) return fail("not_found", "source stream not found");
      this.repo.create({ source: req.source, subscribers: 0, target: source.tail, cohort: source.tail, breaker: CLOSED, cost: NO_COST, lastError: null });
      state = this.repo.load();
      if (!state) return fail("not_found", "source stream not found");
    }
    const { cohort } = state;
    let count = state.subscribers;
    let backfills = false;
    // A pulled audience counts a newcomer where it joined until it is read. A pushed one takes it in
    // step at the cohort, unless a round in flight may be delivering a range it would miss; else it
    // is caught up from where it joined.
    const pulled = state.subscribers + req.estuaries.length > this.config().FANOUT_PULL_THRESHOLD;
    const quiet = !this.rounds.busy();
    const outcomes = this.ctx.storage.transactionSync(() => {
      const added = req.estuaries.map(({ estuary, position, required }): SubscribeOutcome => {
        if (this.repo.has(estuary)) return "existing";
        if (count >= req.maxSubscribers) return "full";
        const joining = pulled ? "held" : position === cohort && quiet ? "inStep" : "lagging";
        this.repo.add(estuary, position, joining, required ?? true);
        count++;
        backfills ||= joining === "lagging";
        return "added";
      });
      this.repo.counted(count - state.subscribers);
      return added;
    });
    if (backfills) this.rounds.kick();
    this.commits.changed();
    return { ok: true, outcomes };
  }

  async unsubscribe(estuary: string): Promise<boolean> {
    if (!this.schema.exists) return false;
    const removed = this.repo.remove(StreamKeySchema.parse(estuary));
    if (removed && !this.releaseIfEmpty()) {
      // At or below the pull threshold again, held subscribers are to be caught up: a round sees to it.
      const state = this.repo.load();
      if (state && !pushesOnlyHot(state, this.config())) this.rounds.kick();
    }
    this.commits.changed();
    return removed;
  }

  /**
   * The source was deleted: its subscriptions end, and (through the outbox) estuaries forget its
   * positions. A page at a time, so a million subscribers are never held in memory at once.
   */
  async sourceDeleted(input: string): Promise<void> {
    const source = StreamKeySchema.parse(input);
    if (!this.schema.exists) return;
    let page: string[];
    do {
      page = this.ctx.storage.transactionSync(() => {
        const taken = this.repo.takePage(DETACH_PAGE);
        this.outbox.add(taken.map((estuary) => ({ call: { kind: "detachSource", estuary, source } })));
        return taken;
      });
    } while (page.length === DETACH_PAGE);
    this.ctx.storage.transactionSync(() => {
      this.repo.clear();
      this.jobs.clear();
      this.commits.clear();
    });
    this.rounds.reset();
    this.commits.changed();
  }

  /**
   * An estuary is being read: push to it until the lease ends. It pulls up to the answer's target
   * next; a round that starts after this lease includes it, so nothing falls between the two.
   */
  async hot(input: HotLease): Promise<HotLeaseGrant | null> {
    const { estuary, applied } = HotLeaseSchema.parse(input);
    const state = this.schema.exists ? this.repo.load() : null;
    if (!state) return null;
    const until = Date.now() + this.config().ESTUARY_HOT_MS;
    // The lease alone moves no position: the estuary counts where it is until a push or its pull says more.
    if (!this.repo.setHot(estuary, until, applied)) return null;
    this.commits.changed();
    if (pushesOnlyHot(state, this.config())) {
      state.cost = addCost(state.cost, { pullChecks: 1 });
      this.repo.save(state);
    }
    return { until, target: state.target };
  }

  /** What an estuary's pull cost, reported after it applied what it pulled. */
  async recordPull(input: PullReport): Promise<void> {
    const report = PullReportSchema.parse(input);
    const state = this.schema.exists ? this.repo.load() : null;
    if (!state) return;
    state.cost = addCost(state.cost, { pullReads: report.reads, messagesPulled: report.messages, pullRowsWritten: report.rowsWritten });
    this.repo.pulledTo(report.estuary, report.applied);
    this.repo.save(state);
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

  /**
   * The source now reaches `tail`: the round that delivers it saves it with its progress (one row for
   * both). Until then it is held in memory only: if this object dies first, its alarm asks the
   * source for its tail (rounds.ts recoverTarget), and the source's safety-net alarm publishes again.
   */
  async publish(input: Publish): Promise<void> {
    const { tail, appended } = PublishSchema.parse(input);
    if (!this.schema.exists) return;
    const state = this.repo.load();
    if (!state) return;
    if (appended) this.rounds.carried(appended.from, tail, appended.messages);
    if (tail > state.target) state.target = tail;
    this.rounds.kick();
    this.commits.changed();
  }

  /** Estuaries whose queued delivery was dead-lettered: caught up from the source by this object. */
  async repair(input: FanoutJob): Promise<void> {
    const job = FanoutJobSchema.parse(input);
    if (!this.schema.exists || !this.repo.load()) return;
    const now = Date.now();
    this.ctx.storage.transactionSync(() => {
      // Its estuaries hold no more than where the job started (for each, where it was counted then).
      const record = job.jobId === undefined ? null : this.jobs.take(job.jobId);
      for (const estuary of job.estuaries) this.repo.lowerTo(estuary, record?.hold ?? job.from, now);
    });
    this.rounds.kick();
    this.commits.changed();
  }

  /** A queue job's cost and first failure, reported by the consumer that ran it. */
  async recordJob(input: JobReport): Promise<void> {
    const report = JobReportSchema.parse(input);
    const state = this.schema.exists ? this.repo.load() : null;
    if (!state) return;
    state.cost = addCost(state.cost, report.cost);
    if (report.firstError) state.lastError = report.firstError;
    const { done } = report;
    if (done) {
      const now = Date.now();
      this.ctx.storage.transactionSync(() => {
        const record = this.jobs.take(done.jobId);
        // A repeated report, or one for a job already repaired or expired, changes no position.
        if (record) for (const short of done.behind) this.repo.lowerTo(short.estuary, short.applied ?? record.hold, now);
      });
      if (done.behind.length > 0) this.rounds.kick();
    }
    // Saved once the round's last job is in (or at once with a failure to show): one row per round,
    // not one per job. A report lost with an eviction only undercounts.
    if (this.jobs.count() === 0 || report.failures > 0) this.repo.save(state);
    this.commits.changed();
  }

  async status(): Promise<FanoutStatus | null> {
    if (!this.schema.exists) return null;
    const state = this.repo.load();
    if (!state) return null;
    const config = this.config();
    const { subscribers } = state;
    const hot = this.repo.hotCount(Date.now());
    const pushed = pushesOnlyHot(state, config) ? hot : subscribers;
    return {
      source: state.source,
      subscribers,
      hot,
      pushed,
      pulled: subscribers - pushed,
      mode: pushed > config.FANOUT_QUEUE_THRESHOLD ? "queue" : "inline",
      breaker: state.breaker.state,
      fannedOutPosition: state.cohort,
      targetPosition: state.target,
      pendingRepairs: this.repo.laggardCount(),
      cost: state.cost,
      lastError: state.lastError,
      policy: this.commits.policy(),
      committedPosition: this.commits.committed(state.target),
    };
  }

  override async alarm(): Promise<void> {
    this.alarms.fired();
    if (!this.schema.exists) return;
    await this.outbox.drain();
    await this.rounds.recoverTarget().catch((error: unknown) => console.warn("asking the source for its tail failed", error));
    await this.rounds.run();
    this.alarms.plan();
  }

  // --- internals --------------------------------------------------------------------------------

  private commitFacts(): FanoutFacts | null {
    const state = this.repo.load();
    return state ? { cohort: state.cohort, target: state.target, holds: this.jobs.holds() } : null;
  }

  /**
   * With no subscribers left, fan-out state goes, and (through the outbox, in the same transaction)
   * the source stops publishing. True if released.
   */
  private releaseIfEmpty(): boolean {
    const state = this.repo.load();
    if (!state) return true;
    if (state.subscribers > 0) return false;
    this.ctx.storage.transactionSync(() => {
      this.repo.clear();
      this.jobs.clear();
      this.outbox.add([{ call: { kind: "fanoutOff", source: state.source }, key: FANOUT_OFF_KEY }]);
    });
    // A source re-created later starts its positions again: nothing held may outlive this state.
    this.rounds.reset();
    return true;
  }

  /** Makes one outbox call. A "stop publishing" is skipped if a subscriber arrived since. */
  private async send(call: SubscribersCall): Promise<void> {
    if (call.kind === "fanoutOff" && this.repo.load()) return;
    await sendSubscribersCall(this.env, call);
  }

  private config(): Config {
    return loadConfig(this.env);
  }
}

