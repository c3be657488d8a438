// The commit policy's arithmetic (committedPosition) and the bookkeeping of queue jobs still out.
import { describe, expect, it } from "vitest";
import { committedPosition } from "../../src/fanout/commit";
import { QUEUED_JOB_MAX_MS, QueuedJobs } from "../../src/fanout/queued-jobs";
import type { FanoutState } from "../../src/fanout/repository";
import { NO_COST } from "../../src/contract/fanout";

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

describe("QueuedJobs", () => {
  const state = (): FanoutState => ({
    source: "p/s",
    subscribers: 300,
    target: 100,
    cohort: 100,
    breaker: { state: "closed", failures: 0, openedAt: null },
    cost: NO_COST,
    lastError: null,
    queuedFrom: null,
    queuedAt: null,
  });

  it("holds the oldest start of the jobs out until each is done, once", () => {
    const jobs = new QueuedJobs();
    const s = state();
    const a = jobs.sent(s, 10, 1_000);
    const b = jobs.sent(s, 40, 1_000);
    expect(a).not.toBe(b);
    expect(jobs.oldestFrom(s, 1_001)).toBe(10);
    jobs.done(s, a, 1_002);
    expect(jobs.oldestFrom(s, 1_003)).toBe(40);
    // A report repeated by the queue changes nothing.
    jobs.done(s, a, 1_004);
    expect(jobs.oldestFrom(s, 1_005)).toBe(40);
    jobs.done(s, b, 1_006);
    expect(jobs.oldestFrom(s, 1_007)).toBeNull();
    expect(s).toMatchObject({ queuedFrom: null, queuedAt: null });
  });

  it("after a restart, a saved summary holds until its jobs must have ended, then goes", () => {
    const saved = { ...state(), queuedFrom: 20, queuedAt: 5_000 };
    const restarted = new QueuedJobs();
    expect(restarted.oldestFrom(saved, 5_000 + QUEUED_JOB_MAX_MS)).toBe(20);
    expect(restarted.oldestFrom(saved, 5_001 + QUEUED_JOB_MAX_MS)).toBeNull();
  });
});
