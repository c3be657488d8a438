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
import { RecentAppends } from "./recent-appends";
import type { QueuedJobs } from "./queued-jobs";
import type { FanoutState, SubscribersRepository } from "./repository";

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

  constructor(
    private readonly env: Env,
    private readonly ctx: DurableObjectState,
    private readonly repo: SubscribersRepository,
    /** Queue jobs out are recorded here, so the commit policy knows their estuaries do not hold the range yet. */
    private readonly jobs: QueuedJobs,
    /** Re-plans the object's alarm (the next round and laggard retries are its tasks). */
    private readonly replan: () => void,
    private readonly hooks: RoundHooks,
  ) {}

  /** An alarm task: the next round. */
  dueAt(): number | null {
    return this.roundAt;
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
    this.jobs.clear();
    this.planRound(null);
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
    if (!admitted) {
      // No round saves the target this time: keep it, so a long open breaker cannot lose it.
      this.repo.save(state);
      return this.planRound(retryAt(state.breaker, now, config.BREAKER_COOLDOWN_MS));
    }
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
    this.hooks.progressed();
    if (this.hooks.releaseIfEmpty()) return;
    this.planRound(state.cohort < state.target ? Date.now() + ROUND_RESUME_MS : null);
    // Laggards that are due right now go round again without waiting for the alarm.
    const laggardAt = this.repo.nextLaggardAttempt();
    if (laggardAt !== null && laggardAt <= Date.now()) this.again = true;
  }

  /** Delivers [cohort, target) to every in-step subscriber; false if the round failed as a whole. */
  private async advanceCohort(state: FanoutState, config: Config): Promise<boolean | "gone"> {
    while (state.cohort < state.target) {
      const members = this.repo.cohort(pushesOnlyHot(state, config) ? Date.now() : null);
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
        await this.hooks.sourceGone(state.source);
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
    const onlyHot = pushesOnlyHot(state, config);
    const groups = new Map<number, string[]>();
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
    const now = Date.now();
    for (let i = 0; i < estuaries.length; i += ESTUARIES_PER_JOB) {
      jobs.push({ jobId: this.jobs.sent(state, from, now), source, from, to, estuaries: estuaries.slice(i, i + ESTUARIES_PER_JOB) });
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
      // The round goes again and sends the range under new ids; a job that did go out and is
      // reported later finds nothing to mark.
      for (const job of jobs) if (job.jobId !== undefined) this.jobs.done(state, job.jobId, Date.now());
      return false;
    }
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
