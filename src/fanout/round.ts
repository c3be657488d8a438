// What one run of a source's fan-out rounds works with (the object's storage, its neighbours, the
// appends held in memory, the run's budget of calls out), and whom a round pushes to.
import type { Config } from "../config";
import type { Env } from "../env";
import type { FanoutRowRepository, FanoutState } from "./fanout-row";
import type { JobStore } from "./jobs";
import type { RecentAppends } from "./recent-appends";
import type { CallBudget } from "./round-limits";
import type { SubscriberStates } from "./subscriber-states";

/** If the object dies mid-round, its alarm resumes the round after this long. */
export const ROUND_RESUME_MS = 2_000;

/** What the rounds need from their object beyond its storage. */
export interface RoundHooks {
  /** The source is gone: its subscriptions end. */
  sourceGone(source: string): Promise<void>;
  /** The last subscriber left: fan-out state goes. True if it did. */
  releaseIfEmpty(): boolean;
  /** Subscribers' positions may have moved (the commit policy's waiters look again). */
  progressed(): void;
}

export interface RoundContext {
  env: Env;
  storage: DurableObjectStorage;
  fanout: FanoutRowRepository;
  subscribers: SubscriberStates;
  /** Queue jobs out, recorded before they are sent (the commit policy holds their estuaries at their start). */
  jobs: JobStore;
  /** Appends carried by publish calls, so rounds need not read them back from the source. */
  recent: RecentAppends;
  hooks: RoundHooks;
  /** Calls out made by the current run. */
  budget: CallBudget;
}

/** Above FANOUT_PULL_THRESHOLD subscribers a round pushes only to the hot ones; the rest pull on read. */
export function pushesOnlyHot(state: FanoutState, config: Config): boolean {
  return state.subscribers > config.FANOUT_PULL_THRESHOLD;
}
