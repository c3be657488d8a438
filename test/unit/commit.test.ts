// The commit policy's arithmetic (committedPosition, with the holds of queue jobs still out), and
// queue sends cut to the platform's sendBatch limits.
import { describe, expect, it } from "vitest";
import { committedPosition } from "../../src/commit/position";
import { ROUND_LIMITS, sendBatches } from "../../src/fanout/round-limits";

const group = (position: number, count: number, required = true) => ({ position, count, required });

describe("committedPosition", () => {
  const groups = [group(10, 1), group(30, 2, false), group(50, 1)];

  it("required: the lowest required position; optional ones do not count", () => {
    expect(committedPosition({ mode: "required" }, groups, 100)).toBe(10);
    expect(committedPosition({ mode: "required" }, [group(5, 3, false), group(40, 1)], 100)).toBe(40);
  });

  it("all: the lowest position of any subscription", () => {
    expect(committedPosition({ mode: "all" }, [group(40, 1), group(5, 3, false)], 100)).toBe(5);
  });

  it("quorum n: the n-th highest position, counting every member of a group; fewer than n: all of them", () => {
    expect(committedPosition({ mode: "quorum", quorum: 1 }, groups, 100)).toBe(50);
    expect(committedPosition({ mode: "quorum", quorum: 2 }, groups, 100)).toBe(30);
    expect(committedPosition({ mode: "quorum", quorum: 3 }, groups, 100)).toBe(30);
    expect(committedPosition({ mode: "quorum", quorum: 4 }, groups, 100)).toBe(10);
    expect(committedPosition({ mode: "quorum", quorum: 9 }, groups, 100)).toBe(10);
  });

  it("never past how far the source reaches, and everything when nothing counts", () => {
    expect(committedPosition({ mode: "all" }, [group(80, 1)], 60)).toBe(60);
    expect(committedPosition({ mode: "required" }, [group(5, 2, false)], 60)).toBe(60);
    expect(committedPosition({ mode: "all" }, [], 60)).toBe(60);
    expect(committedPosition({ mode: "all" }, [group(5, 0)], 60)).toBe(60);
  });
});

describe("committedPosition with holds (queue jobs still out)", () => {
  it("required: a hold naming required estuaries brings the offset down to its start; optional ones do not", () => {
    expect(committedPosition({ mode: "required" }, [group(50, 3)], 100, [{ from: 20, required: 1, optional: 0 }])).toBe(20);
    expect(committedPosition({ mode: "required" }, [group(50, 3)], 100, [{ from: 20, required: 0, optional: 4 }])).toBe(50);
  });

  it("quorum: the worst case, as if the hold named the highest positions", () => {
    const groups = [group(90, 1), group(70, 1), group(40, 1)];
    // Two of three at 90 and 70; a hold of one at 10 may name the one at 90: the 2nd highest is then 40.
    expect(committedPosition({ mode: "quorum", quorum: 2 }, groups, 100)).toBe(70);
    expect(committedPosition({ mode: "quorum", quorum: 2 }, groups, 100, [{ from: 10, required: 1, optional: 0 }])).toBe(40);
    expect(committedPosition({ mode: "quorum", quorum: 1 }, groups, 100, [{ from: 10, required: 0, optional: 1 }])).toBe(70);
  });

  it("a hold above every position changes nothing; holds add up", () => {
    expect(committedPosition({ mode: "all" }, [group(30, 2)], 100, [{ from: 60, required: 2, optional: 0 }])).toBe(30);
    const holds = [
      { from: 20, required: 1, optional: 0 },
      { from: 25, required: 1, optional: 0 },
    ];
    expect(committedPosition({ mode: "quorum", quorum: 1 }, [group(80, 2)], 100, holds)).toBe(25);
  });
});

describe("sendBatches", () => {
  it("cuts at the message limit and at the byte limit, whatever the names' lengths, keeping order", () => {
    const bodies = Array.from({ length: 7 }, (_, i) => ({ n: i, name: "x".repeat(i % 2 === 0 ? 10 : 400) }));
    const byCount = sendBatches(bodies, { batchMessages: 3, batchBytes: 1_000_000 });
    expect(byCount.map((batch) => batch.length)).toEqual([3, 3, 1]);
    const byBytes = sendBatches(bodies, { batchMessages: 100, batchBytes: 700 });
    for (const batch of byBytes) {
      const bytes = batch.reduce((sum, body) => sum + JSON.stringify(body).length + 128, 0);
      expect(batch.length === 1 || bytes <= 700).toBe(true);
    }
    expect(byBytes.flat()).toEqual(bodies);
    expect(byBytes.length).toBeGreaterThan(2);
  });

  it("keeps the platform's limits for 1,000 jobs of 100 estuaries with 300-character names", () => {
    const job = { jobId: 1, source: "p/s", from: 0, to: 1, estuaries: Array.from({ length: 100 }, (_, i) => `${i}`.padEnd(300, "e")) };
    const batches = sendBatches(Array.from({ length: 1_000 }, () => job), ROUND_LIMITS);
    for (const batch of batches) {
      expect(batch.length).toBeLessThanOrEqual(100);
      expect(batch.reduce((sum, body) => sum + JSON.stringify(body).length + 100, 0)).toBeLessThanOrEqual(256_000);
    }
  });
});
