// Helpers for the cold tier tests: patterned data, catch-up walks, and a look at a stream's segments.
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { expect } from "vitest";
import type { ColdOffload } from "../../src/stream/cold/offload";
import { generationPrefix } from "../../src/stream/cold/segment-keys";
import type { StreamLog } from "../../src/stream/log";
import type { StreamDO } from "../../src/stream/stream-do";
import { call, streamObject } from "./worker";

export const octets = { "Content-Type": "application/octet-stream" };

/** Bytes whose value depends on the position and on a seed, so misplaced or stale bytes show. */
export function patterned(length: number, seed = 0): Uint8Array {
  const data = new Uint8Array(length);
  for (let index = 0; index < length; index++) data[index] = (index % 251) ^ ((index >>> 12) * 31) ^ seed;
  return data;
}

export function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

export interface Page {
  offset: string;
  body: Uint8Array;
  next: string;
}

/** Follows Stream-Next-Offset from `offset` until a response is up to date. */
export async function catchUp(path: string, offset = "-1"): Promise<Page[]> {
  const pages: Page[] = [];
  for (let request = 0; request < 200; request++) {
    const response = await call(`${path}?offset=${offset}`);
    expect(response.status).toBe(200);
    const next = response.headers.get("Stream-Next-Offset") ?? "";
    pages.push({ offset, body: new Uint8Array(await response.arrayBuffer()), next });
    if (response.headers.get("Stream-Up-To-Date") === "true") return pages;
    offset = next;
  }
  throw new Error(`${path} never reported Stream-Up-To-Date`);
}

export function logOf(instance: StreamDO): StreamLog {
  return (instance as unknown as { log: StreamLog }).log;
}

export function coldOf(instance: StreamDO): ColdOffload {
  return (instance as unknown as { cold: ColdOffload }).cold;
}

/** Runs the stream's alarm (the offload task among others) until nothing is due. */
export async function runAlarms(key: string, times = 10): Promise<void> {
  for (let run = 0; run < times; run++) if (!(await runDurableObjectAlarm(streamObject(key)))) return;
}

export interface SegmentView {
  start: number;
  end: number;
  key: string;
  bytes: number;
  messages: number;
}

export function segmentsOf(key: string): Promise<SegmentView[]> {
  return runInDurableObject(streamObject(key), (_instance: StreamDO, state) =>
    state.storage.sql
      .exec<{ start_pos: number; end_pos: number; object_key: string; bytes: number; messages: number }>(
        "SELECT start_pos, end_pos, object_key, bytes, messages FROM cold_segments ORDER BY start_pos",
      )
      .toArray()
      .map((row) => ({ start: row.start_pos, end: row.end_pos, key: row.object_key, bytes: row.bytes, messages: row.messages })),
  );
}

/** The stream's generation, as the object keeps it. */
export function generationOf(key: string): Promise<number> {
  return runInDurableObject(streamObject(key), (instance: StreamDO) => logOf(instance).meta?.generation ?? -1);
}

/** Keys of one generation's objects in the bucket. */
export async function objectKeys(key: string, generation: number): Promise<string[]> {
  const listed = await env.COLD_SEGMENTS.list({ prefix: generationPrefix(key, generation) });
  return listed.objects.map((object) => object.key);
}

/** Writes `total` patterned bytes in appends of `appendBytes`; returns what was written. */
export async function fill(path: string, total: number, appendBytes: number, seed = 0): Promise<Uint8Array> {
  const data = patterned(total, seed);
  for (let offset = 0; offset < total; offset += appendBytes) {
    const response = await call(path, { method: "POST", headers: octets, body: data.subarray(offset, offset + appendBytes) });
    expect(response.status).toBe(204);
  }
  return data;
}
