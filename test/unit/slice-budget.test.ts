// The memory budget for slices in flight in one stream object: slices past it wait, in order, until
// earlier ones have been handed over; one slice always runs, whatever its size.
import { describe, expect, it } from "vitest";
import { SLICE_BUDGET_BYTES, SliceBudget } from "../../src/stream/slice-budget";
import { FANOUT_SLICE_BYTES } from "../../src/contract/fanout";

/** A slice read the test finishes by hand, noting when it started. */
function controlled(budget: SliceBudget, estimate: number, log: string[], name: string) {
  let finish: (bytes: number) => void = () => undefined;
  const done = budget.run(estimate, () => {
    log.push(`start ${name} (${budget.bytesInFlight} in flight)`);
    return new Promise<{ result: string; bytes: number }>((resolve) => (finish = (bytes) => resolve({ result: name, bytes })));
  });
  return { done, finish: (bytes = estimate) => finish(bytes) };
}

/** Lets the budget's hand-over timer run. */
const handedOver = () => new Promise((resolve) => setTimeout(resolve, 1));

describe("slice budget", () => {
  it("runs slices side by side while they fit, and makes the next wait until one is handed over", async () => {
    const budget = new SliceBudget(100);
    const log: string[] = [];
    const a = controlled(budget, 40, log, "a");
    const b = controlled(budget, 40, log, "b");
    const c = controlled(budget, 40, log, "c");
    await Promise.resolve();
    expect(log).toEqual(["start a (40 in flight)", "start b (80 in flight)"]);
    expect(budget.waiting).toBe(1);

    a.finish();
    expect(await a.done).toBe("a");
    expect(log).toHaveLength(2); // a's bytes count until they are handed over
    await handedOver();
    expect(log.at(-1)).toBe("start c (80 in flight)");
    b.finish();
    c.finish();
    await Promise.all([b.done, c.done]);
    await handedOver();
    expect(budget.bytesInFlight).toBe(0);
  });

  it("always runs a slice when nothing is in flight, even one larger than the budget", async () => {
    const budget = new SliceBudget(100);
    const log: string[] = [];
    const big = controlled(budget, 500, log, "big");
    const small = controlled(budget, 1, log, "small");
    await Promise.resolve();
    expect(log).toEqual(["start big (500 in flight)"]);
    big.finish();
    await big.done;
    await handedOver();
    expect(log.at(-1)).toBe("start small (1 in flight)");
    small.finish();
    await small.done;
  });

  it("admits in arrival order: a small slice does not overtake a waiting large one", async () => {
    const budget = new SliceBudget(100);
    const log: string[] = [];
    const first = controlled(budget, 60, log, "first");
    const large = controlled(budget, 60, log, "large");
    const small = controlled(budget, 10, log, "small");
    await Promise.resolve();
    expect(log).toEqual(["start first (60 in flight)"]);
    first.finish();
    await first.done;
    await handedOver();
    expect(log.slice(1)).toEqual(["start large (70 in flight)", "start small (70 in flight)"]);
    large.finish();
    small.finish();
    await Promise.all([large.done, small.done]);
  });

  it("holds what a slice really read, not its estimate, until it is handed over", async () => {
    const budget = new SliceBudget(100);
    const log: string[] = [];
    const over = controlled(budget, 10, log, "over");
    const next = controlled(budget, 10, log, "next");
    await Promise.resolve();
    expect(log).toHaveLength(2);
    over.finish(95); // a JSON message longer than the slice asked for
    await over.done;
    const third = controlled(budget, 10, log, "third");
    await Promise.resolve();
    expect(budget.bytesInFlight).toBe(105);
    expect(log).toHaveLength(2);
    await handedOver();
    expect(log.at(-1)).toBe("start third (20 in flight)");
    next.finish();
    await next.done;
    third.finish();
    await third.done;
  });

  it("admits three of the largest slices callers ask for side by side, by default", () => {
    expect(new SliceBudget().limit).toBe(SLICE_BUDGET_BYTES);
    expect(Math.floor(SLICE_BUDGET_BYTES / FANOUT_SLICE_BYTES)).toBe(3);
  });
});
