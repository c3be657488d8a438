// Circuit breaker for a source's fan-out: a pure state machine whose state is persisted by its owner.
// Open = deliveries are deferred (never dropped); after the cool-down one round probes (half-open).
import { backoffMs } from "../backoff";

export interface BreakerState {
  state: "closed" | "open" | "half_open";
  /** Consecutive failed rounds. */
  failures: number;
  openedAt: number | null;
}

/** Consecutive failed fan-out rounds before the breaker opens. */
export const BREAKER_FAILURE_THRESHOLD = 3;

export const CLOSED: BreakerState = { state: "closed", failures: 0, openedAt: null };

/** Whether a round may run now; an open breaker past its cool-down lets one probe through. */
export function admit(breaker: BreakerState, now: number, cooldownMs: number): BreakerState | null {
  if (breaker.state !== "open") return breaker;
  if (breaker.openedAt !== null && now >= breaker.openedAt + cooldownMs) return { ...breaker, state: "half_open" };
  return null;
}

export function recordSuccess(): BreakerState {
  return CLOSED;
}

export function recordFailure(breaker: BreakerState, now: number): BreakerState {
  const failures = breaker.failures + 1;
  if (breaker.state === "half_open" || failures >= BREAKER_FAILURE_THRESHOLD) {
    return { state: "open", failures, openedAt: now };
  }
  return { state: "closed", failures, openedAt: null };
}

/** When to try again after a failed round: the end of the cool-down, or a short backoff. */
export function retryAt(breaker: BreakerState, now: number, cooldownMs: number): number {
  if (breaker.state === "open" && breaker.openedAt !== null) return breaker.openedAt + cooldownMs;
  return now + backoffMs({ baseMs: 500, capMs: cooldownMs, jitter: 0 }, breaker.failures);
}
