// Advancing the cohort: [cohort, target) delivered to every in-step subscriber that is pushed to,
// inline up to FANOUT_QUEUE_THRESHOLD members and as queue jobs above it. Up to
// FANOUT_PULL_THRESHOLD subscribers every one is pushed to; above it only the hot ones (holding a
// read lease), found through an index, while the rest pull on read.
import type { Config } from "../config";
import { addCost } from "./cost";
import { deliverSlice, readSource, reportFailures, roundFailure, totalCost } from "./deliver";
import type { FanoutState } from "./fanout-row";
import { enqueue } from "./job-dispatch";
import { pushesOnlyHot, type RoundContext } from "./round";
import { settle } from "./settle";

/** How an advance ended: done (true), failed as a whole (false), or stopped for another reason. */
export type Advance = boolean | "gone" | "stalled" | "budget";

/**
 * Delivers [cohort, target) to every subscriber that is pushed to; false if the round failed as a
 * whole. Before the cohort moves, in-step subscribers that are no longer pushed to are held where
 * it stands, and once everyone is pushed to again, held ones become laggards.
 */
export async function advanceCohort(round: RoundContext, state: FanoutState, config: Config): Promise<Advance> {
  const { subscribers } = round;
  while (state.cohort < state.target) {
    if (round.budget.exhausted()) return "budget";
    const now = Date.now();
    const onlyHot = pushesOnlyHot(state, config);
    if (onlyHot) subscribers.demoteCooled(now, state.cohort);
    const members = subscribers.cohort(onlyHot ? now : null);
    if (members.length === 0) {
      state.cohort = state.target;
      break;
    }
    let slice = round.recent.slice(state.cohort, state.target);
    if (!slice) {
      try {
        slice = await readSource(round.env, state.source, state.cohort, state.target);
      } catch (error) {
        state.lastError = roundFailure(state.source, "reading the source failed", error);
        return false;
      }
      round.budget.spend(1);
      state.cost = addCost(state.cost, { rpcs: 1, sourceReads: 1 });
    }
    if (!slice) {
      await round.hooks.sourceGone(state.source);
      return "gone";
    }
    if (slice.next <= state.cohort) {
      state.lastError = roundFailure(state.source, "no progress", `the source ends at ${slice.next}, before fan-out position ${state.cohort}`);
      return "stalled";
    }
    if (members.length > config.FANOUT_QUEUE_THRESHOLD) {
      if (!(await enqueue(round, state, state.cohort, slice.next, members))) return false;
      // Named in a job that delivers from where each is counted: in step from now on.
      for (const member of members) if (member.held !== null) subscribers.rejoin(member.estuary);
    } else {
      const results = await deliverSlice(round.env, state.source, members.map((member) => member.estuary), state.cohort, slice);
      round.budget.spend(totalCost(results).rpcs);
      state.cost = addCost(state.cost, totalCost(results));
      state.lastError = reportFailures(state.source, results) ?? state.lastError;
      const failed = results.filter((result) => result.kind === "failed").length;
      // Most deliveries failing means the downstream is unwell: count it against the breaker and
      // retry the whole round later. Fewer than most (one of two included) are repaired on their own,
      // so a failing estuary never holds back a healthy one, nor its share of the commit policy.
      if (failed > 0 && failed * 2 > members.length) return false;
      settle(subscribers, results, members, state.cohort, slice.next);
    }
    state.cohort = slice.next;
    // A gap may end past the target (retention trimmed beyond what fan-out had heard of).
    state.target = Math.max(state.target, state.cohort);
    round.fanout.save(state);
  }
  return true;
}
