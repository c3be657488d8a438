// When a sink tries a failed batch again, and what a receiver's answer means for it.

/** Backoff: attempt n waits a random time between half and all of min(cap, base * 2^(n-1)). */
export const RETRY_BASE_MS = 1_000;
export const RETRY_CAP_MS = 5 * 60_000;
/** A receiver's Retry-After is honoured up to this; a longer one is cut to it. */
export const RETRY_AFTER_CAP_MS = 60 * 60_000;

/** "Equal jitter": never sooner than half the step, so a failing receiver gets real relief. */
export function backoffMs(failures: number, random = Math.random()): number {
  const step = Math.min(RETRY_CAP_MS, RETRY_BASE_MS * 2 ** Math.min(Math.max(failures - 1, 0), 20));
  return Math.round(step / 2 + (step / 2) * random);
}

/** A Retry-After header (seconds, or an HTTP date) as a delay in ms; null if absent or unreadable. */
export function retryAfterMs(header: string | null, now: number): number | null {
  if (header === null) return null;
  const value = header.trim();
  if (/^\d+$/.test(value)) return Math.min(RETRY_AFTER_CAP_MS, Number(value) * 1000);
  const at = Date.parse(value);
  if (Number.isNaN(at)) return null;
  return Math.min(RETRY_AFTER_CAP_MS, Math.max(0, at - now));
}

/** The delay before the next attempt: the receiver's Retry-After when it gave one, else the backoff. */
export function nextDelayMs(failures: number, retryAfter: number | null, random = Math.random()): number {
  return retryAfter ?? backoffMs(failures, random);
}
