// CloudEvents estuaries: each source message becomes one CloudEvents 1.0 JSON event carrying the id a
// data sink gives the same message, on every delivery path (push, pull, re-delivery), exactly once.
// The test config sets FANOUT_PULL_THRESHOLD to 3: a source with 4 subscribers pushes only to hot ones.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { streamStub } from "../../src/stream/stub";
import { cutBatch } from "../../src/sinks/batch";
import { buildBody } from "../../src/sinks/envelope";
import { createSource, estuaryObject, eventually, publish, pushedAll, readJson, settled } from "./estuary-support";
import { call, expectError, restart } from "./worker";

const P = "envelopes";
const SLICE_BYTES = 1 << 20;

type Event = Record<string, unknown>;

function subscribeWith(source: string, body: Record<string, unknown>): Promise<Response> {
  return call(`/v1/estuary/subscribe/${P}/${source}`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
}

async function createBinarySource(source: string): Promise<void> {
  const response = await call(`/v1/stream/${P}/${source}`, { method: "PUT", headers: { "Content-Type": "application/octet-stream" } });
  expect(response.status).toBe(201);
}

async function appendBytes(source: string, bytes: number[]): Promise<void> {
  const response = await call(`/v1/stream/${P}/${source}`, { method: "POST", headers: { "Content-Type": "application/octet-stream" }, body: new Uint8Array(bytes) });
  expect(response.status).toBe(204);
}

async function events(estuaryId: string, count: number): Promise<Event[]> {
  let held: Event[] = [];
  await eventually(async () => {
    held = (await readJson(P, estuaryId)) as Event[];
    expect(held).toHaveLength(count);
  });
  return held;
}

/** The source's whole range as fan-out reads it. */
async function sourceSlice(source: string) {
  const stub = streamStub(env, `${P}/${source}`);
  const head = await stub.head();
  if (!head.ok) throw new Error(`no source ${source}`);
  const slice = await stub.readSlice({ from: 0, limit: head.tail, maxBytes: SLICE_BYTES, stopAtAppendEnd: false });
  if (!slice.ok) throw new Error(`cannot read ${source}`);
  return { head, segments: slice.segments, tail: slice.next };
}

/** The events a CloudEvents data sink builds for every message of the source: the reference. */
async function sinkEvents(source: string, typePrefix: string): Promise<Event[]> {
  const { head, segments } = await sourceSlice(source);
  const batch = cutBatch(segments, 0, { messages: 1_000, bytes: SLICE_BYTES });
  const body = buildBody({ envelope: "cloudevents", typePrefix, source: `${P}/${source}`, generation: head.generation, contentType: head.contentType, readAt: 0, messages: batch.messages });
  return JSON.parse(new TextDecoder().decode(body.bytes)) as Event[];
}

/** `time` is when each estuary applied the message, so it differs between estuaries (and from a sink's). */
const withoutTime = (held: Event[]) => held.map(({ time: _time, ...rest }) => rest);

describe("CloudEvents estuaries", () => {
  it("turn each message of a JSON source into an event with the sink's id, in order, exactly once", async () => {
    await createSource(P, "orders");
    const before = Date.now();
    expect((await subscribeWith("orders", { estuaryId: "orders-ce", envelope: "cloudevents", typePrefix: "com.acme.orders" })).status).toBe(201);
    await publish(P, "orders", [{ n: 0 }, { n: 1 }]);
    await publish(P, "orders", [{ n: 2, s: "é" }]);
    // Pushed, all three (a read would pull what a push missed, so the status tells, before any read).
    await pushedAll(P, "orders", 3);

    const held = await events("orders-ce", 3);
    expect(held[0]).toEqual({
      specversion: "1.0",
      id: expect.any(String),
      source: "/v1/stream/envelopes/orders",
      type: "com.acme.orders.appended",
      time: expect.any(String),
      datacontenttype: "application/json",
      data: { n: 0 },
    });
    expect(held.map((event) => event.data)).toEqual([{ n: 0 }, { n: 1 }, { n: 2, s: "é" }]);
    for (const event of held) expect(Date.parse(event.time as string)).toBeGreaterThanOrEqual(before - 1);
    expect(new Set(held.map((event) => event.id)).size).toBe(3);
    expect(withoutTime(held)).toEqual(withoutTime(await sinkEvents("orders", "com.acme.orders")));

    // The whole range again, as a retried push or a queue redelivery would bring it: nothing changes.
    const { segments, tail } = await sourceSlice("orders");
    const again = await estuaryObject(P, "orders-ce").deliver({ source: `${P}/orders`, from: 0, to: tail, segments });
    expect(again.status).toBe("duplicate");
    expect(await readJson(P, "orders-ce")).toEqual(held);
    const head = await call(`/v1/stream/${P}/orders-ce`, { method: "HEAD" });
    expect(head.headers.get("Content-Type")).toBe("application/json");
  });

  it("carry data_base64 for a binary source, in an application/json estuary", async () => {
    await createBinarySource("blobs");
    expect((await subscribeWith("blobs", { estuaryId: "blobs-ce", envelope: "cloudevents" })).status).toBe(201);
    const head = await call(`/v1/stream/${P}/blobs-ce`, { method: "HEAD" });
    expect(head.headers.get("Content-Type")).toBe("application/json");
    await appendBytes("blobs", [0, 255, 1]);
    await events("blobs-ce", 1);
    // The envelope is kept with the subscription, not in memory only.
    await restart(estuaryObject(P, "blobs-ce"));
    await appendBytes("blobs", [2, 3]);

    const held = await events("blobs-ce", 2);
    expect(held.map((event) => event.data_base64)).toEqual(["AP8B", "AgM="]);
    for (const event of held) {
      expect(event).not.toHaveProperty("data");
      expect(event).toMatchObject({ type: "durable-estuary.stream.appended", datacontenttype: "application/octet-stream", source: "/v1/stream/envelopes/blobs" });
    }
    expect(withoutTime(held)).toEqual(withoutTime(await sinkEvents("blobs", "durable-estuary.stream")));
  });

  it("give a pulled estuary the same events as a pushed one", async () => {
    await createSource(P, "pulled");
    const estuaries = [1, 2, 3, 4].map((n) => `pulled-${n}`);
    for (const estuaryId of estuaries) expect((await subscribeWith("pulled", { estuaryId, envelope: "cloudevents" })).status).toBe(201);
    for (const n of [0, 1, 2]) await publish(P, "pulled", [{ n }]);
    expect((await settled(P, "pulled")).cost.messagesDelivered).toBe(0);

    // The first read pulls, and makes pulled-1 hot: the next two messages are pushed to it alone.
    expect(await readJson(P, "pulled-1")).toHaveLength(3);
    for (const n of [3, 4]) await publish(P, "pulled", [{ n }]);
    await eventually(async () => expect((await settled(P, "pulled")).cost.messagesDelivered).toBe(2));

    const pushed = await events("pulled-1", 5);
    const pulled = await events("pulled-2", 5);
    expect(pulled.map((event) => event.data)).toEqual([0, 1, 2, 3, 4].map((n) => ({ n })));
    expect(withoutTime(pushed)).toEqual(withoutTime(pulled));
    expect(withoutTime(pulled)).toEqual(withoutTime(await sinkEvents("pulled", "durable-estuary.stream")));
  });

  it("take one envelope for a whole bulk subscribe", async () => {
    await createBinarySource("bulk");
    const response = await subscribeWith("bulk", { estuaryIds: ["bulk-1", "bulk-2"], envelope: "cloudevents", typePrefix: "com.acme.bulk" });
    expect(response.status).toBe(200);
    const body = await response.json<{ results: { status: string }[] }>();
    expect(body.results.map((result) => result.status)).toEqual(["created", "created"]);
    await appendBytes("bulk", [7]);
    for (const id of ["bulk-1", "bulk-2"]) expect((await events(id, 1))[0]).toMatchObject({ type: "com.acme.bulk.appended", data_base64: "Bw==" });
    // The estuary says how each subscription writes.
    const described = await (await call(`/v1/estuary/${P}/bulk-1`)).json<{ subscriptions: unknown[] }>();
    expect(described.subscriptions).toEqual([expect.objectContaining({ source: `/v1/stream/${P}/bulk`, envelope: "cloudevents", typePrefix: "com.acme.bulk" })]);
  });

  it("refuse bad envelope fields with 400", async () => {
    await createSource(P, "bad");
    for (const body of [
      { estuaryId: "bad-1", envelope: "xml" },
      { estuaryId: "bad-1", envelope: 1 },
      { estuaryId: "bad-1", envelope: "cloudevents", typePrefix: "no spaces please" },
      { estuaryId: "bad-1", envelope: "cloudevents", typePrefix: "" },
      { estuaryId: "bad-1", envelope: "raw", typePrefix: "com.acme" },
      { estuaryId: "bad-1", typePrefix: "com.acme" },
    ]) {
      await expectError(await subscribeWith("bad", body), 400, "bad_request");
    }
    expect((await call(`/v1/stream/${P}/bad-1`, { method: "HEAD" })).status).toBe(404);
  });

  it("keep an estuary's content type: what every subscription writes must be it (409 otherwise)", async () => {
    await createBinarySource("bin-a");
    await createBinarySource("bin-b");
    expect((await subscribeWith("bin-a", { estuaryId: "mix", envelope: "cloudevents" })).status).toBe(201);
    // mix is application/json: the raw bytes of a binary source do not fit, its events do.
    await expectError(await subscribeWith("bin-b", { estuaryId: "mix" }), 409, "conflict");
    expect((await subscribeWith("bin-b", { estuaryId: "mix", envelope: "cloudevents" })).status).toBe(201);

    // The same subscription again: 200 with the same envelope, 409 with another.
    expect((await subscribeWith("bin-a", { estuaryId: "mix", envelope: "cloudevents" })).status).toBe(200);
    const message = await expectError(await subscribeWith("bin-a", { estuaryId: "mix" }), 409, "conflict");
    expect(message).toContain("cloudevents");
    await expectError(await subscribeWith("bin-a", { estuaryId: "mix", envelope: "cloudevents", typePrefix: "com.other" }), 409, "conflict");

    // A raw binary estuary cannot take events; a raw JSON estuary can (both write JSON messages).
    expect((await subscribeWith("bin-a", { estuaryId: "raw-bin" })).status).toBe(201);
    await expectError(await subscribeWith("bin-b", { estuaryId: "raw-bin", envelope: "cloudevents" }), 409, "conflict");
    await createSource(P, "json-a");
    await createSource(P, "json-b");
    expect((await subscribeWith("json-a", { estuaryId: "raw-json" })).status).toBe(201);
    expect((await subscribeWith("json-b", { estuaryId: "raw-json", envelope: "cloudevents" })).status).toBe(201);
    await publish(P, "json-a", [{ raw: true }]);
    await publish(P, "json-b", [{ wrapped: true }]);
    const held = await events("raw-json", 2);
    expect(held).toContainEqual({ raw: true });
    expect(held).toContainEqual(expect.objectContaining({ specversion: "1.0", data: { wrapped: true } }));
  });
});
