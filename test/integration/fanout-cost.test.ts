// Fan-out cost counters: what each inline round and each queue job really spends, as reported on the
// source's status route (the figures behind cost per delivered message).
import { createMessageBatch, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { fanoutStub } from "../../src/fanout/stub";
import worker from "../../src/index";
import { createSource, eventually, publish, queueJobForDirectEstuaries, readJson, subscribe } from "./estuary-support";
import { FanoutWorld, SOURCE } from "./fanout-model";
import { call } from "./worker";

const P = "cost";

interface Cost {
  messagesDelivered: number;
  rpcs: number;
  sourceReads: number;
  rowsWritten: number;
  queueMessages: number;
}

async function cost(source: string): Promise<Cost> {
  const response = await call(`/v1/estuary/subscribers/${P}/${source}`);
  return (await response.json<{ cost: Cost }>()).cost;
}

describe("fan-out cost counters", () => {
  it("count one delivery RPC per estuary for an inline round, and no source read for a small append", async () => {
    await createSource(P, "inline-src");
    for (const id of ["i1", "i2", "i3"]) expect(await subscribe(P, "inline-src", id)).toBe(201);

    await publish(P, "inline-src", [{ n: 1 }, { n: 2 }]);
    await eventually(async () => expect((await cost("inline-src")).messagesDelivered).toBe(6));

    const spent = await cost("inline-src");
    // The append travelled with the source's publish call, so the round did not read it back.
    expect(spent).toMatchObject({ sourceReads: 0, rpcs: 3, queueMessages: 0 });
    // Each estuary writes one row for the two messages, as SQLite counts (and bills) rows: the
    // messages of a delivery share a row, which also carries the applied position.
    expect(spent.rowsWritten).toBe(3);
    expect(await readJson(P, "i3")).toEqual([{ n: 1 }, { n: 2 }]);
  });

  it("read an append too large to travel with the publish from the source, once per round", async () => {
    await createSource(P, "large-src");
    for (const id of ["l1", "l2"]) expect(await subscribe(P, "large-src", id)).toBe(201);
    const large = "x".repeat(70 * 1024);
    await publish(P, "large-src", [{ large }]);
    await eventually(async () => expect((await cost("large-src")).messagesDelivered).toBe(2));

    expect(await cost("large-src")).toMatchObject({ sourceReads: 1, rpcs: 3 });
    expect(await readJson(P, "l2")).toEqual([{ large }]);
  });

  it("count what a queue job spends, reported by the consumer", async () => {
    await createSource(P, "queue-src");
    expect(await subscribe(P, "queue-src", "q0")).toBe(201);
    await publish(P, "queue-src", [{ n: 1 }]);
    await eventually(async () => expect((await cost("queue-src")).messagesDelivered).toBe(1));
    const before = await cost("queue-src");

    const job = await queueJobForDirectEstuaries(P, "queue-src", ["q1", "q2"]);
    await worker.queue(createMessageBatch("estuary-fanout", [{ id: "job", timestamp: Date.now(), attempts: 1, body: job }]), env);

    const after = await cost("queue-src");
    expect(after.messagesDelivered - before.messagesDelivered).toBe(2);
    expect(after.sourceReads - before.sourceReads).toBe(1);
    expect(after.rpcs - before.rpcs).toBe(3);
  });

  it("count every row the subscribers object writes in subscriberRowsWritten: its list, the commit policy's counts, queue job rows", async () => {
    await runInDurableObject(fanoutStub(env, "cost-rows"), async (_instance, state) => {
      // Every row the object writes, as SQLite counts it.
      let written = 0;
      const sql = state.storage.sql;
      const exec = sql.exec.bind(sql);
      sql.exec = ((query: string, ...bindings: unknown[]) => {
        const cursor = exec(query, ...bindings);
        written += cursor.rowsWritten;
        return cursor;
      }) as typeof sql.exec;
      const world = new FanoutWorld(state, { FANOUT_PULL_THRESHOLD: "10", FANOUT_QUEUE_THRESHOLD: "1" });
      const subscribeAt = async (name: string, position: number) => {
        world.attach(name, position);
        await world.subject.subscribe({ source: SOURCE, estuaries: [{ estuary: name, position }], maxSubscribers: 100 });
        await world.settle();
      };
      /** Publishes, and runs the round's queue job: its report is the round's last save. */
      const publishAndReport = async (count: number) => {
        world.append(count);
        await world.subject.publish({ source: SOURCE, tail: world.tail });
        await world.settle();
        while (world.queue.length > 0) await world.consume(0, false);
        await world.settle();
      };
      const booked = async () => (await world.subject.status())?.cost.subscriberRowsWritten ?? 0;

      await subscribeAt("rows/e0", 0);
      await subscribeAt("rows/e1", 0);
      await publishAndReport(3);
      // Both points are just after a save: each books the rows written before its own, so the rows
      // booked between them are the rows written between them.
      const [bookedBefore, writtenBefore] = [await booked(), written];

      // A laggard (its row, its position counts as it catches up) and a queue job (its row, written
      // and taken out) on top of the saves of the fanout row.
      await subscribeAt("rows/e2", 1);
      await publishAndReport(2);
      expect(world.estuaries.get("rows/e2")?.log).toEqual([1, 2, 3, 4]);
      expect(await booked()).toBe(bookedBefore + (written - writtenBefore));
    });
  });
});
