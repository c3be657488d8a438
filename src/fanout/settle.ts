// Recording a round's delivery results in the subscriber states: each subscriber is where its
// estuary says it is, and one whose delivery failed is retried on its own after a backoff.
import { backoffMs, type Backoff } from "../backoff";
import type { DeliveryResult } from "./deliver";
import type { Member, SubscriberStates } from "./subscriber-states";

/**
 * A subscriber whose delivery failed is retried on its own 1 s after its first failure, the wait
 * doubling with each failure in a row up to a minute. An estuary is an object of this service, so
 * most failures pass quickly (an overloaded or restarting object) and the first retries come soon.
 * One that keeps failing costs a source read and a delivery per try and, while it counts for the
 * commit policy, holds the committed offset back until it is caught up: the one-minute cap keeps a
 * broken estuary to one try a minute and catches a healed one up within a minute of its recovery.
 * No jitter: laggards that failed together at one position stay due together, and one source read
 * serves them all.
 */
const LAGGARD_RETRY: Backoff = { baseMs: 1_000, capMs: 60_000, jitter: 0 };

/**
 * The source could not be read for laggards at `position` (a cold segment unavailable, the source
 * failing): they retry after a backoff that grows with their failures in a row, not every round.
 */
export function deferLaggards(subscribers: SubscriberStates, members: readonly Member[], position: number): void {
  const now = Date.now();
  for (const member of members) {
    const attempts = member.attempts + 1;
    subscribers.setLagging(member.estuary, position, now + backoffMs(LAGGARD_RETRY, attempts), attempts);
  }
}

/**
 * Those that reached `cohortPos` are in step (those already so without a write); others keep
 * catching up from what they hold, failures retry after a backoff that grows with the failures in a row, and estuaries that are gone or
 * closed are unsubscribed.
 */
export function settle(subscribers: SubscriberStates, results: readonly DeliveryResult[], members: readonly Member[], from: number, cohortPos: number): void {
  const now = Date.now();
  const held = new Map(members.map((member) => [member.estuary, member.held]));
  const failures = new Map(members.map((member) => [member.estuary, member.attempts]));
  for (const result of results) {
    const was = held.get(result.estuary) ?? null;
    if (result.kind === "unsubscribed") {
      subscribers.remove(result.estuary);
    } else if (result.kind === "failed") {
      // Without an answer, it holds what it was counted at: the range's start only if it was in step.
      const attempts = (failures.get(result.estuary) ?? 0) + 1;
      subscribers.setLagging(result.estuary, result.applied ?? was ?? from, now + backoffMs(LAGGARD_RETRY, attempts), attempts);
    } else if (result.applied === cohortPos) {
      if (was !== null) subscribers.rejoin(result.estuary);
    } else {
      subscribers.setLagging(result.estuary, result.applied, now, 0);
    }
  }
}
