// The fan-out circuit breaker's state machine.
import { describe, expect, it } from "vitest";
import { admit, BREAKER_FAILURE_THRESHOLD, CLOSED, recordFailure, recordSuccess, retryAt } from "../../src/fanout/breaker";

const COOLDOWN = 1_000;

function failTimes(times: number, now = 0) {
  let breaker = CLOSED;
  for (let i = 0; i < times; i++) breaker = recordFailure(breaker, now);
  return breaker;
}

describe("fan-out circuit breaker", () => {
  it("stays closed and admits rounds below the failure threshold", () => {
    const breaker = failTimes(BREAKER_FAILURE_THRESHOLD - 1);
    expect(breaker.state).toBe("closed");
    expect(admit(breaker, 0, COOLDOWN)).toBe(breaker);
  });

  it("opens after the threshold of consecutive failures and admits nothing during the cool-down", () => {
    const breaker = failTimes(BREAKER_FAILURE_THRESHOLD, 5_000);
    expect(breaker).toMatchObject({ state: "open", openedAt: 5_000 });
    expect(admit(breaker, 5_000 + COOLDOWN - 1, COOLDOWN)).toBeNull();
    expect(retryAt(breaker, 5_100, COOLDOWN)).toBe(5_000 + COOLDOWN);
  });

  it("half-opens after the cool-down to let one probing round through", () => {
    const breaker = failTimes(BREAKER_FAILURE_THRESHOLD, 5_000);
    expect(admit(breaker, 5_000 + COOLDOWN, COOLDOWN)?.state).toBe("half_open");
  });

  it("re-opens at once when the probe fails", () => {
    const probing = { ...failTimes(BREAKER_FAILURE_THRESHOLD, 0), state: "half_open" as const };
    expect(recordFailure(probing, 9_000)).toMatchObject({ state: "open", openedAt: 9_000 });
  });

  it("closes and forgets failures when a round succeeds", () => {
    expect(recordSuccess()).toEqual({ state: "closed", failures: 0, openedAt: null });
  });

  it("backs off a little after a failure while still closed, never beyond the cool-down", () => {
    const once = failTimes(1);
    expect(retryAt(once, 100, COOLDOWN)).toBeGreaterThan(100);
    expect(retryAt(once, 100, COOLDOWN)).toBeLessThanOrEqual(100 + COOLDOWN);
  });
});
