// The commit policy's arithmetic: a source's committed offset is the furthest position the policy
// holds for over its subscriptions (estuaries and data sinks): every required one has it
// (`required`, the default), any n have it (`quorum`), every one has it (`all`).
import type { CommitPolicy } from "../contract/fanout";

/** `count` subscriptions hold `position`; `required` says whether they count for the required mode. */
export interface PositionGroup {
  position: number;
  count: number;
  required: boolean;
}

/**
 * Subscriptions known to hold no more than `from` for now (the estuaries of a queue job still out),
 * wherever their own state counts them: `required` and `optional` of them.
 */
export interface Hold {
  from: number;
  required: number;
  optional: number;
}

/**
 * The committed position for `policy` over `groups`, never past `target` (how far the source
 * reaches). Each hold first brings down the highest positions its subscriptions could be counted at:
 * which subscriptions it names is not looked up, so the worst case is assumed.
 */
export function committedPosition(policy: CommitPolicy, groups: readonly PositionGroup[], target: number, holds: readonly Hold[] = []): number {
  const counted = policy.mode === "required" ? groups.filter((group) => group.required) : groups;
  const lowered = lowerFor(counted, holds, policy.mode === "required");
  const present = lowered.filter((group) => group.count > 0);
  // Nothing to wait for: everything the source holds is committed.
  if (present.length === 0) return target;
  const lowest = Math.min(...present.map((group) => group.position));
  if (policy.mode !== "quorum") return Math.min(lowest, target);
  // The n-th highest position; with fewer than n subscriptions, every one counts (as in `all`).
  let held = 0;
  for (const group of [...present].sort((a, b) => b.position - a.position)) {
    held += group.count;
    if (held >= (policy.quorum ?? 1)) return Math.min(group.position, target);
  }
  return Math.min(lowest, target);
}

/**
 * Moves, for each hold, as many counted subscriptions as it names from the highest positions down
 * to its `from`. Any choice of subscriptions gives an order statistic at least this low, so the
 * result is a lower bound whichever subscriptions the hold really names.
 */
function lowerFor(groups: readonly PositionGroup[], holds: readonly Hold[], requiredOnly: boolean): PositionGroup[] {
  const result = groups.map((group) => ({ ...group }));
  for (const hold of holds) {
    let moving = requiredOnly ? hold.required : hold.required + hold.optional;
    const landed: PositionGroup[] = [];
    for (const group of result.sort((a, b) => b.position - a.position)) {
      if (moving === 0 || group.position <= hold.from) break;
      const moved = Math.min(moving, group.count);
      group.count -= moved;
      moving -= moved;
      landed.push({ position: hold.from, count: moved, required: group.required });
    }
    result.push(...landed);
  }
  return result;
}
