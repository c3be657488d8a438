// When a sink tries a failed batch again: its schedule for the shared backoff (src/backoff.ts).
import { backoffMs, type Backoff } from "../backoff";

export { retryAfterMs } from "../backoff";

/** Backoff: attempt n waits a random time between half and all of min(cap, base * 2^(n-1)). */
export const RETRY_BASE_MS = 1_000;
export const RETRY_CAP_MS = 5 * 60_000;
/** A receiver's Retry-After may lengthen a wait up to this; a longer one is cut to it. */
export const RETRY_AFTER_CAP_MS = 60 * 60_000;

/** "Equal jitter": never sooner than half the step, so a failing receiver gets real relief. */
export const SINK_BACKOFF: Backoff = { baseMs: RETRY_BASE_MS, capMs: RETRY_CAP_MS, jitter: 0.5, retryAfterCapMs: RETRY_AFTER_CAP_MS };

/** The delay before the next attempt after `failures` in a row: the schedule, lengthened by a longer Retry-After. */
export function nextDelayMs(failures: number, retryAfter: number | null, random = Math.random()): number {
  return backoffMs(SINK_BACKOFF, failures, retryAfter, random);
}
