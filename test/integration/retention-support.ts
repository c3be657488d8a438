// Helpers of the retention tests: streams with a policy, appends, the object's stored rows, and alarms run by hand.
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { expect, vi } from "vitest";
import { formatOffset } from "../../src/protocol/offsets";
import type { StreamDO } from "../../src/stream/stream-do";
import { call, streamObject } from "./worker";

export const text = { "Content-Type": "text/plain" };

export interface TestStream {
  path: string;
  stub: DurableObjectStub<StreamDO>;
}

/** Creates `default/<name>` with the given Stream-Retention (and other headers). */
export async function createWithPolicy(name: string, retention: string, headers: Record<string, string> = text): Promise<TestStream> {
  const response = await call(`/v1/stream/${name}`, { method: "PUT", headers: { ...headers, "Stream-Retention": retention } });
  expect(response.status).toBe(201);
  return { path: `/v1/stream/${name}`, stub: streamObject(`default/${name}`) };
}

/** Appends `bodies` one POST each (one stored row each); returns the tail offset after each. */
export async function appendEach(path: string, bodies: readonly string[], headers: Record<string, string> = text): Promise<string[]> {
  const tails: string[] = [];
  for (const body of bodies) {
    const response = await call(path, { method: "POST", headers, body });
    expect(response.status).toBe(204);
    tails.push(response.headers.get("Stream-Next-Offset") ?? "");
  }
  return tails;
}

/** The stored rows' ranges and the stored earliest position, straight from SQLite. */
export function storedRows(stub: DurableObjectStub<StreamDO>): Promise<{ rows: number; first: number | null; earliest: number }> {
  return runInDurableObject(stub, (_instance, state) => {
    const sql = state.storage.sql;
    const rows = sql.exec<{ n: number; first: number | null }>("SELECT COUNT(*) AS n, MIN(start_pos) AS first FROM chunks").one();
    const earliest = sql.exec<{ earliest: number }>("SELECT earliest FROM stream").one().earliest;
    return { rows: rows.n, first: rows.first, earliest };
  });
}

/** Runs the object's alarm until a run deletes nothing more; returns how many runs deleted rows. */
export async function trimFully(stub: DurableObjectStub<StreamDO>): Promise<number> {
  let steps = 0;
  for (let before = await storedRows(stub); ; steps++) {
    await runDurableObjectAlarm(stub);
    const after = await storedRows(stub);
    if (after.rows === before.rows) return steps;
    before = after;
  }
}

/** Moves the clock seen by the Worker and its Durable Objects (they share the test isolate). */
export function advanceClock(ms: number): void {
  vi.useFakeTimers({ toFake: ["Date"] });
  vi.setSystemTime(Date.now() + ms);
}

/** The 410 of a read below the earliest: header, no-store, and the body naming both offsets. */
export async function expectTrimmed(response: Response, earliest: number, tail: number): Promise<void> {
  expect(response.status).toBe(410);
  expect(response.headers.get("Stream-Earliest-Offset")).toBe(formatOffset(earliest));
  expect(response.headers.get("Cache-Control")).toBe("no-store");
  expect(response.headers.get("Content-Type")).toBe("application/json");
  expect(await response.json()).toEqual({
    error: { code: "gone", message: expect.any(String), earliestOffset: formatOffset(earliest), tailOffset: formatOffset(tail) },
  });
}
