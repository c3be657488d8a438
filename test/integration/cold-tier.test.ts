// The cold tier: past COLD_AFTER_BYTES (1 MiB in tests) a stream's oldest rows move to R2 segments,
// offsets never change, and every read of a cold range returns exactly the bytes that were appended.
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { SEGMENT_BYTES } from "../../src/stream/cold/segment-plan";
import type { StreamDO } from "../../src/stream/stream-do";
import { catchUp, coldOf, concat, fill, generationOf, logOf, objectKeys, octets, runAlarms, segmentsOf } from "./cold-support";
import { call, expectError, streamObject } from "./worker";

const MiB = 1024 * 1024;

describe("offloading to R2", () => {
  it("moves whole rows past the threshold into segments of at most a page, keyed by generation", async () => {
    const path = "/v1/stream/cold-offload";
    expect((await call(path, { method: "PUT", headers: octets })).status).toBe(201);
    const data = await fill(path, 5 * MiB, 300_000);
    await runAlarms("default/cold-offload");

    const segments = await segmentsOf("default/cold-offload");
    const generation = await generationOf("default/cold-offload");
    expect(segments.length).toBeGreaterThanOrEqual(4);
    expect(segments[0]?.start).toBe(0);
    for (const [index, segment] of segments.entries()) {
      expect(segment.bytes).toBeLessThanOrEqual(SEGMENT_BYTES);
      expect(segment.bytes).toBe(segment.end - segment.start);
      expect(segment.end % 300_000).toBe(0); // whole rows: each append here is one row
      if (index > 0) expect(segment.start).toBe(segments[index - 1]?.end);
      expect(segment.key).toContain(`/${generation}/`);
    }
    expect((await objectKeys("default/cold-offload", generation)).sort()).toEqual(segments.map((segment) => segment.key).sort());
    const status = await runInDurableObject(streamObject("default/cold-offload"), (instance: StreamDO) => {
      const meta = logOf(instance).meta;
      return meta ? coldOf(instance).status(meta) : null;
    });
    expect(status?.hotBytes).toBeLessThanOrEqual(MiB);
    expect((status?.hotBytes ?? 0) + (status?.coldBytes ?? 0)).toBe(data.length);

    const head = await call(path, { method: "HEAD" });
    expect(Number(head.headers.get("Stream-Cold-Bytes"))).toBe(status?.coldBytes);
    expect(Number(head.headers.get("Stream-Hot-Bytes"))).toBe(status?.hotBytes);
    expect(status?.coldBytes).toBe(segments.reduce((sum, segment) => sum + segment.bytes, 0));

    const pages = await catchUp(path);
    expect(concat(pages.map((page) => page.body))).toEqual(data);
    expect(pages.at(-1)?.next).toBe(head.headers.get("Stream-Next-Offset"));
  });

  it("serves reads from offsets taken before the offload byte-exact, across segment boundaries", async () => {
    const path = "/v1/stream/cold-offsets";
    expect((await call(path, { method: "PUT", headers: octets })).status).toBe(201);
    const data = await fill(path, 4 * MiB, 300_000, 7);
    // Hot pages end at the first row end past 1 MiB (1.2 MB here), which falls inside a segment later.
    const hot = await catchUp(path);
    await runAlarms("default/cold-offsets");
    expect((await segmentsOf("default/cold-offsets")).length).toBeGreaterThanOrEqual(3);

    let position = 0;
    for (const page of hot) {
      const after = await catchUp(path, page.offset);
      expect(concat(after.map((piece) => piece.body))).toEqual(data.subarray(position));
      position += page.body.length;
    }
  });
});

describe("cold reads of JSON streams", () => {
  it("never split a message, including one larger than a row", async () => {
    const path = "/v1/stream/cold-json";
    const json = { "Content-Type": "application/json" };
    expect((await call(path, { method: "PUT", headers: json })).status).toBe(201);
    const messages: unknown[] = [];
    for (let append = 0; append < 12; append++) {
      const batch = Array.from({ length: 40 }, (_, index) => ({ append, index, pad: "x".repeat(5_000 + append * 97 + index) }));
      if (append === 5) batch.push({ append, index: 40, pad: "y".repeat(1.5 * MiB) }); // spans two rows
      messages.push(...batch);
      expect((await call(path, { method: "POST", headers: json, body: JSON.stringify(batch) })).status).toBe(204);
    }
    await runAlarms("default/cold-json");
    const segments = await segmentsOf("default/cold-json");
    expect(segments.length).toBeGreaterThanOrEqual(2);

    const pages = await catchUp(path);
    const read: unknown[] = [];
    for (const page of pages) read.push(...(JSON.parse(new TextDecoder().decode(page.body)) as unknown[]));
    expect(read).toEqual(messages);
  });
});

describe("crashes and failures while offloading", () => {
  it("a crash after the put and before the commit keeps the rows hot, and the next run puts the same object again", async () => {
    const key = "default/cold-crash";
    const path = "/v1/stream/cold-crash";
    expect((await call(path, { method: "PUT", headers: octets })).status).toBe(201);
    await runInDurableObject(streamObject(key), (instance: StreamDO) => {
      coldOf(instance).commit = () => {
        throw new Error("crashed before the commit");
      };
    });
    const data = await fill(path, 3 * MiB, 250_000, 3);
    await runAlarms(key, 1);
    const generation = await generationOf(key);
    expect(await segmentsOf(key)).toEqual([]);
    const orphans = await objectKeys(key, generation);
    expect(orphans.length).toBe(1);
    expect(concat((await catchUp(path)).map((page) => page.body))).toEqual(data);

    // A restart brings back the real commit (the instance that crashed is gone).
    const { restart } = await import("./worker");
    await restart(streamObject(key));
    await runAlarms(key);
    const segments = await segmentsOf(key);
    expect(segments.length).toBeGreaterThanOrEqual(2);
    expect(await objectKeys(key, generation)).toEqual(segments.map((segment) => segment.key));
    expect(orphans[0]).toBe(segments[0]?.key);
    expect(concat((await catchUp(path)).map((page) => page.body))).toEqual(data);
  });

  it("a failing R2 put is logged and retried by a later alarm", async () => {
    const key = "default/cold-retry";
    const path = "/v1/stream/cold-retry";
    expect((await call(path, { method: "PUT", headers: octets })).status).toBe(201);
    let refused = 0;
    await runInDurableObject(streamObject(key), (instance: StreamDO) => {
      const cold = coldOf(instance);
      const real = cold.bucket;
      cold.bucket = new Proxy(real, {
        get(target, name) {
          if (name === "put" && refused < 2) {
            return async () => {
              refused++;
              throw new Error("R2 is unavailable");
            };
          }
          const value = Reflect.get(target, name) as unknown;
          return typeof value === "function" ? value.bind(target) : value;
        },
      });
    });
    const data = await fill(path, 3 * MiB, 250_000, 5);
    // The alarm keeps coming back (with backoff) until the puts succeed.
    for (let run = 0; run < 20 && (await segmentsOf(key)).length === 0; run++) {
      const next = await runInDurableObject(streamObject(key), async (instance: StreamDO, state) => {
        const status = coldOf(instance).status(logOf(instance).meta!);
        return { alarm: await state.storage.getAlarm(), error: status.lastError };
      });
      if (refused > 0 && refused < 2) expect(next.error).toBe("R2 is unavailable");
      expect(next.alarm).not.toBeNull();
      await runInDurableObject(streamObject(key), (instance: StreamDO) => {
        // Let the backoff pass without waiting for it.
        (coldOf(instance) as unknown as { retryAt: number | null }).retryAt = null;
      });
      await runAlarms(key, 1);
    }
    expect(refused).toBe(2);
    expect((await segmentsOf(key)).length).toBeGreaterThanOrEqual(1);
    expect(concat((await catchUp(path)).map((page) => page.body))).toEqual(data);
  });
});

describe("missing or damaged segments", () => {
  it("answer 503 segment_unavailable, never wrong bytes", async () => {
    const key = "default/cold-damage";
    const path = "/v1/stream/cold-damage";
    expect((await call(path, { method: "PUT", headers: octets })).status).toBe(201);
    await fill(path, 3 * MiB, 250_000, 9);
    await runAlarms(key);
    const [first, second] = await segmentsOf(key);
    expect(first && second).toBeTruthy();

    const stored = await env.COLD_SEGMENTS.get(first?.key ?? "");
    const original = new Uint8Array((await stored?.arrayBuffer()) ?? new ArrayBuffer(0));
    const bytes = original.slice();
    bytes[1000] = (bytes[1000] ?? 0) ^ 0xff;
    await env.COLD_SEGMENTS.put(first?.key ?? "", bytes);
    const damaged = await call(`${path}?offset=-1`);
    expect(damaged.headers.get("Cache-Control") ?? "").not.toMatch(/max-age=[1-9]/);
    await expectError(damaged, 503, "segment_unavailable");

    // Repaired, the first page reads again; the next segment's object is gone.
    await env.COLD_SEGMENTS.put(first?.key ?? "", original);
    await env.COLD_SEGMENTS.delete(second?.key ?? "");
    const repaired = await call(`${path}?offset=-1`);
    expect(repaired.status).toBe(200);
    expect((await repaired.arrayBuffer()).byteLength).toBe(first?.bytes);
    await expectError(await call(`${path}?offset=${repaired.headers.get("Stream-Next-Offset")}`), 503, "segment_unavailable");
  });
});

describe("deleting streams with cold segments", () => {
  it("delete removes the generation's objects and not those of the stream created again under the name", async () => {
    const key = "default/cold-delete";
    const path = "/v1/stream/cold-delete";
    expect((await call(path, { method: "PUT", headers: octets })).status).toBe(201);
    await fill(path, 3 * MiB, 250_000, 1);
    await runAlarms(key);
    const before = await generationOf(key);
    expect((await objectKeys(key, before)).length).toBeGreaterThanOrEqual(2);

    expect((await call(path, { method: "DELETE" })).status).toBe(204);
    expect((await call(path, { method: "PUT", headers: octets })).status).toBe(201);
    const data = await fill(path, 3 * MiB, 250_000, 2);
    await runAlarms(key);
    const after = await generationOf(key);
    expect(after).not.toBe(before);
    expect(await objectKeys(key, before)).toEqual([]);
    expect((await objectKeys(key, after)).length).toBeGreaterThanOrEqual(2);
    expect(concat((await catchUp(path)).map((page) => page.body))).toEqual(data);
  });
});

describe("forks of a stream with cold segments", () => {
  it("read the source's cold range byte-exact", async () => {
    const source = "/v1/stream/cold-fork-src";
    expect((await call(source, { method: "PUT", headers: octets })).status).toBe(201);
    const data = await fill(source, 3 * MiB, 250_000, 4);
    await runAlarms("default/cold-fork-src");
    expect((await segmentsOf("default/cold-fork-src")).length).toBeGreaterThanOrEqual(2);
    const fork = "/v1/stream/cold-fork";
    expect((await call(fork, { method: "PUT", headers: { ...octets, "Stream-Forked-From": source } })).status).toBe(201);
    expect(concat((await catchUp(fork)).map((page) => page.body))).toEqual(data);
  });
});
