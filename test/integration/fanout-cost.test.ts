// Fan-out cost counters: what each inline round and each queue job really spends, as reported on the
// source's status route (the figures behind cost per delivered message).
import { createMessageBatch } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import worker from "../../src/index";
import { createSource, eventually, publish, queueJobForDirectEstuaries, readJson, subscribe } from "./estuary-support";
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
});
