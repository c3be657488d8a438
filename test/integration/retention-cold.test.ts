// Retention on a stream with a cold tier: the trim drops whole cold segments, oldest first, before
// the hot rows, by messages, bytes and age; their R2 objects go through the outbox and no others;
// a trimmed cold offset answers 410 (catch-up, cached page, a read that loses its segment mid-get),
// never 503; and a crash on either side of the trim's transaction loses or leaks nothing.
// Appends are 250,000 bytes (one row each); with COLD_AFTER_BYTES at 1 MiB a segment takes 4 rows.
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { formatOffset } from "../../src/protocol/offsets";
import type { Outbox } from "../../src/storage/outbox";
import type { StreamCall } from "../../src/stream/calls";
import type { StreamDO } from "../../src/stream/stream-do";
import type { Trimmer } from "../../src/stream/trim";
import { catchUp, concat, fill, generationOf, logOf, objectKeys, octets, runAlarms, segmentsOf } from "./cold-support";
import { pendingCallsOf } from "./estuary-support";
import { advanceClock, createWithPolicy, expectTrimmed, storedRows } from "./retention-support";
import { sendSettled } from "./settled-request";
import { call, restart } from "./worker";

afterEach(() => {
  vi.useRealTimers();
});

const ROW = 250_000;
const SEGMENT = 4 * ROW;

interface ColdStream {
  key: string;
  path: string;
  stub: DurableObjectStub<StreamDO>;
  /** Everything appended so far. */
  data: Uint8Array;
  /** Appends `count` more rows. */
  append(count: number): Promise<void>;
}

async function coldStream(name: string, retention: string): Promise<ColdStream> {
  const { path, stub } = await createWithPolicy(name, retention, octets);
  const stream: ColdStream = {
    key: `default/${name}`,
    path,
    stub,
    data: new Uint8Array(0),
    async append(count) {
      const more = await fill(path, count * ROW, ROW, stream.data.length / ROW);
      stream.data = concat([stream.data, more]);
    },
  };
  return stream;
}

function starts(segments: readonly { start: number }[]): number[] {
  return segments.map((segment) => segment.start);
}

/** The bytes a catch-up from -1 reads. */
async function readAll(path: string): Promise<Uint8Array> {
  return concat((await catchUp(path)).map((page) => page.body));
}

/** 10 appends, then the alarm: segments [0, 1M) and [1M, 2M) of 4 messages each, 2 rows hot. */
async function twoSegments(stream: ColdStream): Promise<void> {
  await stream.append(10);
  await runAlarms(stream.key);
  expect(starts(await segmentsOf(stream.key))).toEqual([0, SEGMENT]);
  expect(await storedRows(stream.stub)).toEqual({ rows: 2, first: 2 * SEGMENT, earliest: 0 });
}

function internals(instance: StreamDO): { trimmer: Trimmer; outbox: Outbox<StreamCall> } {
  return instance as unknown as { trimmer: Trimmer; outbox: Outbox<StreamCall> };
}

describe("trimming across cold segments and hot rows", () => {
  it("by messages: counts the segments' messages, drops whole segments oldest first, and their objects only", async () => {
    const stream = await coldStream("rc-messages", "max-messages=10");
    await twoSegments(stream);
    const generation = await generationOf(stream.key);
    const [first, second] = await segmentsOf(stream.key);

    // 15 messages: the newest 10 reach into the second segment, which stays whole (11 kept).
    await stream.append(5);
    await runAlarms(stream.key);
    const segments = await segmentsOf(stream.key);
    expect(starts(segments)).toEqual([SEGMENT, 2 * SEGMENT]);
    expect((await storedRows(stream.stub)).earliest).toBe(SEGMENT);
    const kept = await objectKeys(stream.key, generation);
    expect(kept).not.toContain(first?.key);
    expect(kept.sort()).toEqual(segments.map((segment) => segment.key).sort());
    expect(kept).toContain(second?.key);
    expect(await pendingCallsOf(stream.stub, "deleteColdSegment")).toBe(0);
    expect(await readAll(stream.path)).toEqual(stream.data.subarray(SEGMENT));
    const head = await call(stream.path, { method: "HEAD" });
    expect(head.headers.get("Stream-Earliest-Offset")).toBe(formatOffset(SEGMENT));
    expect(Number(head.headers.get("Stream-Cold-Bytes"))).toBe(2 * SEGMENT);
  });

  it("by bytes: one transaction drops a segment and the hot rows after it", async () => {
    const stream = await coldStream("rc-bytes", "max-bytes=2000000");
    await stream.append(6);
    await runAlarms(stream.key);
    expect(starts(await segmentsOf(stream.key))).toEqual([0]);
    const generation = await generationOf(stream.key);

    // 14 rows, 3.5 MB: everything ending at or below 1.5 MB goes, the segment and two hot rows.
    await stream.append(8);
    await runDurableObjectAlarm(stream.stub);
    expect((await storedRows(stream.stub)).earliest).toBe(6 * ROW);
    expect(await segmentsOf(stream.key)).not.toContainEqual(expect.objectContaining({ start: 0 }));
    await runAlarms(stream.key);
    const segments = await segmentsOf(stream.key);
    expect(segments.every((segment) => segment.start >= 6 * ROW)).toBe(true);
    expect((await objectKeys(stream.key, generation)).sort()).toEqual(segments.map((segment) => segment.key).sort());
    expect(await readAll(stream.path)).toEqual(stream.data.subarray(6 * ROW));
  });

  it("by age: a segment goes by its last append time, recorded from its rows at the offload", async () => {
    const stream = await coldStream("rc-age", "max-age=60");
    const t0 = Date.now();
    await stream.append(2);
    advanceClock(1_000);
    await stream.append(4);
    const t1 = Date.now();
    await runAlarms(stream.key);
    const times = await runInDurableObject(stream.stub, (_instance, state) =>
      state.storage.sql.exec<{ first: number; last: number }>("SELECT first_append_at AS first, last_append_at AS last FROM cold_segments").toArray(),
    );
    expect(times).toHaveLength(1);
    expect(times[0]?.first).toBeGreaterThanOrEqual(t0);
    expect(times[0]?.first).toBeLessThan(t0 + 1_000);
    expect(times[0]?.last).toBeGreaterThanOrEqual(t0 + 1_000);
    expect(times[0]?.last).toBeLessThanOrEqual(t1);
    const [segment] = await segmentsOf(stream.key);
    const generation = await generationOf(stream.key);

    // 40 s later two more rows; 30 s after that the segment and the rows of its time are too old.
    advanceClock(40_000);
    await stream.append(2);
    advanceClock(30_000);
    await runAlarms(stream.key);
    expect(await segmentsOf(stream.key)).toEqual([]);
    expect(await objectKeys(stream.key, generation)).not.toContain(segment?.key);
    expect(await storedRows(stream.stub)).toEqual({ rows: 2, first: 6 * ROW, earliest: 6 * ROW });
    expect(await readAll(stream.path)).toEqual(stream.data.subarray(6 * ROW));
  });
});

describe("reads of a trimmed cold range", () => {
  const send = (path: string) => sendSettled(path);

  it("answer 410 with the earliest offset, also for a cached cold page, never 503", async () => {
    const stream = await coldStream("rc-410", "max-messages=10");
    await twoSegments(stream);
    const old = `${stream.path}?offset=${formatOffset(0)}`;
    expect((await send(old)).status).toBe(200);
    expect((await send(old)).headers.get("Stream-Page-Cache")).toBe("hit");

    await stream.append(5);
    await runAlarms(stream.key);
    const tail = stream.data.length;
    await expectTrimmed(await send(old), SEGMENT, tail);
    await expectTrimmed(await call(`${stream.path}?offset=${formatOffset(ROW)}`), SEGMENT, tail);
    await expectTrimmed(await call(`${stream.path}?offset=${formatOffset(ROW)}&live=sse`), SEGMENT, tail);
    const fromEarliest = await send(`${stream.path}?offset=-1`);
    expect(new Uint8Array(await fromEarliest.arrayBuffer())).toEqual(stream.data.subarray(SEGMENT, 2 * SEGMENT));
  });

  it("answer 410, not 503, when the trim drops the segment while its R2 get is in flight", async () => {
    const stream = await coldStream("rc-race", "max-messages=10");
    await twoSegments(stream);
    await stream.append(5); // the trim is owed now, and runs during the read's get
    await runInDurableObject(stream.stub, (instance: StreamDO) => {
      const cold = logOf(instance).reader.cold;
      const real = cold.bucket;
      cold.bucket = new Proxy(real, {
        get(target, name) {
          if (name === "get") {
            return async (key: string, options?: R2GetOptions) => {
              cold.bucket = real;
              const { trimmer, outbox } = internals(instance);
              await trimmer.run(Date.now());
              await outbox.drain();
              return real.get(key, options);
            };
          }
          const value = Reflect.get(target, name) as unknown;
          return typeof value === "function" ? value.bind(target) : value;
        },
      });
    });
    await expectTrimmed(await call(`${stream.path}?offset=${formatOffset(0)}`), SEGMENT, stream.data.length);
  });
});

describe("crashes around the trim's transaction", () => {
  it("a kill after the transaction and before the R2 delete leaves an outbox call that deletes the object after the restart", async () => {
    const stream = await coldStream("rc-kill-after", "max-messages=10");
    await twoSegments(stream);
    const [first] = await segmentsOf(stream.key);
    const generation = await generationOf(stream.key);
    await stream.append(5);
    // The object dies right after the alarm's trim commits: its outbox is never drained.
    await runInDurableObject(stream.stub, (instance: StreamDO) => {
      internals(instance).outbox.drain = async () => {};
    });
    await runDurableObjectAlarm(stream.stub);
    expect(starts(await segmentsOf(stream.key))).not.toContain(0);
    expect((await storedRows(stream.stub)).earliest).toBe(SEGMENT);
    expect(await objectKeys(stream.key, generation)).toContain(first?.key);
    expect(await pendingCallsOf(stream.stub, "deleteColdSegment")).toBe(1);
    await expectTrimmed(await call(`${stream.path}?offset=${formatOffset(0)}`), SEGMENT, stream.data.length);

    await restart(stream.stub);
    await runAlarms(stream.key);
    expect(await pendingCallsOf(stream.stub, "deleteColdSegment")).toBe(0);
    const segments = await segmentsOf(stream.key);
    expect((await objectKeys(stream.key, generation)).sort()).toEqual(segments.map((segment) => segment.key).sort());
    expect(await readAll(stream.path)).toEqual(stream.data.subarray(SEGMENT));
  });

  it("a kill inside the transaction leaves every segment, object and offset as it was", async () => {
    const stream = await coldStream("rc-kill-before", "max-messages=10");
    await twoSegments(stream);
    const before = await segmentsOf(stream.key);
    const generation = await generationOf(stream.key);
    await stream.append(5);
    // Dies while writing the outbox call, after the segment rows were deleted: all of it rolls back.
    await runInDurableObject(stream.stub, (instance: StreamDO) => {
      internals(instance).outbox.add = () => {
        throw new Error("injected: died inside the trim's transaction");
      };
    });
    await expect(runDurableObjectAlarm(stream.stub)).rejects.toThrow("injected");
    expect(await segmentsOf(stream.key)).toEqual(before);
    expect((await storedRows(stream.stub)).earliest).toBe(0);
    expect((await objectKeys(stream.key, generation)).sort()).toEqual(before.map((segment) => segment.key).sort());
    expect(await pendingCallsOf(stream.stub, "deleteColdSegment")).toBe(0);
    expect(await readAll(stream.path)).toEqual(stream.data);

    // The platform retries a failed alarm; the restarted object trims as if nothing had happened.
    await restart(stream.stub);
    await runInDurableObject(stream.stub, (_instance, state) => state.storage.setAlarm(Date.now()));
    await runAlarms(stream.key);
    expect((await storedRows(stream.stub)).earliest).toBe(SEGMENT);
    expect(await objectKeys(stream.key, generation)).not.toContain(before[0]?.key);
  });
});
