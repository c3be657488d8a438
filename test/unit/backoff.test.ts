// The shared retry schedule: exponential steps with jitter, a cap, and a peer's Retry-After that may
// lengthen a wait (up to the schedule's own bound) but never shorten it.
import { describe, expect, it } from "vitest";
import { backoffMs, retryAfterMs, type Backoff } from "../../src/backoff";

const schedule: Backoff = { baseMs: 100, capMs: 1_000, jitter: 0.5, retryAfterCapMs: 5_000 };

describe("backoff", () => {
  it("doubles from the base up to the cap; jitter takes off at most its share of a step", () => {
    expect([1, 2, 3, 4, 5, 6].map((n) => backoffMs(schedule, n, null, 1))).toEqual([100, 200, 400, 800, 1_000, 1_000]);
    expect([1, 2, 3].map((n) => backoffMs(schedule, n, null, 0))).toEqual([50, 100, 200]);
    expect(backoffMs({ ...schedule, jitter: 0 }, 3, null, 0)).toBe(400);
    expect(backoffMs(schedule, 0, null, 1)).toBe(100);
    expect(backoffMs(schedule, 10_000, null, 1)).toBe(1_000);
  });

  it("lets Retry-After lengthen a wait up to the schedule's bound, never shorten it", () => {
    expect(backoffMs(schedule, 3, 2_000, 1)).toBe(2_000);
    expect(backoffMs(schedule, 3, 10, 1)).toBe(400);
    expect(backoffMs(schedule, 3, 3_600_000, 1)).toBe(5_000);
    // A schedule without a bound for Retry-After ignores it.
    expect(backoffMs({ baseMs: 100, capMs: 1_000, jitter: 0 }, 1, 60_000)).toBe(100);
  });

  it("reads Retry-After as seconds or an HTTP date; 0, past dates and nonsense ask for nothing", () => {
    const now = Date.UTC(2026, 0, 1);
    expect(retryAfterMs("3", now)).toBe(3_000);
    expect(retryAfterMs(" 3 ", now)).toBe(3_000);
    expect(retryAfterMs(new Date(now + 9_000).toUTCString(), now)).toBe(9_000);
    for (const header of [null, "0", "-5", "1.5", "soon", "", new Date(now - 1_000).toUTCString()]) {
      expect(retryAfterMs(header, now), String(header)).toBeNull();
    }
  });
});
