// The fan-out status of a source, as its status route shows it: the audience (hot, pushed, pulled),
// how it is pushed to, the breaker, positions, pending repairs, cost counters, the last error and
// the commit policy with its committed position.
import type { FanoutStatus } from "../contract/fanout";
import type { CommitTracker } from "../commit/tracker";
import type { Config } from "../config";
import type { FanoutState } from "./fanout-row";
import { pushesOnlyHot } from "./round";
import type { SubscriberStates } from "./subscriber-states";

export function fanoutStatus(state: FanoutState, config: Config, subscriberStates: SubscriberStates, commits: CommitTracker): FanoutStatus {
  const { subscribers } = state;
  const hot = subscriberStates.hotCount(Date.now());
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
    pendingRepairs: subscriberStates.laggardCount(),
    cost: state.cost,
    lastError: state.lastError,
    policy: commits.policy(),
    committedPosition: commits.committed(state.target),
  };
}
