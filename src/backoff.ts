// The one retry schedule of the codebase: exponential backoff with jitter, and how a peer's
// Retry-After may lengthen it. Every loop that tries a failed call again (data sinks, webhook
// wakes, outbox calls, the fan-out breaker) takes its delay from here with a schedule of its own.
// A peer's word counts only inside our bounds: Retry-After can make us wait longer than the
// schedule (up to the schedule's cap on it), never shorter, so a receiver in trouble always gets
// relief, whatever it answers.

export interface Backoff {
  /** The first retry's step; each further attempt doubles it. */
  baseMs: number;
  /** No step is longer. */
  capMs: number;
  /**
   * The share of a step taken off at random, so peers failing together are not retried in step:
   * 0 waits the whole step, 0.5 ("equal jitter") between half and all of it.
   */
  jitter: number;
  /** A peer's Retry-After is honoured up to this; a longer one is cut to it. Absent: ignored. */
  retryAfterCapMs?: number;
}

/** Doubling stops here: 2^30 steps of a millisecond already exceed any cap. */
const MAX_EXPONENT = 30;

/**
 * The wait before attempt `attempt + 1`, after `attempt` failures in a row (from 1): the step
 * min(cap, base × 2^(attempt-1)) less up to `jitter` of it, lengthened to the peer's Retry-After
 * (`retryAfterMs`, from retryAfterMs below) when that is longer and the schedule honours it.
 */
export function backoffMs(schedule: Backoff, attempt: number, retryAfterMs: number | null = null, random = Math.random()): number {
  const exponent = Math.min(Math.max(attempt - 1, 0), MAX_EXPONENT);
  const step = Math.min(schedule.capMs, schedule.baseMs * 2 ** exponent);
  const scheduled = Math.round(step * (1 - schedule.jitter + schedule.jitter * random));
  if (retryAfterMs === null || schedule.retryAfterCapMs === undefined) return scheduled;
  return Math.max(scheduled, Math.min(retryAfterMs, schedule.retryAfterCapMs));
}

/**
 * A Retry-After header (delay-seconds, or an HTTP date) as a delay from `now` in ms. Null when it
 * is absent or unreadable, and for 0 or a date already past: those ask for nothing beyond the
 * schedule.
 */
export function retryAfterMs(header: string | null, now: number): number | null {
  if (header === null) return null;
  const value = header.trim();
  const delay = /^\d+$/.test(value) ? Number(value) * 1000 : Date.parse(value) - now;
  return Number.isNaN(delay) || delay <= 0 ? null : delay;
}
