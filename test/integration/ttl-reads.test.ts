// Reads of a stream with a TTL: they slide the TTL without writing a row each (catch-up, long-poll
// and SSE reads), the slide is stored once it moved by a tenth of the TTL, and after an eviction the
// stream lives at least its TTL from the last read and at most 1.1 × TTL.
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { StreamLog } from "../../src/stream/log";
import type { StreamDO } from "../../src/stream/stream-do";
import { call, expectError, restart, streamObject } from "./worker";

const TTL_S = 3600;
const TTL_MS = TTL_S * 1000;
const ttlStream = { "Content-Type": "text/plain", "Stream-TTL": String(TTL_S) };

afterEach(() => {
  vi.useRealTimers();
});

/** Sets the clock seen by the Worker and its Durable Objects (they share the test isolate). */
function setClock(at: number): void {
  vi.useFakeTimers({ toFake: ["Date"] });
  vi.setSystemTime(at);
}

/** SQLite rows the object's stream repository has written since it started. */
function rowsWritten(stub: DurableObjectStub<StreamDO>): Promise<number> {
  return runInDurableObject(stub, (instance: StreamDO) => (instance as unknown as { log: StreamLog }).log.repo.rowsWritten);
}

/** The stream row as stored, read straight from SQLite. */
function stored(stub: DurableObjectStub<StreamDO>): Promise<{ status: string; lastAccess: number }> {
  return runInDurableObject(stub, (_instance, state) => {
    const row = state.storage.sql.exec<{ status: string; last_access: number }>("SELECT status, last_access FROM stream").one();
    return { status: row.status, lastAccess: row.last_access };
  });
}

async function create(name: string): Promise<{ path: string; stub: DurableObjectStub<StreamDO> }> {
  const path = `/v1/stream/${name}`;
  expect((await call(path, { method: "PUT", headers: ttlStream, body: "kept" })).status).toBe(201);
  return { path, stub: streamObject(`default/${name}`) };
}

async function readAll(path: string): Promise<void> {
  const response = await call(`${path}?offset=-1`);
  expect(response.status).toBe(200);
  expect(await response.text()).toBe("kept");
}

/** Opens an SSE read, takes its first event (the catch-up), and hangs up. */
async function sseRead(path: string): Promise<void> {
  const response = await call(`${path}?offset=-1&live=sse`);
  expect(response.status).toBe(200);
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const first = await reader.read();
  expect(new TextDecoder().decode(first.value)).toContain("data:kept");
  await reader.cancel();
}

describe("reads of a stream with a TTL", () => {
  it("write no row: catch-up, long-poll and SSE reads slide the TTL in memory", async () => {
    const { path, stub } = await create("ttl-reads-cost");
    const before = await rowsWritten(stub);

    for (let i = 0; i < 100; i++) await readAll(path);
    // Long-polls at the tail, side by side: each waits out LONG_POLL_TIMEOUT_MS (500 ms in tests).
    const polls = await Promise.all(Array.from({ length: 20 }, () => call(`${path}?offset=now&live=long-poll`)));
    expect(polls.map((response) => response.status)).toEqual(Array(20).fill(204));
    for (let i = 0; i < 5; i++) await sseRead(path);

    const reads = 100 + 20 + 5;
    const rowsPerRead = ((await rowsWritten(stub)) - before) / reads;
    expect(rowsPerRead).toBe(0);
  });

  it("store the slide once a tenth of the TTL has passed since the stored access: one row, then none again", async () => {
    const { path, stub } = await create("ttl-reads-persist");
    const { lastAccess: created } = await stored(stub);

    setClock(created + TTL_MS / 10 - 1_000);
    let before = await rowsWritten(stub);
    await readAll(path);
    expect((await rowsWritten(stub)) - before).toBe(0);
    expect((await stored(stub)).lastAccess).toBe(created);

    setClock(created + TTL_MS / 10 + 1_000);
    before = await rowsWritten(stub);
    await readAll(path);
    expect((await rowsWritten(stub)) - before).toBe(1);
    expect((await stored(stub)).lastAccess).toBe(created + TTL_MS / 10 + 1_000);

    before = await rowsWritten(stub);
    for (let i = 0; i < 10; i++) await readAll(path);
    expect((await rowsWritten(stub)) - before).toBe(0);
  });

  it("after an eviction, keep a stream read just before it for its TTL from that read, and expire it by 1.1 × TTL", async () => {
    const { path, stub } = await create("ttl-reads-evicted");
    const { lastAccess: created } = await stored(stub);

    // A read too soon after the stored access to be written, then the object is evicted.
    const readAt = created + 300_000;
    setClock(readAt);
    await readAll(path);
    expect((await stored(stub)).lastAccess).toBe(created);
    setClock(readAt + 3_000_000);
    await restart(stub);

    // Its alarm (due at creation + TTL) finds the stream alive: the unstored read still counts.
    setClock(readAt + TTL_MS - 1_000);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect((await stored(stub)).status).toBe("active");

    // At most a tenth of the TTL late.
    setClock(readAt + TTL_MS * 1.1 + 1_000);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect((await stored(stub)).status).toBe("deleted");
    await expectError(await call(path), 404, "not_found");
  });
});
