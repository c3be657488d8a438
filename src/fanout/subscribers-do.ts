// StreamSubscribersDO: one per source stream. Owns the subscriber list and fan-out progress, and
// delivers each published range to every estuary: inline up to the threshold, through the queue above.
// Progress is durable (SQLite + alarm), so a lost publish, an eviction or a crash only delays delivery.
import { DurableObject } from "cloudflare:workers";
import {
  ESTUARIES_PER_JOB,
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
import { admit, CLOSED, recordFailure, recordSuccess, retryAt } from "./breaker";
import { FANOUT_OFF_KEY, sendSubscribersCall, SubscribersCallSchema, type SubscribersCall } from "./calls";
import { addCost, NO_COST } from "./cost";
import { deliverSlice, readSource, reportFailures, roundFailure, totalCost, type DeliveryResult } from "./deliver";
import { RecentAppends } from "./recent-appends";
import { SubscribersRepository, type FanoutState } from "./repository";
import { SUBSCRIBERS_MIGRATIONS } from "./schema";

/** Queue messages per sendBatch call, keeping each call well under the 256 KB batch limit. */
const JOBS_PER_SEND = 20;
/** If the object dies mid-round, its alarm resumes the round after this long. */
const ROUND_RESUME_MS = 2_000;
/** A subscriber whose delivery failed is retried on its own after this long. */
const RETRY_BACKOFF_MS = 1_000;
/** Bounds one run so a long backlog is worked off across alarms instead of in one invocation. */
const MAX_PASSES_PER_RUN = 16;
/** A laggard retry is never planned sooner than this, so a stuck laggard cannot spin the alarm. */
const MIN_LAGGARD_DELAY_MS = 50;

export class StreamSubscribersDO extends DurableObject<Env> {
  private readonly repo: SubscribersRepository;
  private readonly schema: LazySchema;
  private readonly outbox: Outbox<SubscribersCall>;
  private readonly alarms: AlarmPlanner;
  private running: Promise<void> | null = null;
  /** Appends carried by publish calls, so rounds need not read them back from the source. */
  private readonly recent = new RecentAppends();
  private again = false;
  /** When the next fan-out round is due (resume, retry, breaker probe), or null when caught up. */
  private roundAt: number | null = null;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.repo = new SubscribersRepository(ctx.storage.sql);
    const schema = new LazySchema(ctx.storage, SUBSCRIBERS_MIGRATIONS);
    this.schema = schema;
    this.outbox = new Outbox(ctx.storage, SubscribersCallSchema, (call) => this.send(call), () => schema.exists);
    this.alarms = new AlarmPlanner(ctx.storage, [
      () => this.roundAt,
      () => this.nextLaggardAt(),
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
    if (req.position !== state.cohort) this.kick();
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
    this.recent.clear();
    this.roundAt = null;
    this.alarms.plan();
  }

  /** The source now reaches `tail`; recorded durably, then delivered. */
  async publish(input: Publish): Promise<void> {
    const { tail, appended } = PublishSchema.parse(input);
    if (!this.schema.exists) return;
    const state = this.repo.load();
    if (!state) return;
    if (appended) this.recent.add(appended.from, tail, appended.messages);
    if (tail > state.target) {
      state.target = tail;
      this.repo.save(state);
    }
    this.kick();
  }

  /** Estuaries whose queued delivery was dead-lettered: caught up from the source by this object. */
  async repair(input: FanoutJob): Promise<void> {
    const job = FanoutJobSchema.parse(input);
    if (!this.schema.exists) return;
    for (const estuary of job.estuaries) {
      if (this.repo.has(estuary)) this.repo.setLagging(estuary, job.from, Date.now(), 0);
    }
    this.kick();
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
    await this.run();
    this.alarms.plan();
  }

  // --- the fan-out loop --------------------------------------------------------------------------

  private kick(): void {
    this.ctx.waitUntil(this.run());
  }

  /** Single flight: publishes arriving during a run make it go round again. */
  private run(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      let passes = 0;
      do {
        this.again = false;
        await this.pass();
      } while (this.again && ++passes < MAX_PASSES_PER_RUN);
    })()
      .catch((error: unknown) => console.error("fan-out run failed; the alarm will resume it", error))
      .finally(() => {
        this.running = null;
      });
    return this.running;
  }

  private async pass(): Promise<void> {
    const config = this.config();
    const state = this.repo.load();
    if (!state) return;
    const now = Date.now();
    const admitted = admit(state.breaker, now, config.BREAKER_COOLDOWN_MS);
    if (!admitted) return this.planRound(retryAt(state.breaker, now, config.BREAKER_COOLDOWN_MS));
    state.breaker = admitted;

    if (state.cohort < state.target) {
      // Durable before any delivery: if this object dies mid-round, the alarm resumes from cohort_pos.
      this.planRound(now + ROUND_RESUME_MS);
      const advanced = await this.advanceCohort(state, config);
      if (advanced === "gone") return;
      state.breaker = advanced ? recordSuccess() : recordFailure(state.breaker, Date.now());
      this.repo.save(state);
      if (!advanced) return this.planRound(retryAt(state.breaker, Date.now(), config.BREAKER_COOLDOWN_MS));
    }
    await this.repairLaggards(state, config);
    if (this.releaseIfEmpty()) return;
    this.planRound(state.cohort < state.target ? Date.now() + ROUND_RESUME_MS : null);
    // Laggards that are due right now go round again without waiting for the alarm.
    const laggardAt = this.repo.nextLaggardAttempt();
    if (laggardAt !== null && laggardAt <= Date.now()) this.again = true;
  }

  /** Delivers [cohort, target) to every in-step subscriber; false if the round failed as a whole. */
  private async advanceCohort(state: FanoutState, config: Config): Promise<boolean | "gone"> {
    while (state.cohort < state.target) {
      const members = this.repo.cohort();
      if (members.length === 0) {
        state.cohort = state.target;
        break;
      }
      let slice = this.recent.slice(state.cohort, state.target);
      if (!slice) {
        try {
          slice = await readSource(this.env, state.source, state.cohort, state.target);
        } catch (error) {
          state.lastError = roundFailure(state.source, "reading the source failed", error);
          return false;
        }
        state.cost = addCost(state.cost, { rpcs: 1, sourceReads: 1 });
      }
      if (!slice) {
        await this.sourceDeleted(state.source);
        return "gone";
      }
      if (members.length > config.FANOUT_QUEUE_THRESHOLD) {
        if (!(await this.enqueue(state, state.cohort, slice.next, members))) return false;
      } else {
        const results = await deliverSlice(this.env, state.source, members, state.cohort, slice);
        state.cost = addCost(state.cost, totalCost(results));
        state.lastError = reportFailures(state.source, results) ?? state.lastError;
        const failed = results.filter((result) => result.kind === "failed").length;
        // Most deliveries failing means the downstream is unwell: count it against the breaker and
        // retry the whole round later. A few failing estuaries are repaired on their own instead.
        if (failed > 0 && failed * 2 >= members.length) return false;
        await this.settle(results, state.cohort, slice.next, true);
      }
      state.cohort = slice.next;
      this.repo.save(state);
    }
    return true;
  }

  /** Catches up subscribers that are out of step, grouped by position so each group reads once. */
  private async repairLaggards(state: FanoutState, config: Config): Promise<void> {
    const now = Date.now();
    const due = this.repo.dueLaggards(now, config.FANOUT_QUEUE_THRESHOLD * 5);
    const groups = new Map<number, string[]>();
    for (const laggard of due) {
      if (laggard.position === state.cohort) {
        this.repo.rejoin(laggard.estuary);
        continue;
      }
      groups.set(laggard.position, [...(groups.get(laggard.position) ?? []), laggard.estuary]);
    }
    for (const [position, estuaries] of groups) {
      if (position >= state.target) {
        // Ahead of a stalled cohort: wait for it rather than spin.
        for (const estuary of estuaries) this.repo.setLagging(estuary, position, now + ROUND_RESUME_MS, 0);
        continue;
      }
      const slice = await readSource(this.env, state.source, position, state.target).catch((error: unknown) => {
        state.lastError = roundFailure(state.source, "reading the source for a repair failed", error);
        return null;
      });
      state.cost = addCost(state.cost, { rpcs: 1, sourceReads: 1 });
      if (!slice) continue;
      if (estuaries.length > config.FANOUT_QUEUE_THRESHOLD) {
        if (await this.enqueue(state, position, slice.next, estuaries)) {
          for (const estuary of estuaries) this.repo.setLagging(estuary, slice.next, now, 0);
        }
        continue;
      }
      const results = await deliverSlice(this.env, state.source, estuaries, position, slice);
      state.cost = addCost(state.cost, totalCost(results));
      state.lastError = reportFailures(state.source, results) ?? state.lastError;
      await this.settle(results, position, state.cohort, false);
    }
  }

  /**
   * Records delivery results. Subscribers that reached `cohortPos` are in step (cohort members stay
   * so without a write); others keep catching up, failures retry after a backoff, and estuaries
   * that are gone or closed are unsubscribed.
   */
  private async settle(
    results: readonly DeliveryResult[],
    from: number,
    cohortPos: number,
    alreadyInStep: boolean,
  ): Promise<void> {
    const now = Date.now();
    for (const result of results) {
      if (result.kind === "unsubscribed") {
        this.repo.remove(result.estuary);
      } else if (result.kind === "failed") {
        this.repo.setLagging(result.estuary, result.applied ?? from, now + RETRY_BACKOFF_MS, 1);
      } else if (result.applied === cohortPos) {
        if (!alreadyInStep) this.repo.rejoin(result.estuary);
      } else {
        this.repo.setLagging(result.estuary, result.applied, now, 0);
      }
    }
  }

  private async enqueue(state: FanoutState, from: number, to: number, estuaries: readonly string[]): Promise<boolean> {
    const { source } = state;
    const jobs: FanoutJob[] = [];
    for (let i = 0; i < estuaries.length; i += ESTUARIES_PER_JOB) {
      jobs.push({ source, from, to, estuaries: estuaries.slice(i, i + ESTUARIES_PER_JOB) });
    }
    try {
      for (let i = 0; i < jobs.length; i += JOBS_PER_SEND) {
        const batch = jobs.slice(i, i + JOBS_PER_SEND);
        await this.env.FANOUT_QUEUE.sendBatch(batch.map((body) => ({ body })));
        state.cost = addCost(state.cost, { queueMessages: batch.length });
      }
      return true;
    } catch (error) {
      state.lastError = roundFailure(source, "enqueueing fan-out jobs failed", error);
      return false;
    }
  }

  /** Sets when the next round is due (null: caught up) and re-plans the alarm. */
  private planRound(at: number | null): void {
    this.roundAt = at;
    this.alarms.plan();
  }

  private nextLaggardAt(): number | null {
    if (!this.schema.exists) return null;
    const at = this.repo.nextLaggardAttempt();
    return at === null ? null : Math.max(at, Date.now() + MIN_LAGGARD_DELAY_MS);
  }

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
    this.recent.clear();
    this.planRound(null);
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

