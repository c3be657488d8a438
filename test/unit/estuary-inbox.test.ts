// An estuary's decision on each delivery: new data, re-delivery, gap, or not subscribed.
import { describe, expect, it } from "vitest";
import type { Delivery } from "../../src/contract/fanout";
import { planDelivery } from "../../src/estuary/inbox";

const bytes = (text: string) => new TextEncoder().encode(text);

function delivery(from: number, to: number): Delivery {
  return { source: "p/src", from, to, segments: [{ data: bytes("{}"), messageEnd: true }] };
}

describe("estuary delivery plan", () => {
  it("writes a delivery that starts exactly where the estuary has applied up to", () => {
    const plan = planDelivery(10, delivery(10, 12));
    expect(plan.kind).toBe("write");
    if (plan.kind === "write") expect(plan.messages).toEqual([bytes("{}")]);
  });

  it("drops a re-delivery of data already applied", () => {
    expect(planDelivery(12, delivery(10, 12))).toEqual({ kind: "skip", outcome: { ok: true, status: "duplicate", applied: 12 } });
    expect(planDelivery(20, delivery(10, 12))).toMatchObject({ outcome: { status: "duplicate" } });
  });

  it("refuses a delivery that would skip data, reporting where to resume", () => {
    expect(planDelivery(4, delivery(10, 12))).toEqual({ kind: "skip", outcome: { ok: true, status: "gap", applied: 4 } });
  });

  it("refuses a delivery that overlaps what was applied, so nothing is written twice", () => {
    expect(planDelivery(11, delivery(10, 12))).toMatchObject({ outcome: { status: "gap", applied: 11 } });
  });

  it("reports an estuary no longer subscribed to the source", () => {
    expect(planDelivery(undefined, delivery(0, 2))).toMatchObject({ outcome: { status: "unsubscribed" } });
  });
});
