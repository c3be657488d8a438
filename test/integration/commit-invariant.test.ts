// The commit policy never says "committed" early: whatever happens (publishes, leases whose pulls
// fail or go unreported, queue jobs sent, delivered, reported or not, dead-lettered and repaired,
// the subscriber count crossing the pull threshold both ways, time passing, restarts), the committed
// offset is held by the subscriptions the policy counts, as the estuaries themselves say.
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import fc from "fast-check";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { CommitPolicy } from "../../src/contract/fanout";
import { fanoutStub } from "../../src/fanout/stub";
import { FanoutWorld, SOURCE } from "./fanout-model";

const ESTUARIES = ["model/e0", "model/e1", "model/e2", "model/e3", "model/e4"];
const HOT_MS = 1_000;
/** Above 2 subscribers only hot estuaries are pushed to; above 1 pushed estuary, through the queue. */
const VARS = { FANOUT_PULL_THRESHOLD: "2", FANOUT_QUEUE_THRESHOLD: "1", ESTUARY_HOT_MS: String(HOT_MS), BREAKER_COOLDOWN_MS: "10", FANOUT_JOB_TIMEOUT_MS: "5000" };

type Command =
  | { kind: "subscribe"; estuary: number; fromStart: boolean; required: boolean }
  | { kind: "unsubscribe"; estuary: number }
  | { kind: "publish"; count: number }
  | { kind: "lease"; estuary: number; pull: "none" | "part" | "all"; report: boolean }
  | { kind: "fail"; estuary: number; times: number }
  | { kind: "consume"; index: number; loseReport: boolean }
  | { kind: "deadLetter"; index: number; failRepair: boolean }
  | { kind: "time"; ms: number }
  | { kind: "alarm" }
  | { kind: "restart" }
  | { kind: "policy"; policy: CommitPolicy };

const estuary = fc.integer({ min: 0, max: ESTUARIES.length - 1 });
const command: fc.Arbitrary<Command> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("subscribe" as const), estuary, fromStart: fc.boolean(), required: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("unsubscribe" as const), estuary }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant("publish" as const), count: fc.integer({ min: 1, max: 4 }) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("lease" as const), estuary, pull: fc.constantFrom("none" as const, "part" as const, "all" as const), report: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("fail" as const), estuary, times: fc.integer({ min: 1, max: 3 }) }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant("consume" as const), index: fc.nat(3), loseReport: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("deadLetter" as const), index: fc.nat(3), failRepair: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("time" as const), ms: fc.constantFrom(100, 600, 1_100, 6_000) }) },
  { weight: 2, arbitrary: fc.constant({ kind: "alarm" as const }) },
  { weight: 2, arbitrary: fc.constant({ kind: "restart" as const }) },
  {
    weight: 1,
    arbitrary: fc.constantFrom<CommitPolicy>({ mode: "required" }, { mode: "all" }, { mode: "quorum", quorum: 1 }, { mode: "quorum", quorum: 3 }).map((policy) => ({ kind: "policy" as const, policy })),
  },
);

interface Subscription {
  required: boolean;
}

async function run(world: FanoutWorld, step: Command, subscribed: Map<string, Subscription>): Promise<void> {
  const subject = world.subject;
  switch (step.kind) {
    case "subscribe": {
      const name = ESTUARIES[step.estuary] ?? "";
      if (subscribed.has(name)) return;
      const position = step.fromStart ? 0 : world.tail;
      world.attach(name, position);
      const outcome = await subject.subscribe({ source: SOURCE, estuaries: [{ estuary: name, position, required: step.required }], maxSubscribers: 100 });
      if ("outcomes" in outcome && outcome.outcomes[0] === "added") subscribed.set(name, { required: step.required });
      return;
    }
    case "unsubscribe": {
      const name = ESTUARIES[step.estuary] ?? "";
      if (await subject.unsubscribe(name)) subscribed.delete(name);
      return;
    }
    case "publish":
      world.append(step.count);
      return subject.publish({ source: SOURCE, tail: world.tail });
    case "lease": {
      const name = ESTUARIES[step.estuary] ?? "";
      const model = world.estuaries.get(name);
      if (model?.applied === undefined) return;
      const grant = await subject.hot({ source: SOURCE, estuary: name, applied: model.applied });
      if (!grant || step.pull === "none" || model.failures > 0) return;
      const to = step.pull === "all" ? grant.target : Math.min(grant.target, model.applied + 1);
      if (to > model.applied) world.apply(name, model.applied, to);
      if (step.report) await subject.recordPull({ estuary: name, applied: model.applied, reads: 1, messages: 0, rowsWritten: 0 });
      return;
    }
    case "fail": {
      const model = world.estuaries.get(ESTUARIES[step.estuary] ?? "");
      if (model) model.failures += step.times;
      return;
    }
    case "consume":
      if (step.loseReport) world.lostReports = 1;
      await world.consume(step.index % Math.max(1, world.queue.length), false);
      world.lostReports = 0;
      return;
    case "deadLetter":
      world.deadLetter(step.index % Math.max(1, world.queue.length));
      if (step.failRepair) world.failedRepairs = 1;
      await world.consume(0, true);
      world.failedRepairs = 0;
      return;
    case "time":
      vi.setSystemTime(Date.now() + step.ms);
      return;
    case "alarm":
      return subject.alarm();
    case "restart":
      await world.settle();
      world.restart();
      return;
    case "policy":
      return subject.setPolicy(step.policy);
  }
}

/** The committed offset is held by every subscription the policy needs, as the estuaries say. */
async function checkInvariant(world: FanoutWorld, subscribed: Map<string, Subscription>, trace: string[]): Promise<void> {
  const { policy, committedPosition } = await world.subject.commitState(world.tail);
  expect(committedPosition, trace.join("\n")).toBeLessThanOrEqual(world.tail);
  const counted = [...subscribed].filter(([, sub]) => policy.mode !== "required" || sub.required).map(([name]) => name);
  const needed = policy.mode === "quorum" ? Math.min(policy.quorum ?? 1, counted.length) : counted.length;
  const holding = counted.filter((name) => (world.estuaries.get(name)?.applied ?? -1) >= committedPosition);
  const positions = counted.map((name) => `${name}@${world.estuaries.get(name)?.applied}`).join(" ");
  expect(holding.length, `committed ${committedPosition} under ${JSON.stringify(policy)}; ${positions}\n${trace.join("\n")}`).toBeGreaterThanOrEqual(needed);
  // Exactly once and in order, whichever path delivered.
  for (const name of counted) {
    const model = world.estuaries.get(name);
    if (!model || model.applied === undefined) continue;
    expect(model.log).toEqual(Array.from({ length: model.applied - model.start }, (_, i) => model.start + i));
  }
}

/**
 * Faults heal and the source goes quiet; time passes, queues drain and alarms fire. Then nothing is
 * pinned: with every subscriber pushed to, each estuary holds the whole source and it is committed.
 */
async function quiesce(world: FanoutWorld, subscribed: Map<string, Subscription>, trace: string[]): Promise<void> {
  for (const model of world.estuaries.values()) model.failures = 0;
  for (let round = 0; round < 20; round++) {
    await world.settle();
    vi.setSystemTime(Date.now() + 6_000);
    while (world.queue.length > 0) await world.consume(0, false);
    while (world.deadLetters.length > 0) await world.consume(0, true);
    await world.subject.alarm();
    await world.settle();
    await checkInvariant(world, subscribed, trace);
  }
  if (subscribed.size > Number(VARS.FANOUT_PULL_THRESHOLD)) return;
  const positions = [...subscribed.keys()].map((name) => `${name}@${world.estuaries.get(name)?.applied}`);
  expect(positions, trace.join("\n")).toEqual([...subscribed.keys()].map((name) => `${name}@${world.tail}`));
  expect((await world.subject.commitState(world.tail)).committedPosition, trace.join("\n")).toBe(world.tail);
}

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

describe("the committed offset", () => {
  it("is never ahead of what the counted estuaries hold, whatever is interleaved", async () => {
    let runs = 0;
    vi.useFakeTimers({ toFake: ["Date"] });
    // The faults it injects are logged by the code under test: thousands of expected lines.
    vi.spyOn(console, "warn").mockImplementation(() => undefined);
    vi.spyOn(console, "error").mockImplementation(() => undefined);
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(command, fc.boolean()), { minLength: 5, maxLength: 40 }), async (commands) => {
        const stub = fanoutStub(env, `model-scratch-${runs++}`);
        await runInDurableObject(stub, async (_instance, state) => {
          const world = new FanoutWorld(state, VARS);
          const subscribed = new Map<string, Subscription>();
          const trace: string[] = [];
          for (const [step, overlap] of commands) {
            trace.push(JSON.stringify(step));
            await run(world, step, subscribed);
            await checkInvariant(world, subscribed, trace);
            // Or the next step runs while this one's round is still out.
            if (overlap) continue;
            await world.settle();
            await checkInvariant(world, subscribed, trace);
          }
          await quiesce(world, subscribed, trace);
        });
      }),
      { numRuns: 150 },
    );
  }, 120_000);
});
