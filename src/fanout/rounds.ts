// Fan-out rounds of one source, single flight: each pass advances the cohort (cohort-advance.ts),
// repairs the laggards (laggard-repair.ts) and expires lost queue jobs (job-dispatch.ts), kept by
// the breaker and within a budget of calls out per run. Every step is durable in the subscribers
// object's SQLite, and its alarm resumes a round that an eviction or a crash cut short.
import { loadConfig, type Config } from "../config";
import type { Env } from "../env";
import { streamStub } from "../stream/stub";
import { admit, recordFailure, recordSuccess, retryAt } from "./breaker";
import { advanceCohort } from "./cohort-advance";
import type { FanoutRowRepository } from "./fanout-row";
import { expireJobs } from "./job-dispatch";
import type { JobStore } from "./jobs";
import { repairLaggards } from "./laggard-repair";
import { RecentAppends } from "./recent-appends";
import { pushesOnlyHot, ROUND_RESUME_MS, type RoundContext, type RoundHooks } from "./round";
import { CallBudget, type RoundLimits, ROUND_LIMITS } from "./round-limits";
import type { SubscriberStates } from "./subscriber-states";

/** Bounds one run so a long backlog is worked off across alarms instead of in one invocation. */
const MAX_PASSES_PER_RUN = 16;
/** A laggard retry is never planned sooner than this, so a stuck laggard cannot spin the alarm. */
const MIN_LAGGARD_DELAY_MS = 50;

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
  private budget = new CallBudget(ROUND_LIMITS);

  constructor(
    private readonly env: Env,
    private readonly ctx: DurableObjectState,
    private readonly fanout: FanoutRowRepository,
    private readonly subscribers: SubscriberStates,
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
    const at = this.subscribers.nextLaggardAttempt();
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
    const state = this.fanout.load();
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
      this.budget = new CallBudget(this.limits);
      do {
        this.again = false;
        await this.pass();
      } while (this.again && ++passes < MAX_PASSES_PER_RUN && !this.budget.exhausted());
      // Out of budget with work left: a new invocation (the alarm) goes on with a fresh budget.
      if (this.budget.exhausted()) this.planRound(Date.now());
    })()
      .catch((error: unknown) => console.error("fan-out run failed; the alarm will resume it", error))
      .finally(() => {
        this.running = null;
      });
    return this.running;
  }

  private async pass(): Promise<void> {
    const config = this.config();
    const state = this.fanout.load();
    if (!state) return;
    const round = this.context();
    const now = Date.now();
    const admitted = admit(state.breaker, now, config.BREAKER_COOLDOWN_MS);
    if (!admitted) {
      // No round saves the target this time: keep it, so a long open breaker cannot lose it.
      this.fanout.save(state);
      return this.planRound(retryAt(state.breaker, now, config.BREAKER_COOLDOWN_MS));
    }
    state.breaker = admitted;
    if (expireJobs(round, now, config)) this.again = true;
    // Everyone is pushed to again (the count fell to the threshold): held subscribers are caught up.
    if (!pushesOnlyHot(state, config)) this.subscribers.heldToLagging(now, config.FANOUT_QUEUE_THRESHOLD * 5);

    if (state.cohort < state.target) {
      // Durable before any delivery: if this object dies mid-round, the alarm resumes from cohort_pos.
      this.planRound(now + ROUND_RESUME_MS);
      const advanced = await advanceCohort(round, state, config);
      if (advanced === "gone") return;
      if (advanced === "stalled" || advanced === "budget") {
        // No progress (the source ends before the round's position) or no budget left: wait, never spin.
        this.fanout.save(state);
        return this.planRound(advanced === "budget" ? Date.now() : Date.now() + ROUND_RESUME_MS);
      }
      state.breaker = advanced ? recordSuccess() : recordFailure(state.breaker, Date.now());
      this.fanout.save(state);
      if (!advanced) return this.planRound(retryAt(state.breaker, Date.now(), config.BREAKER_COOLDOWN_MS));
    }
    await repairLaggards(round, state, config);
    this.hooks.progressed();
    if (this.hooks.releaseIfEmpty()) return;
    this.planRound(state.cohort < state.target ? Date.now() + ROUND_RESUME_MS : null);
    // Laggards that are due right now go round again without waiting for the alarm.
    const laggardAt = this.subscribers.nextLaggardAttempt();
    if (laggardAt !== null && laggardAt <= Date.now()) this.again = true;
  }

  /** What this run's steps work with. */
  private context(): RoundContext {
    const { env, fanout, subscribers, jobs, recent, hooks, budget } = this;
    return { env, storage: this.ctx.storage, fanout, subscribers, jobs, recent, hooks, budget };
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
