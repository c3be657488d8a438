// Retention gaps: a subscriber whose position the source trimmed past the hold caps jumps to the
// earliest offset exactly once, the gap is recorded on its status route, and a CloudEvents estuary
// receives one gap event in order.
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { sinkObjectName } from "../../src/contract/sinks";
import { catchUp } from "../../src/fanout/deliver";
import type { SinkDO } from "../../src/sinks/sink-do";
import { sinkStub } from "../../src/sinks/stub";
import { fanoutStub } from "../../src/fanout/stub";
import { formatOffset } from "../../src/protocol/offsets";
import { advanceClock, appendEach, createWithPolicy, storedRows, text, trimFully } from "./retention-support";
import { call, restart, streamObject } from "./worker";

afterEach(() => {
  vi.useRealTimers();
});

const DAY_MS = 86_400_000;

/** Five 10-byte messages, one row each: max-messages=1 keeps the last. */
const MESSAGES = ["message-00", "message-01", "message-02", "message-03", "message-04"];

/** A source trimmed to its last message ([40, 50)) and an estuary subscribed to it at 0 that never received anything. */
async function laggingEstuary(name: string, cloudEvents: boolean) {
  const { path, stub } = await createWithPolicy(name, "max-messages=1");
  await appendEach(path, MESSAGES);
  await trimFully(stub);
  expect(await storedRows(stub)).toEqual({ rows: 1, first: 40, earliest: 40 });
  const source = `default/${name}`;
  const estuary = `default/${name}-inbox`;
  const envelope = cloudEvents ? { envelope: "cloudevents" as const, typePrefix: "com.acme.news", sourceGeneration: 1 } : undefined;
  const contentType = "text/plain";
  // Attached at 0 as a subscription made before the trim would be: the source held nothing for it.
  const attached = await streamObject(estuary).attachSource({ source, contentType, position: 0, name: estuary, ttlSeconds: 3600, maxSources: 10, envelope });
  expect(attached.ok).toBe(true);
  return { source, estuary, estuaryPath: `/v1/stream/${estuary}`, describe: () => call(`/v1/estuary/${estuary}`).then((r) => r.json<Described>()) };
}

interface Described {
  subscriptions: { deliveredOffset: string; gaps?: { count: number; bytesLost: number; messagesLost: number; last: { fromOffset: string; toOffset: string; messages: number | null; bytes: number } } }[];
}

describe("an estuary whose position was trimmed", () => {
  it("jumps to the earliest offset once, records the gap, and then receives what is kept", async () => {
    const { source, estuary, estuaryPath, describe: described } = await laggingEstuary("gap-raw", false);
    const first = await catchUp(env, source, estuary, 0, 50);
    expect(first).toMatchObject({ kind: "delivered", applied: 50 });
    // A retry of the same repair (or a re-delivered job) finds the estuary past the gap: no second gap.
    expect(await catchUp(env, source, estuary, 0, 50)).toMatchObject({ kind: "delivered", applied: 50 });
    await restart(streamObject(estuary));
    const status = await described();
    expect(status.subscriptions[0]).toMatchObject({
      deliveredOffset: formatOffset(50),
      gaps: { count: 1, bytesLost: 40, messagesLost: 4, last: { fromOffset: formatOffset(0), toOffset: formatOffset(40), messages: 4, bytes: 40 } },
    });
    expect(await (await call(`${estuaryPath}?offset=-1`)).text()).toBe("message-04");
  });

  it("with CloudEvents receives one gap event, in order before the kept messages, even across a restart", async () => {
    const { source, estuary, estuaryPath } = await laggingEstuary("gap-events", true);
    await catchUp(env, source, estuary, 0, 40);
    await restart(streamObject(estuary));
    await catchUp(env, source, estuary, 0, 50);
    const events = await (await call(`${estuaryPath}?offset=-1`)).json<{ id: string; type: string; data: unknown }[]>();
    expect(events.map((event) => event.type)).toEqual(["com.acme.news.gap", "com.acme.news.appended"]);
    expect(events[0]).toMatchObject({ id: `1_${formatOffset(0)}_gap`, data: { fromOffset: formatOffset(0), toOffset: formatOffset(40), messages: 4, bytes: 40 } });
    expect(events[1]).toMatchObject({ id: `1_${formatOffset(40)}`, data: "message-04" });
  });

  it("is repaired by the fan-out object's own rounds", async () => {
    const { source, estuary, describe: described } = await laggingEstuary("gap-fanout", false);
    const fanout = fanoutStub(env, source);
    const added = await fanout.subscribe({ source, estuaries: [{ estuary, position: 0 }], maxSubscribers: 100 });
    expect(added.ok).toBe(true);
    for (let run = 0; run < 5 && (await described()).subscriptions[0]?.deliveredOffset !== formatOffset(50); run++) await runDurableObjectAlarm(fanout);
    expect((await described()).subscriptions[0]).toMatchObject({ deliveredOffset: formatOffset(50), gaps: { count: 1, bytesLost: 40, messagesLost: 4 } });
  });
});

describe("a data sink whose position was trimmed", () => {
  it("tells its receiver of the gap once (retried under one webhook-id), jumps, and shows the gap on its status", async () => {
    const name = "gap-sink";
    const { path, stub } = await createWithPolicy(name, "max-messages=1");
    // The receiver refuses everything until `open`; then it refuses the first gap notice once.
    let open = false;
    let refusedGap = false;
    const requests: { id: string; type: string; body: string }[] = [];
    await runInDurableObject(sinkStub(env, sinkObjectName(`default/${name}`, "wh")), (instance: SinkDO) => {
      instance.fetcher = async (_url, init) => {
        const headers = new Headers(init.headers);
        const body = new TextDecoder().decode(init.body as Uint8Array);
        requests.push({ id: headers.get("webhook-id") ?? "", type: headers.get("content-type") ?? "", body });
        const gapNotice = headers.get("content-type") === "application/cloudevents+json";
        if (open && gapNotice && !refusedGap) {
          refusedGap = true;
          return new Response(null, { status: 500 });
        }
        return new Response(null, { status: open ? 200 : 503 });
      };
    });
    const created = await call(`/v1/estuary/subscribe/default/${name}`, { method: "POST", headers: text, body: JSON.stringify({ sink: { id: "wh", url: "https://receiver.example/hook" }, from: "-1" }) });
    expect(created.status).toBe(201);
    await appendEach(path, MESSAGES);
    const sink = sinkStub(env, sinkObjectName(`default/${name}`, "wh"));
    await runDurableObjectAlarm(sink);
    // Held at 0 by the failing sink until the cap; then trimmed past it.
    await trimFully(stub);
    expect((await storedRows(stub)).earliest).toBe(0);
    advanceClock(8 * DAY_MS);
    await trimFully(stub);
    expect((await storedRows(stub)).earliest).toBe(40);
    open = true;
    await sink.enable();
    for (let run = 0; run < 5 && (await sink.state())?.deliveredOffset !== formatOffset(50); run++) {
      // The refused notice waits out its backoff like any batch.
      if ((await sink.state())?.state === "retrying") advanceClock(60_000);
      await runDurableObjectAlarm(sink);
    }
    await restart(streamObject(`default/${name}`));
    await runDurableObjectAlarm(sink);
    const gaps = requests.filter((request) => request.type === "application/cloudevents+json");
    // Refused once, then taken: the same notice under the same webhook-id, and nothing after.
    expect(gaps).toHaveLength(2);
    expect(gaps[0]?.id).toBe(gaps[1]?.id);
    expect(JSON.parse(gaps[1]?.body ?? "{}")).toMatchObject({
      type: "durable-estuary.stream.gap",
      source: `/v1/stream/default/${name}`,
      data: { fromOffset: formatOffset(0), toOffset: formatOffset(40), messages: 4, bytes: 40 },
    });
    expect(requests.at(-1)?.body).toBe("message-04");
    expect(await sink.state()).toMatchObject({ deliveredOffset: formatOffset(50), state: "active", gaps: { count: 1, bytesLost: 40, messagesLost: 4 } });
  });
});

describe("the messages a gap lost", () => {
  it("are counted where a subscriber held the trim when it went past the cap, and unknown elsewhere", async () => {
    const { path, stub } = await createWithPolicy("gap-count", "max-messages=1");
    await appendEach(path, MESSAGES);
    expect((await stub.linkSink("counted")).ok).toBe(true);
    await fanoutStub(env, "default/gap-count").sinkAdded({ sinkId: "counted", incarnation: "one", required: true, position: 20 });
    advanceClock(8 * DAY_MS);
    await trimFully(stub);
    expect((await storedRows(stub)).earliest).toBe(40);
    const at = (from: number) => stub.readSlice({ from, limit: 50, maxBytes: 1000, stopAtAppendEnd: false });
    expect(await at(20)).toMatchObject({ ok: false, code: "gone", details: { earliestOffset: formatOffset(40), lostMessages: "2" } });
    expect(await at(0)).toMatchObject({ details: { lostMessages: "4" } });
    expect(((await at(10)) as { details?: Record<string, string> }).details?.lostMessages).toBeUndefined();
  });
});

describe("a pulled estuary whose position was trimmed", () => {
  it("jumps over the gap on its next read, once", async () => {
    const { source, estuary, estuaryPath, describe: described } = await laggingEstuary("gap-pull", false);
    // Above FANOUT_PULL_THRESHOLD (3 in tests) subscribers, only hot estuaries are pushed to: this one pulls on read.
    const others = ["a", "b", "c"].map((n) => ({ estuary: `default/gap-pull-other-${n}`, position: 50 }));
    expect((await fanoutStub(env, source).subscribe({ source, estuaries: [{ estuary, position: 0 }, ...others], maxSubscribers: 100 })).ok).toBe(true);
    await appendEach("/v1/stream/gap-pull", ["message-05"]);
    expect(await (await call(`${estuaryPath}?offset=-1`)).text()).toBe("message-04message-05");
    expect(await (await call(`${estuaryPath}?offset=-1`)).text()).toBe("message-04message-05");
    expect((await described()).subscriptions[0]).toMatchObject({ deliveredOffset: formatOffset(60), gaps: { count: 1, bytesLost: 40, messagesLost: 4 } });
  });
});

describe("a __ds subscription whose acked offset was trimmed", () => {
  it("jumps to the earliest offset once, with the gap on its GET", async () => {
    const path = "/v1/stream/gapds/a";
    expect((await call(path, { method: "PUT", headers: { ...text, "Stream-Retention": "max-messages=1" } })).status).toBe(201);
    expect((await call("/v1/stream/gapds/wake", { method: "PUT", headers: { "Content-Type": "application/json" } })).status).toBe(201);
    const subscription = "/v1/stream/__ds/subscriptions/gap-ds";
    const body = JSON.stringify({ type: "pull-wake", streams: ["gapds/a"], wake_stream: "gapds/wake" });
    expect((await call(subscription, { method: "PUT", headers: { "Content-Type": "application/json" }, body })).status).toBe(201);
    await appendEach(path, MESSAGES);
    const stub = streamObject("gapds/a");
    advanceClock(8 * DAY_MS);
    await trimFully(stub);
    expect((await storedRows(stub)).earliest).toBe(40);
    // The trim's outbox tells the subscription; a repeat of the call changes nothing.
    await runDurableObjectAlarm(stub);
    await runDurableObjectAlarm(stub);
    const view = await (await call(subscription)).json<{ streams: { path: string; acked_offset: string; gaps?: unknown }[] }>();
    expect(view.streams).toEqual([
      { path: "gapds/a", link_type: "explicit", acked_offset: formatOffset(40), gaps: { count: 1, bytesLost: 40, messagesLost: 4, last: expect.objectContaining({ fromOffset: formatOffset(0), toOffset: formatOffset(40), messages: 4 }) } },
    ]);
  });
});

describe("an estuary's own retention", () => {
  it("keeps each source's applied position when it trims the rows that carried it, so a restart re-applies nothing", async () => {
    const source = "gap-own-source";
    expect((await call(`/v1/stream/${source}`, { method: "PUT", headers: text })).status).toBe(201);
    await appendEach(`/v1/stream/${source}`, MESSAGES.slice(0, 3));
    const estuary = "default/gap-own-inbox";
    const attached = await streamObject(estuary).attachSource({ source: `default/${source}`, contentType: "text/plain", position: 0, name: estuary, ttlSeconds: 30 * 86_400, maxSources: 10 });
    expect(attached.ok).toBe(true);
    expect(await catchUp(env, `default/${source}`, estuary, 0, 30)).toMatchObject({ kind: "delivered", applied: 30 });
    // ESTUARY_RETENTION keeps a week: past it, every row the deliveries wrote is trimmed.
    advanceClock(8 * DAY_MS);
    // A delivery plans no alarm of its own: run the estuary's alarm as its age task would.
    await runInDurableObject(streamObject(estuary), (instance) => instance.alarm());
    expect((await storedRows(streamObject(estuary))).rows).toBe(0);
    await restart(streamObject(estuary));
    expect(await catchUp(env, `default/${source}`, estuary, 0, 30)).toMatchObject({ kind: "delivered", applied: 30 });
    expect((await storedRows(streamObject(estuary))).rows).toBe(0);
  });
});
