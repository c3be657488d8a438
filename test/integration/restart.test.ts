// Restart persistence: a StreamDO evicted from memory comes back with its data, producers and closed state.
import { describe, expect, it } from "vitest";
import { call, restart, streamObject } from "./worker";

const text = { "Content-Type": "text/plain" };

function producer(seq: number, extra: Record<string, string> = {}): Record<string, string> {
  return { ...text, "Producer-Id": "writer-1", "Producer-Epoch": "0", "Producer-Seq": String(seq), ...extra };
}

async function readAll(path: string): Promise<{ body: string; headers: Headers }> {
  const response = await call(`${path}?offset=-1`);
  expect(response.status).toBe(200);
  return { body: await response.text(), headers: response.headers };
}

describe("after the StreamDO restarts", () => {
  it("serves the data written before the restart, at the same offsets", async () => {
    const path = "/v1/stream/restart-data";
    expect((await call(path, { method: "PUT", headers: text, body: "first;" })).status).toBe(201);
    const append = await call(path, { method: "POST", headers: text, body: "second;" });
    expect(append.status).toBe(204);
    const tail = append.headers.get("Stream-Next-Offset");

    await restart(streamObject("default/restart-data"));

    const read = await readAll(path);
    expect(read.body).toBe("first;second;");
    expect(read.headers.get("Stream-Next-Offset")).toBe(tail);
    expect((await call(path, { method: "POST", headers: text, body: "third" })).status).toBe(204);
    expect((await readAll(path)).body).toBe("first;second;third");
  });

  it("still detects a producer's retried request as a duplicate and keeps its sequence", async () => {
    const path = "/v1/stream/restart-producer";
    expect((await call(path, { method: "PUT", headers: text })).status).toBe(201);
    expect((await call(path, { method: "POST", headers: producer(0), body: "a" })).status).toBe(200);
    expect((await call(path, { method: "POST", headers: producer(1), body: "b" })).status).toBe(200);

    await restart(streamObject("default/restart-producer"));

    const retry = await call(path, { method: "POST", headers: producer(1), body: "b" });
    expect(retry.status).toBe(204);
    expect(retry.headers.get("Producer-Seq")).toBe("1");
    const gap = await call(path, { method: "POST", headers: producer(3), body: "d" });
    expect(gap.status).toBe(409);
    expect(gap.headers.get("Producer-Expected-Seq")).toBe("2");
    await gap.body?.cancel();
    expect((await readAll(path)).body).toBe("ab");
  });

  it("keeps a Stream-Seq high-water mark", async () => {
    const path = "/v1/stream/restart-stream-seq";
    expect((await call(path, { method: "PUT", headers: text })).status).toBe(201);
    expect((await call(path, { method: "POST", headers: { ...text, "Stream-Seq": "0002" }, body: "x" })).status).toBe(204);

    await restart(streamObject("default/restart-stream-seq"));

    const stale = await call(path, { method: "POST", headers: { ...text, "Stream-Seq": "0002" }, body: "y" });
    expect(stale.status).toBe(409);
    await stale.body?.cancel();
    expect((await readAll(path)).body).toBe("x");
  });

  it("keeps a closed stream closed, and a retry of the closing request still succeeds", async () => {
    const path = "/v1/stream/restart-closed";
    expect((await call(path, { method: "PUT", headers: text })).status).toBe(201);
    const closing = producer(0, { "Stream-Closed": "true" });
    const close = await call(path, { method: "POST", headers: closing, body: "last words" });
    expect(close.status).toBe(200);
    expect(close.headers.get("Stream-Closed")).toBe("true");

    await restart(streamObject("default/restart-closed"));

    const head = await call(path, { method: "HEAD" });
    expect(head.headers.get("Stream-Closed")).toBe("true");
    const read = await readAll(path);
    expect(read.body).toBe("last words");
    expect(read.headers.get("Stream-Closed")).toBe("true");
    const rejected = await call(path, { method: "POST", headers: text, body: "more" });
    expect(rejected.status).toBe(409);
    expect(rejected.headers.get("Stream-Closed")).toBe("true");
    await rejected.body?.cancel();
    const retry = await call(path, { method: "POST", headers: closing, body: "last words" });
    expect(retry.status).toBe(204);
    expect(retry.headers.get("Stream-Closed")).toBe("true");
  });

  it("keeps JSON message boundaries", async () => {
    const path = "/v1/stream/restart-json";
    const json = { "Content-Type": "application/json" };
    expect((await call(path, { method: "PUT", headers: json, body: '[{"n":1},{"n":2}]' })).status).toBe(201);
    const first = await call(`${path}?offset=-1`);
    await first.body?.cancel();
    const middle = await call(path, { method: "POST", headers: json, body: '{"n":3}' });
    expect(middle.status).toBe(204);

    await restart(streamObject("default/restart-json"));

    expect(await (await call(`${path}?offset=-1`)).json<unknown>()).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }]);
    const fromFirstTail = await call(`${path}?offset=${first.headers.get("Stream-Next-Offset")}`);
    expect(await fromFirstTail.json<unknown>()).toEqual([{ n: 3 }]);
  });
});
