// Recording a round's delivery results in the subscriber states: each subscriber is where its
// estuary says it is, and one whose delivery failed is retried on its own after a backoff.
import type { DeliveryResult } from "./deliver";
import type { Member, SubscriberStates } from "./subscriber-states";

/** A subscriber whose delivery failed is retried on its own after this long. */
const RETRY_BACKOFF_MS = 1_000;

/**
 * Those that reached `cohortPos` are in step (those already so without a write); others keep
 * catching up from what they hold, failures retry after a backoff, and estuaries that are gone or
 * closed are unsubscribed.
 */
export function settle(subscribers: SubscriberStates, results: readonly DeliveryResult[], members: readonly Member[], from: number, cohortPos: number): void {
  const now = Date.now();
  const held = new Map(members.map((member) => [member.estuary, member.held]));
  for (const result of results) {
    const was = held.get(result.estuary) ?? null;
    if (result.kind === "unsubscribed") {
      subscribers.remove(result.estuary);
    } else if (result.kind === "failed") {
      // Without an answer, it holds what it was counted at: the range's start only if it was in step.
      subscribers.setLagging(result.estuary, result.applied ?? was ?? from, now + RETRY_BACKOFF_MS, 1);
    } else if (result.applied === cohortPos) {
      if (was !== null) subscribers.rejoin(result.estuary);
    } else {
      subscribers.setLagging(result.estuary, result.applied, now, 0);
    }
  }
}
