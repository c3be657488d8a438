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
  estuaryObject,
  eventually,
  failDeliveries,
  publish,
  queueJobForDirectEstuaries,
  readJson,
  subscribe,
  subscribersObject,
} from "./estuary-support";
import { call } from "./worker";

const P = "faults";

async function fanoutStatus(
  source: string,
): Promise<{ breaker: string; subscribers: number; pendingRepairs: number; fannedOutOffset: string; targetOffset: string }> {
  const response = await call(`/v1/estuary/subscribers/${P}/${source}`);
  expect(response.status).toBe(200);
  return response.json();
}

describe("fan-out under faults", () => {
  it("a failing estuary does not stall the others and still gets every message exactly once", async () => {
    await createSource(P, "slow-src");
    for (const id of ["ok-1", "ok-2", "flaky"]) expect(await subscribe(P, "slow-src", id)).toBe(201);
    const fault = await failDeliveries([estuaryObject(P, "flaky")], { times: 2 });

    await publish(P, "slow-src", [{ n: 1 }]);
    await publish(P, "slow-src", [{ n: 2 }]);
    await publish(P, "slow-src", [{ n: 3 }]);

    const all = [{ n: 1 }, { n: 2 }, { n: 3 }];
    await eventually(async () => {
      expect(await readJson(P, "ok-1")).toEqual(all);
      expect(await readJson(P, "ok-2")).toEqual(all);
    });
    // Reading the flaky estuary would pull what it lacks; first let the pushes meet the fault.
    await eventually(async () => expect(fault.refused).toBe(2));
    await eventually(async () => expect(await readJson(P, "flaky")).toEqual(all));
    fault.heal();
  });

  it("an open breaker defers deliveries and delivers them exactly once after it closes", async () => {
    await createSource(P, "down-src");
    for (const id of ["down-1", "down-2"]) expect(await subscribe(P, "down-src", id)).toBe(201);
    const fault = await failDeliveries([estuaryObject(P, "down-1"), estuaryObject(P, "down-2")]);

    await publish(P, "down-src", [{ n: 1 }]);
    await eventually(async () => expect((await fanoutStatus("down-src")).breaker).toBe("open"));
    await publish(P, "down-src", [{ n: 2 }]);
    // Nothing was pushed (a read would pull, so the fan-out position tells).
    const deferred = await fanoutStatus("down-src");
    expect(deferred.fannedOutOffset < deferred.targetOffset).toBe(true);

    fault.heal();
    await eventually(async () => {
      expect(await readJson(P, "down-1")).toEqual([{ n: 1 }, { n: 2 }]);
      expect(await readJson(P, "down-2")).toEqual([{ n: 1 }, { n: 2 }]);
    });
    await eventually(async () => expect((await fanoutStatus("down-src")).breaker).toBe("closed"));
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
    await eventually(async () => {
      expect(await readJson(P, "evict-1")).toEqual([{ n: 1 }]);
      expect(await readJson(P, "evict-2")).toEqual([{ n: 1 }]);
    });
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
