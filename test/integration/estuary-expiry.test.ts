// Estuary expiry: after ESTUARY_TTL_SECONDS without a subscribe or a read (deliveries do not count),
// the estuary's alarm ends its subscriptions and deletes it.
import { runDurableObjectAlarm } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createSource, estuaryObject, eventually, publish, readJson, subscribe } from "./estuary-support";
import { call, expectError } from "./worker";

const P = "expiry";
const TTL_MS = 86_400_000;

afterEach(() => {
  vi.useRealTimers();
});

/** Moves the clock seen by the Worker and its Durable Objects (they share the test isolate). */
function advanceClock(ms: number): void {
  vi.useFakeTimers({ toFake: ["Date"] });
  vi.setSystemTime(Date.now() + ms);
}

async function subscriberCount(source: string): Promise<number> {
  const response = await call(`/v1/estuary/subscribers/${P}/${source}`);
  return (await response.json<{ subscribers: number }>()).subscribers;
}

describe("estuary expiry", () => {
  it("removes an estuary nobody read or subscribed for its TTL, even though deliveries kept arriving", async () => {
    await createSource(P, "feed");
    expect(await subscribe(P, "feed", "idle")).toBe(201);

    advanceClock(TTL_MS - 60_000);
    await publish(P, "feed", [{ n: 1 }]);
    // Wait for the delivery without reading the estuary (a read would slide its TTL).
    await eventually(async () => {
      const described = await (await call(`/v1/estuary/${P}/idle`)).json<{ subscriptions: { deliveredOffset: string }[] }>();
      expect(described.subscriptions[0]?.deliveredOffset).not.toBe("0000000000000000_0000000000000000");
    });

    advanceClock(120_000);
    expect(await runDurableObjectAlarm(estuaryObject(P, "idle"))).toBe(true);

    await expectError(await call(`/v1/stream/${P}/idle`), 404, "not_found");
    expect(await subscriberCount("feed")).toBe(0);
    await publish(P, "feed", [{ n: 2 }]);
    expect(await readJson(P, "feed")).toEqual([{ n: 1 }, { n: 2 }]);
  });

  it("keeps an estuary that was read within its TTL, with its subscription", async () => {
    await createSource(P, "news");
    expect(await subscribe(P, "news", "reader")).toBe(201);

    advanceClock(TTL_MS - 60_000);
    expect(await readJson(P, "reader")).toEqual([]);
    advanceClock(120_000);
    expect(await runDurableObjectAlarm(estuaryObject(P, "reader"))).toBe(true);

    expect(await subscriberCount("news")).toBe(1);
    await publish(P, "news", [{ n: 1 }]);
    await eventually(async () => expect(await readJson(P, "reader")).toEqual([{ n: 1 }]));
  });
});
