// Fan-out rounds of one source: deliver [cohort, target) to every in-step subscriber that is pushed
// to (inline up to the queue threshold, through the queue above), catch laggards up on their own,
// and keep the breaker. Up to FANOUT_PULL_THRESHOLD subscribers every one is pushed to; above it only
// the hot ones (holding a read lease), found through an index, while the rest pull on read.
// Single flight; every step is durable in the subscribers object's SQLite, and its alarm resumes a
// round that an eviction or a crash cut short.
import { ESTUARIES_PER_JOB, type FanoutJob } from "../contract/fanout";
import { loadConfig, type Config } from "../config";
import { streamStub, type Env } from "../env";
import { admit, recordFailure, recordSuccess, retryAt } from "./breaker";
import { addCost } from "./cost";
import { deliverSlice, readSource, reportFailures, roundFailure, totalCost, type DeliveryResult } from "./deliver";
import type { JobEstuary, JobStore } from "./jobs";
import { RecentAppends } from "./recent-appends";
import type { FanoutState, Member, SubscribersRepository } from "./repository";
import { sendBatches, type RoundLimits, ROUND_LIMITS } from "./round-limits";
/** If the object dies mid-round, its alarm resumes the round after this long. */
const ROUND_RESUME_MS = 2_000;
/** A subscriber whose delivery failed is retried on its own after this long. */
const RETRY_BACKOFF_MS = 1_000;
/** Bounds one run so a long backlog is worked off across alarms instead of in one invocation. */
const MAX_PASSES_PER_RUN = 16;
/** A laggard retry is never planned sooner than this, so a stuck laggard cannot spin the alarm. */
const MIN_LAGGARD_DELAY_MS = 50;
/** Jobs expired per pass: each expiry writes a row per estuary it names. */
const EXPIRIES_PER_PASS = 50;

/** What the rounds need from their object beyond its storage. */
export interface RoundHooks {
  /** The source is gone: its subscriptions end. */
  sourceGone(source: string): Promise<void>;
  /** The last subscriber left: fan-out state goes. True if it did. */
  releaseIfEmpty(): boolean;
  /** Subscribers' positions may have moved (the commit policy's waiters look again). */
  progressed(): void;
}

export class FanoutRounds {
  private running: Promise<void> | null = null;
  /** Whether this instance has asked the source for its tail (recoverTarget). */
  private targetRecovered = false;
  private again = false;
  /** When the next round is due (resume, retry, breaker probe), or null when caught up. */
  private roundAt: number | null = null;
  /** Appends carried by publish calls, so rounds need not read them back from the source. */
  private readonly recent = new RecentAppends();
  /** The bounds of one run (replaced only by tests, to reach them with a few subscribers). */
  limits: RoundLimits = ROUND_LIMITS;
  /** Calls out made by the current run, against limits.callsPerRun. */
  private spent = 0;

  constructor(
    private readonly env: Env,
    private readonly ctx: DurableObjectState,
    private readonly repo: SubscribersRepository,
    /** Queue jobs out, recorded before they are sent (the commit policy holds their estuaries at their start). */
    private readonly jobs: JobStore,
    /** Re-plans the object's alarm (the next round and laggard retries are its tasks). */
    private readonly replan: () => void,
    private readonly hooks: RoundHooks,
  ) {}

  /** An alarm task: the next round. */
  dueAt(): number | null {
    return this.roundAt;
  }

  /** An alarm task: when the oldest job out expires into repairs (call only once the schema exists). */
  nextJobExpiry(): number | null {
    const at = this.jobs.oldestSentAt();
    return at === null ? null : at + this.config().FANOUT_JOB_TIMEOUT_MS;
  }

  /** An alarm task: the next laggard retry (call only once the schema exists). */
  nextLaggardAt(): number | null {
    const at = this.repo.nextLaggardAttempt();
    return at === null ? null : Math.max(at, Date.now() + MIN_LAGGARD_DELAY_MS);
  }

  /**
   * Called by the alarm: the first time in this instance, asks the source how far it reaches. A
   * publish is held in memory until its round saves it, so after a crash or an eviction mid-round
   * the stored target may be behind; this way the alarm alone finishes the round (the source's
   * safety-net alarm would too, once).
   */
  async recoverTarget(): Promise<void> {
    if (this.targetRecovered) return;
    this.targetRecovered = true;
    const state = this.repo.load();
    if (!state) return;
    const head = await streamStub(this.env, state.source).head();
    if (head.ok && head.tail > state.target) state.target = head.tail;
  }

  /** An append that travelled with its publish call, covering [from, to). */
  carried(from: number, to: number, messages: readonly Uint8Array[]): void {
    this.recent.add(from, to, messages);
  }

  /** Fan-out state went away: nothing held or planned may outlive it. */
  reset(): void {
    this.recent.clear();
    this.planRound(null);
  }

  /** Whether a run is in flight (it may be delivering a range to the members it started with). */
  busy(): boolean {
    return this.running !== null;
  }

  kick(): void {
    this.ctx.waitUntil(this.run());
  }

  /** Single flight: publishes arriving during a run make it go round again. */
  run(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      let passes = 0;
      this.spent = 0;
      do {
        this.again = false;
        await this.pass();
      } while (this.again && ++passes < MAX_PASSES_PER_RUN && !this.exhausted());
      // Out of budget with work left: a new invocation (the alarm) goes on with a fresh budget.
      if (this.exhausted()) this.planRound(Date.now());
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
    if (!admitted) {
      // No round saves the target this time: keep it, so a long open breaker cannot lose it.
      this.repo.save(state);
      return this.planRound(retryAt(state.breaker, now, config.BREAKER_COOLDOWN_MS));
    }
    state.breaker = admitted;
    this.expireJobs(now, config);
    // Everyone is pushed to again (the count fell to the threshold): held subscribers are caught up.
    if (!pushesOnlyHot(state, config)) this.repo.heldToLagging(now, config.FANOUT_QUEUE_THRESHOLD * 5);

    if (state.cohort < state.target) {
      // Durable before any delivery: if this object dies mid-round, the alarm resumes from cohort_pos.
      this.planRound(now + ROUND_RESUME_MS);
      const advanced = await this.advanceCohort(state, config);
      if (advanced === "gone") return;
      if (advanced === "stalled" || advanced === "budget") {
        // No progress (the source ends before the round's position) or no budget left: wait, never spin.
        this.repo.save(state);
        return this.planRound(advanced === "budget" ? Date.now() : Date.now() + ROUND_RESUME_MS);
      }
      state.breaker = advanced ? recordSuccess() : recordFailure(state.breaker, Date.now());
      this.repo.save(state);
      if (!advanced) return this.planRound(retryAt(state.breaker, Date.now(), config.BREAKER_COOLDOWN_MS));
    }
    await this.repairLaggards(state, config);
    this.hooks.progressed();
    if (this.hooks.releaseIfEmpty()) return;
    this.planRound(state.cohort < state.target ? Date.now() + ROUND_RESUME_MS : null);
    // Laggards that are due right now go round again without waiting for the alarm.
    const laggardAt = this.repo.nextLaggardAttempt();
    if (laggardAt !== null && laggardAt <= Date.now()) this.again = true;
  }

  /**
   * Delivers [cohort, target) to every subscriber that is pushed to; false if the round failed as a
   * whole. Before the cohort moves, in-step subscribers that are no longer pushed to are held where
   * it stands, and once everyone is pushed to again, held ones become laggards.
   */
  private async advanceCohort(state: FanoutState, config: Config): Promise<boolean | "gone" | "stalled" | "budget"> {
    while (state.cohort < state.target) {
      if (this.exhausted()) return "budget";
      const now = Date.now();
      const onlyHot = pushesOnlyHot(state, config);
      if (onlyHot) this.repo.demoteCooled(now, state.cohort);
      const members = this.repo.cohort(onlyHot ? now : null);
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
        this.spent++;
        state.cost = addCost(state.cost, { rpcs: 1, sourceReads: 1 });
      }
      if (!slice) {
        await this.hooks.sourceGone(state.source);
        return "gone";
      }
      if (slice.next <= state.cohort) {
        state.lastError = roundFailure(state.source, "no progress", `the source ends at ${slice.next}, before fan-out position ${state.cohort}`);
        return "stalled";
      }
      if (members.length > config.FANOUT_QUEUE_THRESHOLD) {
        if (!(await this.enqueue(state, state.cohort, slice.next, members))) return false;
        // Named in a job that delivers from where each is counted: in step from now on.
        for (const member of members) if (member.held !== null) this.repo.rejoin(member.estuary);
      } else {
        const results = await deliverSlice(this.env, state.source, members.map((member) => member.estuary), state.cohort, slice);
        this.spent += totalCost(results).rpcs;
        state.cost = addCost(state.cost, totalCost(results));
        state.lastError = reportFailures(state.source, results) ?? state.lastError;
        const failed = results.filter((result) => result.kind === "failed").length;
        // Most deliveries failing means the downstream is unwell: count it against the breaker and
        // retry the whole round later. A few failing estuaries are repaired on their own instead.
        if (failed > 0 && failed * 2 >= members.length) return false;
        this.settle(results, members, state.cohort, slice.next);
      }
      state.cohort = slice.next;
      this.repo.save(state);
    }
    return true;
  }

  /**
   * A job nobody reported on within FANOUT_JOB_TIMEOUT_MS is taken as lost: its estuaries are caught
   * up as laggards from its start (a late delivery of it is dropped by the estuaries as a duplicate).
   */
  private expireJobs(now: number, config: Config): void {
    for (const job of this.jobs.sentBy(now - config.FANOUT_JOB_TIMEOUT_MS, EXPIRIES_PER_PASS)) {
      console.warn(`fan-out job ${job.id} [${job.from}, ${job.to}) got no report in ${config.FANOUT_JOB_TIMEOUT_MS} ms; repairing its ${job.estuaries.length} estuaries`);
      this.ctx.storage.transactionSync(() => {
        this.jobs.take(job.id);
        for (const estuary of job.estuaries) this.repo.lowerTo(estuary, job.hold, now);
      });
      this.again = true;
    }
  }

  /** Catches up subscribers that are out of step, grouped by position so each group reads once. */
  private async repairLaggards(state: FanoutState, config: Config): Promise<void> {
    const now = Date.now();
    const due = this.repo.dueLaggards(now, config.FANOUT_QUEUE_THRESHOLD * 5);
    const onlyHot = pushesOnlyHot(state, config);
    const groups = new Map<number, Member[]>();
    for (const laggard of due) {
      if (laggard.position === state.cohort) {
        this.repo.rejoin(laggard.estuary);
        continue;
      }
      // A cold laggard of a pulled audience is not caught up by push: it pulls when it is next read.
      if (onlyHot && laggard.hotUntil <= now) {
        this.repo.rejoinPulled(laggard.estuary, laggard.position);
        continue;
      }
      const member = { estuary: laggard.estuary, held: laggard.position, required: laggard.required };
      groups.set(laggard.position, [...(groups.get(laggard.position) ?? []), member]);
    }
    for (const [position, members] of groups) {
      if (this.exhausted()) return;
      if (position >= state.target) {
        // Ahead of a stalled cohort: wait for it rather than spin.
        for (const member of members) this.repo.setLagging(member.estuary, position, now + ROUND_RESUME_MS, 0);
        continue;
      }
      const slice = await readSource(this.env, state.source, position, state.target).catch((error: unknown) => {
        state.lastError = roundFailure(state.source, "reading the source for a repair failed", error);
        return null;
      });
      this.spent++;
      state.cost = addCost(state.cost, { rpcs: 1, sourceReads: 1 });
      if (!slice) continue;
      if (slice.next <= position) {
        // The source ends before them (created again, shorter): they wait instead of spinning.
        for (const member of members) this.repo.setLagging(member.estuary, position, now + ROUND_RESUME_MS, 0);
        continue;
      }
      if (members.length > config.FANOUT_QUEUE_THRESHOLD) {
        // Counted at `position` by the job's hold until it is reported; then they hold slice.next.
        if (await this.enqueue(state, position, slice.next, members)) {
          for (const member of members) this.repo.setLagging(member.estuary, slice.next, now, 0);
        }
        continue;
      }
      const results = await deliverSlice(this.env, state.source, members.map((member) => member.estuary), position, slice);
      this.spent += totalCost(results).rpcs;
      state.cost = addCost(state.cost, totalCost(results));
      state.lastError = reportFailures(state.source, results) ?? state.lastError;
      this.settle(results, members, position, state.cohort);
    }
  }

  /**
   * Records delivery results: each subscriber is where its estuary says it is. Those that reached
   * `cohortPos` are in step (those already so without a write); others keep catching up from what
   * they hold, failures retry after a backoff, and estuaries that are gone or closed are unsubscribed.
   */
  private settle(results: readonly DeliveryResult[], members: readonly Member[], from: number, cohortPos: number): void {
    const now = Date.now();
    const held = new Map(members.map((member) => [member.estuary, member.held]));
    for (const result of results) {
      const was = held.get(result.estuary) ?? null;
      if (result.kind === "unsubscribed") {
        this.repo.remove(result.estuary);
      } else if (result.kind === "failed") {
        // Without an answer, it holds what it was counted at: the range's start only if it was in step.
        this.repo.setLagging(result.estuary, result.applied ?? was ?? from, now + RETRY_BACKOFF_MS, 1);
      } else if (result.applied === cohortPos) {
        if (was !== null) this.repo.rejoin(result.estuary);
      } else {
        this.repo.setLagging(result.estuary, result.applied, now, 0);
      }
    }
  }

  /**
   * Sends [from, to) for `members` as queue jobs, each recorded first with the lowest position any of
   * its estuaries is counted at; false if the queue refused (the jobs not sent are taken back).
   */
  private async enqueue(state: FanoutState, from: number, to: number, members: readonly Member[]): Promise<boolean> {
    const { source } = state;
    const jobs: FanoutJob[] = [];
    const now = Date.now();
    this.ctx.storage.transactionSync(() => {
      for (let i = 0; i < members.length; i += ESTUARIES_PER_JOB) {
        const part = members.slice(i, i + ESTUARIES_PER_JOB);
        const hold = Math.min(from, ...part.map((member) => member.held ?? from));
        const named: JobEstuary[] = part.map((member) => ({ estuary: member.estuary, required: member.required }));
        jobs.push({ jobId: this.jobs.add(from, to, hold, named, now), source, from, to, estuaries: named.map((member) => member.estuary) });
      }
    });
    let sent = 0;
    try {
      for (const batch of sendBatches(jobs, this.limits)) {
        await this.env.FANOUT_QUEUE.sendBatch(batch.map((body) => ({ body })));
        this.spent++;
        sent += batch.length;
        state.cost = addCost(state.cost, { queueMessages: batch.length });
      }
      return true;
    } catch (error) {
      state.lastError = roundFailure(source, "enqueueing fan-out jobs failed", error);
      // Jobs that went out stay recorded until reported; the rest were never sent. The round goes
      // again and sends the range under new ids (estuaries drop what a job delivers twice).
      for (const job of jobs.slice(sent)) if (job.jobId !== undefined) this.jobs.take(job.jobId);
      return false;
    }
  }

  /** Whether this run has spent its budget of calls out. */
  private exhausted(): boolean {
    return this.spent >= this.limits.callsPerRun;
  }

  /** Sets when the next round is due (null: caught up) and re-plans the alarm. */
  private planRound(at: number | null): void {
    this.roundAt = at;
    this.replan();
  }

  private config(): Config {
    return loadConfig(this.env);
  }
}

/** Above FANOUT_PULL_THRESHOLD subscribers a round pushes only to the hot ones; the rest pull on read. */
export function pushesOnlyHot(state: FanoutState, config: Config): boolean {
  return state.subscribers > config.FANOUT_PULL_THRESHOLD;
}
