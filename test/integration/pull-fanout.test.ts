// Push to hot estuaries, pull on read for the rest. The test config sets FANOUT_PULL_THRESHOLD to 3,
// so a source with its 4 subscribers (the cap) pushes only to estuaries holding a read lease. Every
// estuary must end with exactly its sources' messages, each source's order kept.
import { abortAllDurableObjects, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { FanoutStatusBody } from "../../src/routes/estuary/schemas";
import type { StreamDO } from "../../src/stream/stream-do";
import { createSource, estuaryObject, eventually, publish, readJson, subscribe, subscribersObject } from "./estuary-support";
import { call } from "./worker";

const P = "pull";
const HOT_MS = 60_000; // ESTUARY_HOT_MS's default, which the test config keeps.
const json = { "Content-Type": "application/json" };

afterEach(() => {
  vi.useRealTimers();
});

/** Moves the clock the Worker and its objects see (they share the test isolate). */
function advanceClock(ms: number): void {
  vi.useFakeTimers({ toFake: ["Date"] });
  vi.setSystemTime(Date.now() + ms);
}

async function status(source: string): Promise<FanoutStatusBody> {
  const response = await call(`/v1/estuary/subscribers/${P}/${source}`);
  expect(response.status).toBe(200);
  return response.json();
}

/** Waits until fan-out has handed on everything published so far. */
async function settled(source: string): Promise<FanoutStatusBody> {
  let last: FanoutStatusBody | undefined;
  await eventually(async () => {
    last = await status(source);
    expect(last.fannedOutOffset).toBe(last.targetOffset);
    expect(last.pendingRepairs).toBe(0);
  });
  return last as FanoutStatusBody;
}

/** A source with four subscribers (so it pulls), named `${source}-1` .. `-4`. */
async function pulledAudience(source: string): Promise<string[]> {
  await createSource(P, source);
  const estuaries = [1, 2, 3, 4].map((n) => `${source}-${n}`);
  for (const id of estuaries) expect(await subscribe(P, source, id)).toBe(201);
  return estuaries;
}

const messages = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => ({ n: from + i }));

describe("pull fan-out", () => {
  it("pushes nothing to cold estuaries; their first read pulls every message once", async () => {
    const estuaries = await pulledAudience("cold");
    for (const n of [0, 1, 2]) await publish(P, "cold", [{ n }]);
    const before = await settled("cold");
    expect(before).toMatchObject({ subscribers: 4, hot: 0, pushed: 0, pulled: 4 });
    expect(before.cost.messagesDelivered).toBe(0);

    for (const id of estuaries) expect(await readJson(P, id)).toEqual(messages(0, 3));
    for (const id of estuaries) expect(await readJson(P, id)).toEqual(messages(0, 3));
    await eventually(async () => {
      const after = await status("cold");
      expect(after).toMatchObject({ hot: 4, pushed: 4, pulled: 0 });
      expect(after.cost.pullChecks).toBe(4);
      expect(after.cost.pullReads).toBe(4);
      expect(after.cost.messagesPulled).toBe(12);
      expect(after.cost.pullRowsWritten).toBeGreaterThan(0);
    });
  });

  it("a read makes an estuary hot: it is pushed to until its lease ends, then pulls again", async () => {
    const [reader] = await pulledAudience("lease");
    for (const n of [0, 1]) await publish(P, "lease", [{ n }]);
    expect(await readJson(P, reader as string)).toEqual(messages(0, 2));

    for (const n of [2, 3]) await publish(P, "lease", [{ n }]);
    // Only the hot estuary is pushed to: two messages, one estuary.
    await eventually(async () => expect((await settled("lease")).cost.messagesDelivered).toBe(2));
    expect(await readJson(P, reader as string)).toEqual(messages(0, 4));

    advanceClock(HOT_MS + 1);
    for (const n of [4, 5]) await publish(P, "lease", [{ n }]);
    const cold = await settled("lease");
    expect(cold.hot).toBe(0);
    expect(cold.cost.messagesDelivered).toBe(2);
    expect(await readJson(P, reader as string)).toEqual(messages(0, 6));
  });

  it("a publish pushed during a read's pull is applied once", async () => {
    const [id] = await pulledAudience("race");
    const estuary = id as string;
    for (const n of [0, 1, 2]) await publish(P, "race", [{ n }]);
    await settled("race");

    // While the pull reads the source, a publish lands and is pushed to the (now hot) estuary.
    // RPC methods are found on the class, so the class is patched, for the source's instance only.
    const source = estuaryObject(P, "race");
    let raced = false;
    const prototype = await runInDurableObject(source, (instance: StreamDO) => Object.getPrototypeOf(instance) as StreamDO);
    const sourceInstance = await runInDurableObject(source, (instance: StreamDO) => instance);
    const original = prototype.readSlice;
    prototype.readSlice = async function (this: StreamDO, input) {
      if (this === sourceInstance && !raced) {
        raced = true;
        await publish(P, "race", [{ n: 3 }]);
        await eventually(async () => expect((await status("race")).cost.messagesDelivered).toBeGreaterThan(0));
      }
      return original.call(this, input);
    };
    try {
      expect(await readJson(P, estuary)).toEqual(messages(0, 4));
    } finally {
      prototype.readSlice = original;
    }
    expect(raced).toBe(true);
    await publish(P, "race", [{ n: 4 }]);
    await settled("race");
    expect(await readJson(P, estuary)).toEqual(messages(0, 5));
  });

  it("an estuary fed by pulled and pushed sources holds each source's messages once, in order", async () => {
    await pulledAudience("mixed-a");
    await createSource(P, "mixed-b");
    // mixed-a-1 is also fed by mixed-b, whose single subscriber is pushed to.
    expect(await subscribe(P, "mixed-b", "mixed-a-1")).toBe(201);
    for (let n = 0; n < 6; n++) await publish(P, n % 2 === 0 ? "mixed-a" : "mixed-b", [{ src: n % 2 === 0 ? "a" : "b", n }]);
    await settled("mixed-a");
    await settled("mixed-b");
    const held = (await readJson(P, "mixed-a-1")) as { src: string; n: number }[];
    expect(held.filter((m) => m.src === "a").map((m) => m.n)).toEqual([0, 2, 4]);
    expect(held.filter((m) => m.src === "b").map((m) => m.n)).toEqual([1, 3, 5]);
    expect(held).toHaveLength(6);
  });

  it("a lease taken by an estuary that died before pulling still leaves it complete and exact", async () => {
    const [id] = await pulledAudience("crash");
    const estuary = id as string;
    for (const n of [0, 1]) await publish(P, "crash", [{ n }]);
    await settled("crash");
    // The lease call happens, then everything dies before the pull.
    expect(await subscribersObject(P, "crash").hot({ source: `${P}/crash`, estuary: `${P}/${estuary}` })).not.toBeNull();
    await abortAllDurableObjects();

    await publish(P, "crash", [{ n: 2 }]);
    // The push finds the estuary behind and catches it up from the source on its own.
    await eventually(async () => expect((await settled("crash")).cost.messagesDelivered).toBe(3));
    expect(await readJson(P, estuary)).toEqual(messages(0, 3));
  });

  it("unsubscribing and subscribing again while pulled starts the estuary over, exactly once", async () => {
    const [id] = await pulledAudience("resub");
    const estuary = id as string;
    for (const n of [0, 1]) await publish(P, "resub", [{ n }]);
    expect(await readJson(P, estuary)).toEqual(messages(0, 2));
    advanceClock(HOT_MS + 1); // Cold again.
    await publish(P, "resub", [{ n: 2 }]);
    await settled("resub");

    const removed = await call(`/v1/estuary/subscribe/${P}/resub`, { method: "DELETE", headers: json, body: JSON.stringify({ estuaryId: estuary }) });
    expect(removed.status).toBe(204);
    await publish(P, "resub", [{ n: 3 }]);
    expect(await subscribe(P, "resub", estuary)).toBe(201);
    await publish(P, "resub", [{ n: 4 }]);
    await settled("resub");
    // What it had, then only what came after it subscribed again (it was away for n = 2 and 3).
    expect(await readJson(P, estuary)).toEqual([{ n: 0 }, { n: 1 }, { n: 4 }]);
  });

  it("live sockets keep an estuary's lease renewed through its alarm", async () => {
    const [id] = await pulledAudience("ws");
    const estuary = estuaryObject(P, id as string);
    const upgrade = await call(`/v1/stream/${P}/${id}?offset=-1&live=ws`, { headers: { Upgrade: "websocket" } });
    expect(upgrade.status).toBe(101);
    const socket = upgrade.webSocket as WebSocket;
    socket.accept();
    expect((await status("ws")).hot).toBe(1);

    // Most of the lease later, the alarm renews it; past the first lease's end the estuary is still hot.
    advanceClock(HOT_MS * 0.8);
    expect(await runDurableObjectAlarm(estuary)).toBe(true);
    advanceClock(HOT_MS * 0.5);
    expect((await status("ws")).hot).toBe(1);
    await publish(P, "ws", [{ n: 0 }]);
    await eventually(async () => expect((await status("ws")).cost.messagesDelivered).toBe(1));
    socket.close();
  });
});

describe("bulk subscribe", () => {
  it("subscribes many estuaries in one request, with a result for each", async () => {
    await createSource(P, "bulk");
    expect((await call(`/v1/stream/${P}/bulk-plain`, { method: "PUT", headers: json })).status).toBe(201);
    expect(await subscribe(P, "bulk", "bulk-1")).toBe(201);
    const response = await call(`/v1/estuary/subscribe/${P}/bulk`, {
      method: "POST",
      headers: json,
      body: JSON.stringify({ estuaryIds: ["bulk-1", "bulk-2", "bulk-plain", "bulk-3", "bulk-4", "bulk-5"] }),
    });
    expect(response.status).toBe(200);
    const body = await response.json<{ results: { estuaryId: string; status: string; error?: { code: string } }[] }>();
    expect(body.results.map((r) => [r.estuaryId, r.status, r.error?.code])).toEqual([
      ["bulk-1", "existing", undefined],
      ["bulk-2", "created", undefined],
      ["bulk-plain", "failed", "conflict"], // not an estuary
      ["bulk-3", "created", undefined],
      ["bulk-4", "created", undefined],
      ["bulk-5", "failed", "conflict"], // the source's cap (4 in tests) is reached
    ]);
    expect((await status("bulk")).subscribers).toBe(4);
    // A refused estuary is left as it was: bulk-5 was not created.
    expect((await call(`/v1/stream/${P}/bulk-5`, { method: "HEAD" })).status).toBe(404);
  });

  it("refuses a body naming both estuaryId and estuaryIds, or too many estuaries, with a JSON 400", async () => {
    await createSource(P, "bulk-bad");
    for (const body of [
      { estuaryId: "a", estuaryIds: ["b"] },
      {},
      { estuaryIds: [] },
      { estuaryIds: Array.from({ length: 1_001 }, (_, i) => `e${i}`) },
      { estuaryIds: ["ok", "not/valid"] },
    ]) {
      const response = await call(`/v1/estuary/subscribe/${P}/bulk-bad`, { method: "POST", headers: json, body: JSON.stringify(body) });
      expect(response.status).toBe(400);
      expect(await response.json()).toMatchObject({ error: { code: "bad_request" } });
    }
  });
});
