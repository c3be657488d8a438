// StreamSubscribersDO: one per source stream. Owns the subscriber list and fan-out progress; its
// RPC methods change them, and the rounds (rounds.ts) deliver each published range to every estuary.
// Progress is durable (SQLite + alarm), so a lost publish, an eviction or a crash only delays delivery.
import { DurableObject } from "cloudflare:workers";
import {
  FanoutJobSchema,
  JobReportSchema,
  PublishSchema,
  StreamKeySchema,
  SubscribeSchema,
  type FanoutJob,
  type FanoutStatus,
  type JobReport,
  type Publish,
  type Subscribe,
} from "../contract/fanout";
import { loadConfig, type Config } from "../config";
import { streamStub, type Env } from "../env";
import { fail, type Failure } from "../errors";
import { AlarmPlanner } from "../storage/alarm-planner";
import { LazySchema } from "../storage/migrations";
import { Outbox } from "../storage/outbox";
import { CLOSED } from "./breaker";
import { FANOUT_OFF_KEY, sendSubscribersCall, SubscribersCallSchema, type SubscribersCall } from "./calls";
import { addCost, NO_COST } from "./cost";
import { FanoutRounds } from "./rounds";
import { SubscribersRepository } from "./repository";
import { SUBSCRIBERS_MIGRATIONS } from "./schema";

export class StreamSubscribersDO extends DurableObject<Env> {
  private readonly repo: SubscribersRepository;
  private readonly schema: LazySchema;
  private readonly outbox: Outbox<SubscribersCall>;
  private readonly alarms: AlarmPlanner;
  private readonly rounds: FanoutRounds;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.repo = new SubscribersRepository(ctx.storage.sql);
    const schema = new LazySchema(ctx.storage, SUBSCRIBERS_MIGRATIONS);
    this.schema = schema;
    this.outbox = new Outbox(ctx.storage, SubscribersCallSchema, (call) => this.send(call), () => schema.exists);
    this.rounds = new FanoutRounds(env, ctx, this.repo, () => this.alarms.plan(), {
      sourceGone: (source) => this.sourceDeleted(source),
      releaseIfEmpty: () => this.releaseIfEmpty(),
    });
    this.alarms = new AlarmPlanner(ctx.storage, [
      () => this.rounds.dueAt(),
      () => (schema.exists ? this.rounds.nextLaggardAt() : null),
      () => this.outbox.nextDue(),
    ]);
  }

  /** Adds an estuary; it is caught up from `position` if that is not where the cohort stands. */
  async subscribe(input: Subscribe): Promise<{ ok: true; added: boolean } | Failure> {
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
      this.repo.create({ source: req.source, target: source.tail, cohort: source.tail, breaker: CLOSED, cost: NO_COST, lastError: null });
      state = this.repo.load();
      if (!state) return fail("not_found", "source stream not found");
    }
    if (this.repo.has(req.estuary)) return { ok: true, added: false };
    if (this.repo.count() >= req.maxSubscribers) {
      return fail("conflict", `a stream may have at most ${req.maxSubscribers} subscribers`);
    }
    this.repo.add(req.estuary, req.position === state.cohort ? null : req.position);
    if (req.position !== state.cohort) this.rounds.kick();
    return { ok: true, added: true };
  }

  async unsubscribe(estuary: string): Promise<boolean> {
    if (!this.schema.exists) return false;
    const removed = this.repo.remove(StreamKeySchema.parse(estuary));
    if (removed) this.releaseIfEmpty();
    return removed;
  }

  /** The source was deleted: its subscriptions end, and (through the outbox) estuaries forget its positions. */
  async sourceDeleted(input: string): Promise<void> {
    const source = StreamKeySchema.parse(input);
    if (!this.schema.exists) return;
    this.ctx.storage.transactionSync(() => {
      const calls = this.repo.all().map((estuary): SubscribersCall => ({ kind: "detachSource", estuary, source }));
      this.repo.clear();
      this.outbox.add(calls.map((call) => ({ call })));
    });
    this.rounds.reset();
  }

  /** The source now reaches `tail`; recorded durably, then delivered. */
  async publish(input: Publish): Promise<void> {
    const { tail, appended } = PublishSchema.parse(input);
    if (!this.schema.exists) return;
    const state = this.repo.load();
    if (!state) return;
    if (appended) this.rounds.carried(appended.from, tail, appended.messages);
    if (tail > state.target) {
      state.target = tail;
      this.repo.save(state);
    }
    this.rounds.kick();
  }

  /** Estuaries whose queued delivery was dead-lettered: caught up from the source by this object. */
  async repair(input: FanoutJob): Promise<void> {
    const job = FanoutJobSchema.parse(input);
    if (!this.schema.exists) return;
    for (const estuary of job.estuaries) {
      if (this.repo.has(estuary)) this.repo.setLagging(estuary, job.from, Date.now(), 0);
    }
    this.rounds.kick();
  }

  /** A queue job's cost and first failure, reported by the consumer that ran it. */
  async recordJob(input: JobReport): Promise<void> {
    const report = JobReportSchema.parse(input);
    const state = this.schema.exists ? this.repo.load() : null;
    if (!state) return;
    state.cost = addCost(state.cost, report.cost);
    if (report.firstError) state.lastError = report.firstError;
    this.repo.save(state);
  }

  async status(): Promise<FanoutStatus | null> {
    if (!this.schema.exists) return null;
    const state = this.repo.load();
    if (!state) return null;
    const subscribers = this.repo.count();
    return {
      source: state.source,
      subscribers,
      mode: subscribers > this.config().FANOUT_QUEUE_THRESHOLD ? "queue" : "inline",
      breaker: state.breaker.state,
      fannedOutPosition: state.cohort,
      targetPosition: state.target,
      pendingRepairs: this.repo.laggardCount(),
      cost: state.cost,
      lastError: state.lastError,
    };
  }

  override async alarm(): Promise<void> {
    this.alarms.fired();
    if (!this.schema.exists) return;
    await this.outbox.drain();
    await this.rounds.run();
    this.alarms.plan();
  }

  // --- internals --------------------------------------------------------------------------------

  /**
   * With no subscribers left, fan-out state goes, and (through the outbox, in the same transaction)
   * the source stops publishing. True if released.
   */
  private releaseIfEmpty(): boolean {
    const state = this.repo.load();
    if (!state) return true;
    if (this.repo.count() > 0) return false;
    this.ctx.storage.transactionSync(() => {
      this.repo.clear();
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

