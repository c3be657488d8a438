// Live readers keep a stream with a TTL alive: an open WebSocket (across hibernation), a long-poll
// or an SSE connection waiting at the tail count as reads for as long as they are connected, so the
// expiry alarm spares the stream; once the last one leaves, the TTL counts from that moment.
import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { StreamLog } from "../../src/stream/log";
import type { StreamDO } from "../../src/stream/stream-do";
import { eventually } from "./estuary-support";
import { call, expectError, restart, streamObject } from "./worker";

const TTL_S = 3600;
const TTL_MS = TTL_S * 1000;
const json = { "Content-Type": "application/json" };

afterEach(() => {
  vi.useRealTimers();
});

/** Sets the clock seen by the Worker and its Durable Objects (they share the test isolate). */
function setClock(at: number): void {
  vi.useFakeTimers({ toFake: ["Date"] });
  vi.setSystemTime(at);
}

/** The stream row as stored, read straight from SQLite. */
function stored(stub: DurableObjectStub<StreamDO>): Promise<{ status: string; lastAccess: number }> {
  return runInDurableObject(stub, (_instance, state) => {
    const row = state.storage.sql.exec<{ status: string; last_access: number }>("SELECT status, last_access FROM stream").one();
    return { status: row.status, lastAccess: row.last_access };
  });
}

/** Live readers of a kind parked at the tail, as the object counts them. */
function parked(stub: DurableObjectStub<StreamDO>, kind: "long-poll" | "sse"): Promise<number> {
  return runInDurableObject(stub, (instance: StreamDO) => (instance as unknown as { log: StreamLog }).log.waiters.count(kind));
}

async function create(name: string): Promise<{ path: string; stub: DurableObjectStub<StreamDO>; created: number }> {
  const path = `/v1/stream/${name}`;
  expect((await call(path, { method: "PUT", headers: { ...json, "Stream-TTL": String(TTL_S) }, body: "[0]" })).status).toBe(201);
  const stub = streamObject(`default/${name}`);
  return { path, stub, created: (await stored(stub)).lastAccess };
}

/** When the object's alarm is set. */
async function alarmAt(stub: DurableObjectStub<StreamDO>): Promise<number> {
  const at = await runInDurableObject(stub, (_instance, state) => state.storage.getAlarm());
  if (at === null) throw new Error("no alarm set");
  return at;
}

/** Runs the object's alarm (as the runtime would at the stream's expiry) and returns the stored status. */
async function alarmThenStatus(stub: DurableObjectStub<StreamDO>): Promise<string> {
  expect(await runDurableObjectAlarm(stub)).toBe(true);
  return (await stored(stub)).status;
}

describe("live readers and a stream's TTL", () => {
  it("an open WebSocket keeps the stream alive across hibernation; the TTL counts from its close", async () => {
    const { path, stub, created } = await create("live-ttl-ws");
    const response = await call(`${path}?offset=-1&live=ws`, { headers: { Upgrade: "websocket" } });
    const ws = response.webSocket;
    if (!ws) throw new Error("no WebSocket in the 101");
    ws.accept();
    const frames: string[] = [];
    const closed = new Promise<void>((resolve) => ws.addEventListener("close", () => resolve()));
    const framed = () => new Promise<void>((resolve) => ws.addEventListener("message", (event) => resolve(void frames.push(String(event.data))), { once: true }));
    await framed();

    // Hibernated with the socket open and no traffic, then woken by its alarm long after the TTL.
    await evictDurableObject(stub, { webSockets: "hibernate" });
    setClock(created + 2 * TTL_MS);
    expect(await alarmThenStatus(stub)).toBe("active");
    const next = framed();
    expect((await call(path, { method: "POST", headers: json, body: "[1]" })).status).toBe(204);
    await next;
    expect(JSON.parse(frames.at(-1) ?? "{}")).toMatchObject({ data: [1] });

    // The last reader leaves; the object then loses its memory: the row must say when.
    const closedAt = created + 2.5 * TTL_MS;
    setClock(closedAt);
    ws.close(1000);
    await closed;
    await restart(stub);
    setClock(closedAt + TTL_MS - 1_000);
    expect(await alarmThenStatus(stub)).toBe("active");
    setClock(closedAt + TTL_MS * 1.1 + 1_000);
    expect(await alarmThenStatus(stub)).toBe("deleted");
    await expectError(await call(`${path}?offset=-1`), 404, "not_found");
  });

  it("idle sockets dropped by a restart (no close events) leave the stream at least half its TTL", async () => {
    const { path, stub } = await create("live-ttl-restart");
    const response = await call(`${path}?offset=now&live=ws`, { headers: { Upgrade: "websocket" } });
    expect(response.status).toBe(101);
    response.webSocket?.accept();
    // Nothing but the object's own alarms for a few TTLs: each finds the socket open and slides.
    for (let round = 0; round < 4; round++) {
      setClock(await alarmAt(stub));
      expect(await alarmThenStatus(stub)).toBe("active");
    }
    // Dropped just before the next alarm; the row's last access is all that is left.
    const droppedAt = (await alarmAt(stub)) - 1_000;
    setClock(droppedAt);
    await evictDurableObject(stub, { webSockets: "close" });
    setClock(droppedAt + TTL_MS / 2);
    expect(await alarmThenStatus(stub)).toBe("active");
    setClock(droppedAt + TTL_MS * 1.1 + 1_000);
    expect(await alarmThenStatus(stub)).toBe("deleted");
  });

  it("a long-poll waiting at the tail keeps the stream alive, and gets its 204", async () => {
    const { path, stub, created } = await create("live-ttl-poll");
    const poll = call(`${path}?offset=now&live=long-poll`);
    await eventually(async () => expect(await parked(stub, "long-poll")).toBe(1));
    setClock(created + 2 * TTL_MS);
    expect(await alarmThenStatus(stub)).toBe("active");
    expect((await poll).status).toBe(204);

    // With no alarm during the wait, the end of the wait slides the TTL as its start did.
    const again = call(`${path}?offset=now&live=long-poll`);
    await eventually(async () => expect(await parked(stub, "long-poll")).toBe(1));
    setClock(created + 4 * TTL_MS);
    expect((await again).status).toBe(204);
    // It was connected until its answer: the TTL counts from then.
    setClock(created + 5 * TTL_MS - 1_000);
    expect(await alarmThenStatus(stub)).toBe("active");
  });

  it("an SSE connection waiting at the tail keeps the stream alive and gets the next append", async () => {
    const { path, stub, created } = await create("live-ttl-sse");
    const response = await call(`${path}?offset=now&live=sse`);
    expect(response.status).toBe(200);
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toContain("event: control");
    await eventually(async () => expect(await parked(stub, "sse")).toBe(1));
    setClock(created + 2 * TTL_MS);
    expect(await alarmThenStatus(stub)).toBe("active");
    expect((await call(path, { method: "POST", headers: json, body: '["after"]' })).status).toBe(204);
    let text = "";
    while (!text.includes('"after"')) text += new TextDecoder().decode((await reader.read()).value);
    await reader.cancel();
  });
});
