// Fan-out under faults: failing and hanging estuaries, an open breaker, an evicted subscribers
// object, a lost publish and a queue batch delivered twice. Nothing is lost or duplicated.
import {
  createExecutionContext,
  createMessageBatch,
  getQueueResult,
  abortAllDurableObjects,
  runDurableObjectAlarm,
  runInDurableObject,
} from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import worker from "../../src/index";
import type { StreamSubscribersDO } from "../../src/fanout/subscribers-do";
import {
  createSource,
  deliveredOffset,
  estuaryObject,
  eventually,
  failDeliveries,
  fanoutStatus,
  publish,
  pushedAll,
  queueJobForDirectEstuaries,
  readJson,
  subscribe,
  subscribersObject,
  tailOf,
} from "./estuary-support";

const P = "faults";
const NONE = "0000000000000000_0000000000000000";

// Every read of an estuary first pulls what it lacks from its sources, bypassing the push these
// tests fault. So delivery is proven from the fan-out status and the estuaries' described positions,
// both taken before any estuary is read; the reads come last, to check contents and exactness.
describe("fan-out under faults", () => {
  it("a failing estuary does not stall the others and still gets every message exactly once", async () => {
    await createSource(P, "slow-src");
    for (const id of ["ok-1", "ok-2", "flaky"]) expect(await subscribe(P, "slow-src", id)).toBe(201);
    const fault = await failDeliveries([estuaryObject(P, "flaky")]);

    await publish(P, "slow-src", [{ n: 1 }]);
    await publish(P, "slow-src", [{ n: 2 }]);
    await publish(P, "slow-src", [{ n: 3 }]);

    // While the flaky estuary refuses every push, fan-out moves past it: the other two hold all
    // three messages and the flaky one waits as a repair.
    const tail = await tailOf(P, "slow-src");
    await eventually(async () => {
      const status = await fanoutStatus(P, "slow-src");
      expect(status.fannedOutOffset).toBe(tail);
      expect(status.pendingRepairs).toBe(1);
      expect(status.cost.messagesDelivered).toBe(6);
    });
    expect(await deliveredOffset(P, "ok-1", "slow-src")).toBe(tail);
    expect(await deliveredOffset(P, "ok-2", "slow-src")).toBe(tail);
    expect(await deliveredOffset(P, "flaky", "slow-src")).toBe(NONE);
    expect(fault.refused).toBeGreaterThan(0);

    // Healed, the repair pushes the flaky estuary its three: nine messages pushed, none pulled.
    fault.heal();
    await pushedAll(P, "slow-src", 9);
    expect(await deliveredOffset(P, "flaky", "slow-src")).toBe(tail);
    const all = [{ n: 1 }, { n: 2 }, { n: 3 }];
    for (const id of ["ok-1", "ok-2", "flaky"]) expect(await readJson(P, id)).toEqual(all);
  });

  it("an open breaker defers deliveries and delivers them exactly once after it closes", async () => {
    await createSource(P, "down-src");
    for (const id of ["down-1", "down-2"]) expect(await subscribe(P, "down-src", id)).toBe(201);
    const fault = await failDeliveries([estuaryObject(P, "down-1"), estuaryObject(P, "down-2")]);

    await publish(P, "down-src", [{ n: 1 }]);
    await eventually(async () => expect((await fanoutStatus(P, "down-src")).breaker).toBe("open"));
    await publish(P, "down-src", [{ n: 2 }]);
    // Nothing was pushed.
    const deferred = await fanoutStatus(P, "down-src");
    expect(deferred.fannedOutOffset < deferred.targetOffset).toBe(true);
    expect(deferred.cost.messagesDelivered).toBe(0);

    fault.heal();
    // Both messages pushed to both estuaries once the breaker lets a round through, none pulled.
    await pushedAll(P, "down-src", 4);
    expect((await fanoutStatus(P, "down-src")).breaker).toBe("closed");
    expect(await readJson(P, "down-1")).toEqual([{ n: 1 }, { n: 2 }]);
    expect(await readJson(P, "down-2")).toEqual([{ n: 1 }, { n: 2 }]);
  });

  it("the alarm finishes a fan-out interrupted by aborting the subscribers object mid-round", async () => {
    await createSource(P, "evict-src");
    for (const id of ["evict-1", "evict-2"]) expect(await subscribe(P, "evict-src", id)).toBe(201);
    const fault = await failDeliveries([estuaryObject(P, "evict-1")], { hang: true });

    await publish(P, "evict-src", [{ n: 1 }]);
    await eventually(async () => expect(fault.refused).toBe(1));
    // Abort every object mid-round, as a crash would: in-memory work is lost, storage and alarms stay.
    await abortAllDurableObjects();
    fault.heal();

    expect(await runDurableObjectAlarm(subscribersObject(P, "evict-src"))).toBe(true);
    // The alarm itself finished the round, before anything else could (the source's safety net
    // publishes again only seconds later; a read would pull): compared with the source's tail,
    // since the target the aborted round held in memory is gone with it.
    const tail = await tailOf(P, "evict-src");
    const status = await fanoutStatus(P, "evict-src");
    expect(status.targetOffset).toBe(tail);
    expect(status.fannedOutOffset).toBe(tail);
    expect(status.pendingRepairs).toBe(0);
    // evict-1's message, pushed by the alarm's round (evict-2's may have been pushed by the aborted
    // round, whose counters were lost with it).
    expect(status.cost.messagesDelivered).toBeGreaterThanOrEqual(1);
    expect(status.cost.messagesPulled).toBe(0);
    expect(await deliveredOffset(P, "evict-1", "evict-src")).toBe(tail);
    expect(await deliveredOffset(P, "evict-2", "evict-src")).toBe(tail);
    expect(await readJson(P, "evict-1")).toEqual([{ n: 1 }]);
    expect(await readJson(P, "evict-2")).toEqual([{ n: 1 }]);
  });

  it("a publish lost on its way to the subscribers object is repeated by the source's alarm", async () => {
    await createSource(P, "lost-src");
    expect(await subscribe(P, "lost-src", "lost-1")).toBe(201);
    const subscribers = subscribersObject(P, "lost-src");
    const restore = await runInDurableObject(subscribers, (instance: StreamSubscribersDO) => {
      const prototype = Object.getPrototypeOf(instance) as StreamSubscribersDO;
      const original = prototype.publish;
      prototype.publish = async () => {
        throw new Error("injected: publish lost");
      };
      return () => {
        prototype.publish = original;
      };
    });

    await publish(P, "lost-src", [{ n: 1 }]);
    // Give the lost publish every chance to have been made (it is in waitUntil).
    await eventually(async () => expect(await readJson(P, "lost-src")).toEqual([{ n: 1 }]));
    restore();
    expect(await readJson(P, "lost-1")).toEqual([]);

    expect(await runDurableObjectAlarm(estuaryObject(P, "lost-src"))).toBe(true);
    await eventually(async () => expect(await readJson(P, "lost-1")).toEqual([{ n: 1 }]));
  });

  it("the same queue batch delivered twice leaves each estuary with one copy", async () => {
    await createSource(P, "queue-src");
    await publish(P, "queue-src", [{ n: 1 }, { n: 2 }]);
    const job = await queueJobForDirectEstuaries(P, "queue-src", ["queued-1", "queued-2"]);

    for (const attempt of [1, 2]) {
      const batch = createMessageBatch("estuary-fanout", [{ id: `job-${attempt}`, timestamp: Date.now(), attempts: attempt, body: job }]);
      const ctx = createExecutionContext();
      await worker.queue(batch, env);
      const result = await getQueueResult(batch, ctx);
      expect(result.explicitAcks).toEqual([`job-${attempt}`]);
      expect(result.retryMessages).toEqual([]);
    }
    expect(await readJson(P, "queued-1")).toEqual([{ n: 1 }, { n: 2 }]);
    expect(await readJson(P, "queued-2")).toEqual([{ n: 1 }, { n: 2 }]);
  });
});
