// Expiry by alarm: a stream past its TTL or Stream-Expires-At is deleted by the StreamDO's alarm, unprompted.
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { StreamDO } from "../../src/stream/stream-do";
import { call, expectError, streamObject } from "./worker";

const HOUR_MS = 3_600_000;
const text = { "Content-Type": "text/plain" };

afterEach(() => {
  vi.useRealTimers();
});

/** What the object has stored, read straight from SQLite without going through its methods. */
function stored(stub: DurableObjectStub<StreamDO>) {
  return runInDurableObject(stub, async (_instance, state) => ({
    status: state.storage.sql.exec<{ status: string }>("SELECT status FROM stream").one().status,
    rows: state.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM chunks").one().n,
    alarm: await state.storage.getAlarm(),
  }));
}

/** A new stream joins its project's stream registry through its outbox: lets that alarm run first. */
async function registered(stub: DurableObjectStub<StreamDO>): Promise<void> {
  expect(await runDurableObjectAlarm(stub)).toBe(true);
}

/** Moves the clock seen by the Worker and its Durable Objects (they share the test isolate). */
function advanceClock(ms: number): void {
  vi.useFakeTimers({ toFake: ["Date"] });
  vi.setSystemTime(Date.now() + ms);
}

describe("stream expiry", () => {
  it("deletes a stream whose TTL has passed when its alarm fires, before any request touches it", async () => {
    const path = "/v1/stream/expiry-ttl";
    const stub = streamObject("default/expiry-ttl");
    const created = await call(path, { method: "PUT", headers: { ...text, "Stream-TTL": "3600" }, body: "ephemeral" });
    expect(created.status).toBe(201);
    expect(await stored(stub)).toMatchObject({ status: "active", rows: 1, alarm: expect.any(Number) });

    advanceClock(HOUR_MS + 1_000);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await stored(stub)).toEqual({ status: "deleted", rows: 0, alarm: null });

    // Back on the real clock the TTL has not passed, so only the alarm can have deleted it.
    vi.useRealTimers();
    await expectError(await call(path), 404, "not_found");
  });

  it("keeps a stream whose alarm fires before the TTL has passed, and re-arms the alarm", async () => {
    const path = "/v1/stream/expiry-early";
    const stub = streamObject("default/expiry-early");
    expect((await call(path, { method: "PUT", headers: { ...text, "Stream-TTL": "3600" }, body: "still here" })).status).toBe(
      201,
    );
    await registered(stub);
    const { alarm: due } = await stored(stub);

    advanceClock(HOUR_MS / 2);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await stored(stub)).toEqual({ status: "active", rows: 1, alarm: due });
    expect(await (await call(`${path}?offset=-1`)).text()).toBe("still here");
  });

  it("slides the TTL on reads, so the alarm spares a recently read stream", async () => {
    const path = "/v1/stream/expiry-sliding";
    const stub = streamObject("default/expiry-sliding");
    expect((await call(path, { method: "PUT", headers: { ...text, "Stream-TTL": "3600" }, body: "read me" })).status).toBe(
      201,
    );

    advanceClock(HOUR_MS / 2);
    expect(await (await call(`${path}?offset=-1`)).text()).toBe("read me");
    advanceClock(HOUR_MS / 2 + 1_000);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await stored(stub)).toMatchObject({ status: "active", rows: 1 });

    advanceClock(HOUR_MS);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await stored(stub)).toEqual({ status: "deleted", rows: 0, alarm: null });
  });

  it("deletes a stream at its Stream-Expires-At instant when the alarm fires", async () => {
    const path = "/v1/stream/expiry-at";
    const stub = streamObject("default/expiry-at");
    const expiresAt = new Date(Date.now() + HOUR_MS).toISOString();
    const created = await call(path, { method: "PUT", headers: { ...text, "Stream-Expires-At": expiresAt }, body: "x" });
    expect(created.status).toBe(201);
    await registered(stub);
    expect((await stored(stub)).alarm).toBe(Date.parse(expiresAt));

    advanceClock(HOUR_MS + 1_000);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await stored(stub)).toEqual({ status: "deleted", rows: 0, alarm: null });
  });

  it("has no alarm for a stream without an expiry", async () => {
    const stub = streamObject("default/expiry-none");
    expect((await call("/v1/stream/expiry-none", { method: "PUT", headers: text, body: "forever" })).status).toBe(201);
    await registered(stub);
    expect(await runDurableObjectAlarm(stub)).toBe(false);
    expect(await stored(stub)).toEqual({ status: "active", rows: 1, alarm: null });
  });
});
