// Fan-out that nothing pins and nothing spins: a queue job whose report is lost, or whose repair
// after dead-lettering keeps failing, still ends with every estuary exact and the offset committed;
// a run keeps to its budget of calls; a round that cannot make progress stops and waits; a failing
// estuary is retried less and less often.
// Driven against the model world of fanout-model.ts (the real subscribers object, model neighbours).
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { fanoutStub } from "../../src/fanout/stub";
import type { FanoutRounds } from "../../src/fanout/rounds";
import { FanoutWorld, SOURCE } from "./fanout-model";

const JOB_TIMEOUT_MS = 5_000;
const QUEUED = { FANOUT_PULL_THRESHOLD: "10", FANOUT_QUEUE_THRESHOLD: "1", FANOUT_JOB_TIMEOUT_MS: String(JOB_TIMEOUT_MS) };
const INLINE = { FANOUT_PULL_THRESHOLD: "10", FANOUT_QUEUE_THRESHOLD: "10" };
let worlds = 0;

async function inWorld(vars: Record<string, string>, body: (world: FanoutWorld) => Promise<void>): Promise<void> {
  await runInDurableObject(fanoutStub(env, `bounds-${worlds++}`), (_instance, state) => body(new FanoutWorld(state, vars)));
}

async function subscribeAll(world: FanoutWorld, names: string[]): Promise<void> {
  for (const name of names) {
    world.attach(name, world.tail);
    await world.subject.subscribe({ source: SOURCE, estuaries: [{ estuary: name, position: world.tail }], maxSubscribers: 100 });
    await world.settle();
  }
}

async function publish(world: FanoutWorld, count: number): Promise<void> {
  world.append(count);
  await world.subject.publish({ source: SOURCE, tail: world.tail });
  await world.settle();
}

/** The source goes quiet: time passes beyond the job timeout, the alarm runs and the queue delivers its jobs. */
async function quiet(world: FanoutWorld): Promise<void> {
  vi.setSystemTime(Date.now() + JOB_TIMEOUT_MS + 1);
  for (let round = 0; round < 3; round++) {
    await world.subject.alarm();
    await world.settle();
    while (world.queue.length > 0) await world.consume(0, false);
    await world.settle();
  }
}

function expectExact(world: FanoutWorld, names: string[]): void {
  for (const name of names) expect(world.estuaries.get(name)?.log, name).toEqual(Array.from({ length: world.tail }, (_, i) => i));
}

beforeEach(() => {
  vi.useFakeTimers({ toFake: ["Date"] });
  vi.spyOn(console, "warn").mockImplementation(() => undefined);
  vi.spyOn(console, "error").mockImplementation(() => undefined);
});

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

describe("queue jobs", () => {
  it("a job whose report is lost holds the offset only until it expires", async () => {
    await inWorld(QUEUED, async (world) => {
      const names = ["lost/e0", "lost/e1"];
      await subscribeAll(world, names);
      await publish(world, 3);
      expect(world.queue).toHaveLength(1);
      world.lostReports = 1;
      await world.consume(0, false);
      expectExact(world, names);
      expect((await world.subject.commitState(world.tail)).committedPosition).toBe(0);

      await quiet(world);
      expectExact(world, names);
      expect((await world.subject.commitState(world.tail)).committedPosition).toBe(world.tail);
    });
  });

  it("a dead-lettered job whose repair fails three times is dropped after its bound and still repaired", async () => {
    await inWorld(QUEUED, async (world) => {
      const names = ["dlq/e0", "dlq/e1", "dlq/e2"];
      await subscribeAll(world, names);
      await publish(world, 4);
      world.deadLetter(0);
      world.failedRepairs = 3;
      for (let attempt = 0; attempt < 3; attempt++) await world.consume(0, true);
      expect(world.failedRepairs).toBe(0);
      // Its own bound: the third failure is the last, nothing is left to retry.
      expect(world.deadLetters).toEqual([]);
      expect((await world.subject.commitState(world.tail)).committedPosition).toBe(0);

      await quiet(world);
      expectExact(world, names);
      expect((await world.subject.commitState(world.tail)).committedPosition).toBe(world.tail);
    });
  });
});

describe("a run's bounds", () => {
  it("keeps to its budget of calls out and lets the alarm go on", async () => {
    await inWorld(INLINE, async (world) => {
      const names = ["budget/e0", "budget/e1", "budget/e2"];
      await subscribeAll(world, names);
      const rounds = (world.subject as unknown as { rounds: FanoutRounds }).rounds;
      rounds.limits = { ...rounds.limits, callsPerRun: 4 };
      world.calls = 0;
      // 9 messages are 3 source reads of 3, each delivered to 3 estuaries: 12 calls in all.
      await publish(world, 9);
      expect(world.calls).toBeLessThanOrEqual(4);
      expect((await world.subject.status())?.fannedOutPosition).toBeLessThan(world.tail);
      for (let run = 0; run < 5 && (await world.subject.status())?.fannedOutPosition !== world.tail; run++) {
        world.calls = 0;
        await world.subject.alarm();
        await world.settle();
        expect(world.calls).toBeLessThanOrEqual(4);
      }
      expectExact(world, names);
    });
  });

  it("a round that makes no progress (the source was created again, shorter) stops and waits", async () => {
    await inWorld(INLINE, async (world) => {
      const names = ["stall/e0", "stall/e1"];
      await subscribeAll(world, names);
      await publish(world, 3);
      // The old source had reached 6; the new one holds 2.
      world.tail = 2;
      world.calls = 0;
      await world.subject.publish({ source: SOURCE, tail: 6 });
      await world.settle();
      const status = await world.subject.status();
      expect(status?.fannedOutPosition).toBe(3);
      expect(status?.lastError?.message).toContain("no progress");
      expect(world.calls).toBeLessThanOrEqual(2);
    });
  });
});

describe("a failing estuary", () => {
  it("is retried later after each failure in a row, and caught up once it answers", async () => {
    await inWorld(INLINE, async (world) => {
      const names = ["flaky/e0", "flaky/e1", "flaky/e2"];
      await subscribeAll(world, names);
      const rounds = (world.subject as unknown as { rounds: FanoutRounds }).rounds;
      const flaky = world.estuaries.get("flaky/e0");
      if (!flaky) throw new Error("no model estuary");
      flaky.failures = 3;
      const waits: number[] = [];
      await publish(world, 2);
      for (let failure = 1; failure <= 3; failure++) {
        const at = rounds.nextLaggardAt();
        if (at === null) throw new Error(`no retry planned after failure ${failure}`);
        waits.push(at - Date.now());
        vi.setSystemTime(at);
        await world.subject.alarm();
        await world.settle();
      }
      expect(flaky.failures).toBe(0);
      // Each wait doubles: the third is four times the first.
      expect(waits).toEqual([1_000, 2_000, 4_000]);
      expectExact(world, names);
      expect((await world.subject.status())?.pendingRepairs).toBe(0);
    });
  });
});
