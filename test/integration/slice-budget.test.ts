// A stream object bounds the bytes of the slices it serves at once (readSlice, for forks and
// fan-out): with the budget injected small, concurrent slices past it wait, and all are served whole.
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { SliceBudget } from "../../src/stream/slice-budget";
import type { StreamDO } from "../../src/stream/stream-do";
import { call, streamObject } from "./worker";

const SLICE = 40 * 1024;
const SLICES = 8;
/** Room for two slices at once, not three. */
const BUDGET = 100 * 1024;

/** The object's budget, noting the most bytes in flight and slices waiting it saw. */
class WatchedBudget extends SliceBudget {
  runs = 0;
  peakBytes = 0;
  peakWaiting = 0;

  override run<T>(estimate: number, read: () => Promise<{ result: T; bytes: number }>): Promise<T> {
    this.peakWaiting = Math.max(this.peakWaiting, this.waiting + (this.bytesInFlight + estimate > this.limit ? 1 : 0));
    return super.run(estimate, async () => {
      this.runs++;
      this.peakBytes = Math.max(this.peakBytes, this.bytesInFlight);
      return read();
    });
  }
}

function budgetOf(instance: StreamDO): WatchedBudget {
  return (instance as unknown as { slices: WatchedBudget }).slices;
}

describe("slices in flight", () => {
  it("stay within the object's budget: past it, slices wait their turn, and every one is served whole", async () => {
    const path = "/v1/stream/slice-budget";
    const bytes = (k: number) => new Uint8Array(SLICE).fill(k + 1);
    expect((await call(path, { method: "PUT", headers: { "Content-Type": "application/octet-stream" } })).status).toBe(201);
    for (let k = 0; k < SLICES; k++) {
      expect((await call(path, { method: "POST", headers: { "Content-Type": "application/octet-stream" }, body: bytes(k) })).status).toBe(204);
    }
    const stub = streamObject("default/slice-budget");
    await runInDurableObject(stub, (instance: StreamDO) => {
      (instance as unknown as { slices: SliceBudget }).slices = new WatchedBudget(BUDGET);
    });

    const slices = await Promise.all(
      Array.from({ length: SLICES }, (_, k) => stub.readSlice({ from: k * SLICE, limit: (k + 1) * SLICE, maxBytes: SLICE, stopAtAppendEnd: false })),
    );
    slices.forEach((slice, k) => {
      if (!slice.ok) throw new Error(`slice ${k}: ${slice.message}`);
      expect(slice.next).toBe((k + 1) * SLICE);
      expect(slice.segments.map((segment) => [...segment.data]).flat()).toEqual([...bytes(k)]);
    });
    const seen = await runInDurableObject(stub, (instance: StreamDO) => {
      const { runs, peakBytes, peakWaiting } = budgetOf(instance);
      return { runs, peakBytes, peakWaiting };
    });
    expect(seen.runs).toBe(SLICES);
    expect(seen.peakBytes).toBeLessThanOrEqual(BUDGET);
    expect(seen.peakWaiting).toBeGreaterThan(0);
  });
});
