// Fan-out queue jobs and failures: a malformed job is retried toward the dead-letter queue (never
// acked and so silently dropped), a valid one is acked, and a failed delivery is kept as lastError.
import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ESTUARIES_PER_JOB } from "../../src/contract/fanout";
import worker from "../../src/index";
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

const P = "jobs";

/** Runs one batch of the given jobs through the Worker's queue handler and returns what it settled. */
async function consume(messages: { id: string; body: unknown }[]) {
  const batch = createMessageBatch(
    "estuary-fanout",
    messages.map(({ id, body }) => ({ id, timestamp: new Date(), attempts: 1, body })),
  );
  const ctx = createExecutionContext();
  await worker.queue(batch, env);
  const result = await getQueueResult(batch, ctx);
  return { acked: result.explicitAcks, retried: result.retryMessages.map((message) => message.msgId), ackAll: result.ackAll };
}

describe("fan-out queue jobs", () => {
  it("retries a job without its range end instead of acking it", async () => {
    await createSource(P, "no-to-src");
    await publish(P, "no-to-src", [{ n: 1 }]);
    const { to: _to, ...job } = await queueJobForDirectEstuaries(P, "no-to-src", ["no-to-1"]);

    const result = await consume([{ id: "no-to", body: job }]);
    expect(result.retried).toEqual(["no-to"]);
    expect(result.acked).not.toContain("no-to");
    expect(result.ackAll).toBe(false);
    expect(await readJson(P, "no-to-1")).toEqual([]);
  });

  it("retries a job naming more estuaries than a job may, and acks a valid job of the same batch", async () => {
    await createSource(P, "wide-src");
    await publish(P, "wide-src", [{ n: 1 }]);
    const valid = await queueJobForDirectEstuaries(P, "wide-src", ["wide-1"]);
    const estuaries = Array.from({ length: ESTUARIES_PER_JOB + 1 }, (_, i) => `${P}/wide-many-${i}`);
    expect(estuaries).toHaveLength(101);

    const result = await consume([
      { id: "too-wide", body: { ...valid, estuaries } },
      { id: "valid", body: valid },
    ]);
    expect(result.retried).toEqual(["too-wide"]);
    expect(result.acked).toEqual(["valid"]);
    expect(result.ackAll).toBe(false);
    expect(await readJson(P, "wide-1")).toEqual([{ n: 1 }]);
  });

  it("keeps a failed inline delivery as the source's lastError, naming the estuary and the error", async () => {
    await createSource(P, "err-src");
    for (const id of ["err-ok-1", "err-ok-2", "err-flaky"]) expect(await subscribe(P, "err-src", id)).toBe(201);
    expect((await subscribersObject(P, "err-src").status())?.lastError).toBeNull();
    const fault = await failDeliveries([estuaryObject(P, "err-flaky")], { times: 1 });
    const before = Date.now();

    await publish(P, "err-src", [{ n: 1 }]);
    await eventually(async () => expect((await subscribersObject(P, "err-src").status())?.lastError).not.toBeNull());
    expect(fault.refused).toBe(1);
    fault.heal();
    // The round that failed the flaky estuary pushed to the others all the same ("err-flaky" sorts
    // first, so a round stopping at the failure would have pushed to nobody) and moved the fan-out
    // on without it. Read before the flaky one's retry (a second away) and before any estuary read,
    // since a read pulls what pushes missed.
    const tail = await tailOf(P, "err-src");
    const round = await fanoutStatus(P, "err-src");
    expect(round.fannedOutOffset).toBe(tail);
    expect(round.cost.messagesDelivered).toBe(2);
    expect(round.cost.messagesPulled).toBe(0);
    for (const id of ["err-ok-1", "err-ok-2"]) expect(await deliveredOffset(P, id, "err-src")).toBe(tail);
    expect(await deliveredOffset(P, "err-flaky", "err-src")).not.toBe(tail);

    const status = await subscribersObject(P, "err-src").status();
    expect(status?.lastError).toEqual({
      at: expect.any(Number),
      estuary: `${P}/err-flaky`,
      message: expect.stringContaining("injected delivery failure"),
    });
    expect(status?.lastError?.at).toBeGreaterThanOrEqual(before);
    // The flaky one is caught up on its own, by push too.
    await pushedAll(P, "err-src", 3);
    for (const id of ["err-ok-1", "err-ok-2", "err-flaky"]) expect(await readJson(P, id)).toEqual([{ n: 1 }]);
  });
});
