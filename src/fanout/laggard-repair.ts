// Repairing laggards: subscribers out of step (backfills, failed deliveries, estuaries of lost jobs)
// caught up on their own from what each holds, grouped by position so each group reads the source
// once; inline for small groups, as queue jobs for big ones.
import type { Config } from "../config";
import { addCost } from "./cost";
import { deliverSlice, readSource, reportFailures, roundFailure, totalCost } from "./deliver";
import type { FanoutState } from "./fanout-row";
import { enqueue } from "./job-dispatch";
import { pushesOnlyHot, ROUND_RESUME_MS, type RoundContext } from "./round";
import { deferLaggards, settle } from "./settle";
import type { Member } from "./subscriber-states";

/** Catches up the laggards that are due, up to five queue thresholds of them per pass. */
export async function repairLaggards(round: RoundContext, state: FanoutState, config: Config): Promise<void> {
  const { subscribers } = round;
  const now = Date.now();
  const due = subscribers.dueLaggards(now, config.FANOUT_QUEUE_THRESHOLD * 5);
  const onlyHot = pushesOnlyHot(state, config);
  const groups = new Map<number, Member[]>();
  for (const laggard of due) {
    if (laggard.position === state.cohort) {
      subscribers.rejoin(laggard.estuary);
      continue;
    }
    // A cold laggard of a pulled audience is not caught up by push: it pulls when it is next read.
    if (onlyHot && laggard.hotUntil <= now) {
      subscribers.rejoinPulled(laggard.estuary, laggard.position);
      continue;
    }
    const member = { estuary: laggard.estuary, held: laggard.position, required: laggard.required, attempts: laggard.attempts };
    groups.set(laggard.position, [...(groups.get(laggard.position) ?? []), member]);
  }
  for (const [position, members] of groups) {
    if (round.budget.exhausted()) return;
    if (position >= state.target) {
      // Ahead of a stalled cohort: wait for it rather than spin.
      for (const member of members) subscribers.setLagging(member.estuary, position, now + ROUND_RESUME_MS, 0);
      continue;
    }
    let readFailed = false;
    const slice = await readSource(round.env, state.source, position, state.target).catch((error: unknown) => {
      state.lastError = roundFailure(state.source, "reading the source for a repair failed", error);
      readFailed = true;
      return null;
    });
    round.budget.spend(1);
    state.cost = addCost(state.cost, { rpcs: 1, sourceReads: 1 });
    if (readFailed) deferLaggards(subscribers, members, position);
    if (!slice) continue;
    if (slice.next <= position) {
      // The source ends before them (created again, shorter): they wait instead of spinning.
      for (const member of members) subscribers.setLagging(member.estuary, position, now + ROUND_RESUME_MS, 0);
      continue;
    }
    if (members.length > config.FANOUT_QUEUE_THRESHOLD) {
      // Counted at `position` by the job's hold until it is reported; then they hold slice.next.
      if (await enqueue(round, state, position, slice.next, members)) {
        for (const member of members) subscribers.setLagging(member.estuary, slice.next, now, 0);
      }
      continue;
    }
    const results = await deliverSlice(round.env, state.source, members.map((member) => member.estuary), position, slice);
    round.budget.spend(totalCost(results).rpcs);
    state.cost = addCost(state.cost, totalCost(results));
    state.lastError = reportFailures(state.source, results) ?? state.lastError;
    settle(subscribers, results, members, position, state.cohort);
  }
}
