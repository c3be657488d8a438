// The subscriber list's lifecycle: estuaries subscribing (the first one starts the fan-out state and
// the source's publishing), unsubscribing, the source's deletion ending them all a page at a time,
// and the last one leaving taking the fan-out state with it. The calls to other objects these
// changes require are outbox rows written in the same transaction.
import type { Subscribe, SubscribeOutcome } from "../contract/fanout";
import type { CommitTracker } from "../commit/tracker";
import { loadConfig, type Config } from "../config";
import type { Env } from "../env";
import { streamStub } from "../stream/stub";
import { fail, type Failure } from "../errors";
import type { Outbox } from "../storage/outbox";
import { CLOSED } from "./breaker";
import { FANOUT_OFF_KEY, sendSubscribersCall, type SubscribersCall } from "./calls";
import { NO_COST } from "./cost";
import type { FanoutRowRepository } from "./fanout-row";
import type { JobStore } from "./jobs";
import { pushesOnlyHot } from "./round";
import type { FanoutRounds } from "./rounds";
import type { SubscriberStates } from "./subscriber-states";

/** Subscribers let go of per transaction when the source is deleted. */
const DETACH_PAGE = 1_000;

export interface MembershipParts {
  fanout: FanoutRowRepository;
  subscribers: SubscriberStates;
  jobs: JobStore;
  commits: CommitTracker;
  outbox: Outbox<SubscribersCall>;
  rounds: FanoutRounds;
}

export class Membership {
  constructor(
    private readonly env: Env,
    private readonly storage: DurableObjectStorage,
    private readonly parts: MembershipParts,
  ) {}

  /**
   * Adds estuaries (up to SUBSCRIBE_BATCH at once, one transaction); each is caught up from its
   * position if that is not where the cohort stands. One outcome per estuary, in order.
   */
  async subscribe(req: Subscribe): Promise<{ ok: true; outcomes: SubscribeOutcome[] } | Failure> {
    const { fanout, subscribers, outbox, rounds, commits } = this.parts;
    let state = fanout.load();
    if (!state) {
      // A first subscriber after the last one left: a pending "stop publishing" must not land after
      // this "start publishing", so cancel it and let any one in flight finish first.
      outbox.cancel(FANOUT_OFF_KEY);
      await outbox.settled();
      const source = await streamStub(this.env, req.source).setFanout(true);
      if (!source) return fail("not_found", "source stream not found");
      fanout.create({ source: req.source, subscribers: 0, target: source.tail, cohort: source.tail, breaker: CLOSED, cost: NO_COST, lastError: null });
      state = fanout.load();
      if (!state) return fail("not_found", "source stream not found");
    }
    const { cohort } = state;
    let count = state.subscribers;
    let backfills = false;
    // A pulled audience counts a newcomer where it joined until it is read. A pushed one takes it in
    // step at the cohort, unless a round in flight may be delivering a range it would miss; else it
    // is caught up from where it joined.
    const pulled = state.subscribers + req.estuaries.length > this.config().FANOUT_PULL_THRESHOLD;
    const quiet = !rounds.busy();
    const outcomes = this.storage.transactionSync(() => {
      const added = req.estuaries.map(({ estuary, position, required }): SubscribeOutcome => {
        if (subscribers.has(estuary)) return "existing";
        if (count >= req.maxSubscribers) return "full";
        const joining = pulled ? "held" : position === cohort && quiet ? "inStep" : "lagging";
        subscribers.add(estuary, position, joining, required ?? true);
        count++;
        backfills ||= joining === "lagging";
        return "added";
      });
      subscribers.counted(count - state.subscribers);
      return added;
    });
    if (backfills) rounds.kick();
    commits.changed();
    return { ok: true, outcomes };
  }

  unsubscribe(estuary: string): boolean {
    const { fanout, subscribers, rounds, commits } = this.parts;
    const removed = subscribers.remove(estuary);
    if (removed && !this.releaseIfEmpty()) {
      // At or below the pull threshold again, held subscribers are to be caught up: a round sees to it.
      const state = fanout.load();
      if (state && !pushesOnlyHot(state, this.config())) rounds.kick();
    }
    commits.changed();
    return removed;
  }

  /**
   * The source was deleted: its subscriptions end, and (through the outbox) estuaries forget its
   * positions. A page at a time, so a million subscribers are never held in memory at once.
   */
  sourceDeleted(source: string): void {
    const { fanout, subscribers, jobs, commits, outbox, rounds } = this.parts;
    let page: string[];
    do {
      page = this.storage.transactionSync(() => {
        const taken = subscribers.takePage(DETACH_PAGE);
        outbox.add(taken.map((estuary) => ({ call: { kind: "detachSource", estuary, source } })));
        return taken;
      });
    } while (page.length === DETACH_PAGE);
    this.storage.transactionSync(() => {
      fanout.clear();
      subscribers.clear();
      jobs.clear();
      commits.clear();
    });
    rounds.reset();
    commits.changed();
  }

  /**
   * With no subscribers left, fan-out state goes, and (through the outbox, in the same transaction)
   * the source stops publishing. True if released.
   */
  releaseIfEmpty(): boolean {
    const { fanout, subscribers, jobs, outbox, rounds } = this.parts;
    const state = fanout.load();
    if (!state) return true;
    if (state.subscribers > 0) return false;
    this.storage.transactionSync(() => {
      fanout.clear();
      subscribers.clear();
      jobs.clear();
      outbox.add([{ call: { kind: "fanoutOff", source: state.source }, key: FANOUT_OFF_KEY }]);
    });
    // A source re-created later starts its positions again: nothing held may outlive this state.
    rounds.reset();
    return true;
  }

  /** Makes one outbox call. A "stop publishing" is skipped if a subscriber arrived since. */
  async send(call: SubscribersCall): Promise<void> {
    if (call.kind === "fanoutOff" && this.parts.fanout.load()) return;
    await sendSubscribersCall(this.env, call);
  }

  private config(): Config {
    return loadConfig(this.env);
  }
}
