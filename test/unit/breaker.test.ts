// The fan-out circuit breaker, driven the way a source's fan-out drives it: rounds fail, the breaker
// opens and refuses rounds for the cool-down, lets one probe through, and closes when it succeeds.
import { describe, expect, it } from "vitest";
import { admit, BREAKER_FAILURE_THRESHOLD, CLOSED, recordFailure, recordSuccess, retryAt, type BreakerState } from "../../src/fanout/breaker";

const COOLDOWN = 1_000;

/** Runs one round at `now` if the breaker admits it; returns the breaker after it, or null if refused. */
function round(breaker: BreakerState, now: number, succeeds: boolean): BreakerState | null {
  const admitted = admit(breaker, now, COOLDOWN);
  if (!admitted) return null;
  return succeeds ? recordSuccess() : recordFailure(admitted, now);
}

/** Fails rounds at `now` until one is refused; returns the breaker and how many rounds ran. */
function failUntilRefused(start: BreakerState, now: number): { breaker: BreakerState; ran: number } {
  let breaker = start;
  for (let ran = 0; ran < 100; ran++) {
    const next = round(breaker, now, false);
    if (!next) return { breaker, ran };
    breaker = next;
  }
  throw new Error("the breaker never opened");
}

describe("fan-out circuit breaker", () => {
  it("admits failing rounds until the threshold of consecutive failures, then refuses them", () => {
    const { breaker, ran } = failUntilRefused(CLOSED, 5_000);
    expect(ran).toBe(BREAKER_FAILURE_THRESHOLD);
    expect(breaker.state).toBe("open");
  });

  it("refuses every round during the cool-down, and names its end as the time to retry", () => {
    const { breaker } = failUntilRefused(CLOSED, 5_000);
    for (const now of [5_000, 5_001, 5_000 + COOLDOWN / 2, 5_000 + COOLDOWN - 1]) {
      expect(round(breaker, now, true), `at ${now}`).toBeNull();
    }
    const retry = retryAt(breaker, 5_100, COOLDOWN);
    expect(retry).toBe(5_000 + COOLDOWN);
    expect(admit(breaker, retry, COOLDOWN)).not.toBeNull();
  });

  it("after the cool-down lets one probe through; a successful probe closes it for good", () => {
    const { breaker: open } = failUntilRefused(CLOSED, 0);
    const probe = admit(open, COOLDOWN, COOLDOWN);
    expect(probe?.state).toBe("half_open");
    const closed = round(open, COOLDOWN, true);
    if (!closed) throw new Error("the probe was refused");
    // Closed again: rounds run at any time, and it takes a full run of failures to open it again.
    expect(round(closed, COOLDOWN + 1, true)).not.toBeNull();
    expect(failUntilRefused(closed, COOLDOWN + 1).ran).toBe(BREAKER_FAILURE_THRESHOLD);
  });

  it("re-opens at once when the probe fails, for a whole new cool-down", () => {
    const { breaker: open } = failUntilRefused(CLOSED, 0);
    const failedProbe = round(open, COOLDOWN, false);
    if (!failedProbe) throw new Error("the probe was refused");
    expect(round(failedProbe, COOLDOWN, true)).toBeNull();
    expect(round(failedProbe, 2 * COOLDOWN - 1, true)).toBeNull();
    expect(round(failedProbe, 2 * COOLDOWN, true)).not.toBeNull();
  });

  it("forgets earlier failures when a round succeeds: only consecutive failures open it", () => {
    let breaker = CLOSED;
    for (let cycle = 0; cycle < 3; cycle++) {
      for (let i = 0; i < BREAKER_FAILURE_THRESHOLD - 1; i++) breaker = round(breaker, 0, false) ?? breaker;
      const next = round(breaker, 0, true);
      expect(next, `cycle ${cycle}`).not.toBeNull();
      breaker = next ?? breaker;
    }
    expect(admit(breaker, 0, COOLDOWN)).not.toBeNull();
  });

  it("backs off a little after a failure while still closed, never beyond the cool-down", () => {
    const once = round(CLOSED, 100, false);
    if (!once) throw new Error("refused");
    expect(admit(once, 100, COOLDOWN)).not.toBeNull();
    expect(retryAt(once, 100, COOLDOWN)).toBeGreaterThan(100);
    expect(retryAt(once, 100, COOLDOWN)).toBeLessThanOrEqual(100 + COOLDOWN);
  });
});
