// Cold ranges behave like hot ones on every read path: SSE catch-up, WebSocket catch-up, the
// Worker's page cache, JSON offset checks; and an expired stream's objects are removed.
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { buildApp } from "../../src/app";
import { PAGE_CACHE_HEADER } from "../../src/routes/streams/page-cache";
import { generationOf, objectKeys, runAlarms, segmentsOf } from "./cold-support";
import { call, expectError } from "./worker";

const text = { "Content-Type": "text/plain" };
const app = buildApp();

afterEach(() => {
  vi.useRealTimers();
});

/** Letters only (no line breaks, which SSE would split), varying with position and seed. */
function letters(length: number, seed: number): string {
  let out = "";
  for (let index = 0; index < length; index++) out += String.fromCharCode(97 + ((index * 7 + seed + (index >>> 10)) % 26));
  return out;
}

/** A text stream of `appends` appends of `size` letters, offloaded; returns its whole text. */
async function coldText(name: string, appends: number, size: number): Promise<string> {
  const path = `/v1/stream/${name}`;
  expect((await call(path, { method: "PUT", headers: text })).status).toBe(201);
  let all = "";
  for (let append = 0; append < appends; append++) {
    const body = letters(size, append);
    all += body;
    expect((await call(path, { method: "POST", headers: text, body })).status).toBe(204);
  }
  await runAlarms(`default/${name}`);
  expect((await segmentsOf(`default/${name}`)).length).toBeGreaterThanOrEqual(2);
  return all;
}

/** Reads SSE data events until `length` characters arrived. */
async function sseText(path: string, length: number): Promise<string> {
  const response = await call(`${path}?offset=-1&live=sse`);
  expect(response.status).toBe(200);
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  let data = "";
  while (data.length < length) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += value;
    for (let end = buffer.indexOf("\n\n"); end >= 0; end = buffer.indexOf("\n\n")) {
      const event = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      if (!event.startsWith("event: data\n")) continue;
      data += event.slice("event: data\n".length).split("\n").map((line) => line.slice("data:".length)).join("\n");
    }
  }
  await reader.cancel();
  return data;
}

describe("live reads of cold ranges", () => {
  it("SSE catch-up sends the cold range byte-exact", async () => {
    const all = await coldText("cold-sse", 12, 250_000);
    expect(await sseText("/v1/stream/cold-sse", all.length)).toBe(all);
  });

  it("WebSocket catch-up sends the cold range byte-exact", async () => {
    const all = await coldText("cold-ws", 12, 250_000);
    const response = await call("/v1/stream/cold-ws?offset=-1&live=ws", { headers: { Upgrade: "websocket" } });
    const ws = response.webSocket!;
    ws.accept();
    let received = "";
    await new Promise<void>((resolve) => {
      ws.addEventListener("message", (event) => {
        const frame = JSON.parse(event.data as string) as { data: string; upToDate: boolean };
        received += frame.data;
        if (frame.upToDate) resolve();
      });
    });
    ws.close(1000, "done");
    expect(received).toBe(all);
  });
});

describe("the page cache and cold pages", () => {
  it("serves a cold page from the cache like a hot one, with the same bytes", async () => {
    const all = await coldText("cold-cached", 12, 250_000);
    const send = async (path: string) => {
      const ctx = createExecutionContext();
      const response = await app.request(`https://streams.test${path}`, {}, env, ctx);
      const body = await response.text();
      await waitOnExecutionContext(ctx);
      return { response, body };
    };
    const first = await send("/v1/stream/cold-cached?offset=-1");
    expect(first.response.status).toBe(200);
    expect(first.response.headers.get(PAGE_CACHE_HEADER)).toBeNull();
    expect(all.startsWith(first.body)).toBe(true);
    const again = await send("/v1/stream/cold-cached?offset=-1");
    expect(again.response.headers.get(PAGE_CACHE_HEADER)).toBe("hit");
    expect(again.body).toBe(first.body);
    expect(again.response.headers.get("Stream-Next-Offset")).toBe(first.response.headers.get("Stream-Next-Offset"));
  });
});

describe("JSON offsets in a cold range", () => {
  it("a boundary inside a segment is accepted, a position inside a message is refused", async () => {
    const path = "/v1/stream/cold-json-offsets";
    const json = { "Content-Type": "application/json" };
    expect((await call(path, { method: "PUT", headers: json })).status).toBe(201);
    for (let append = 0; append < 10; append++) {
      const batch = Array.from({ length: 50 }, (_, index) => ({ append, index, pad: "z".repeat(6_000) }));
      expect((await call(path, { method: "POST", headers: json, body: JSON.stringify(batch) })).status).toBe(204);
    }
    await runAlarms("default/cold-json-offsets");
    const [first] = await segmentsOf("default/cold-json-offsets");
    expect(first).toBeDefined();
    const page = await call(`${path}?offset=-1`);
    const next = page.headers.get("Stream-Next-Offset") ?? "";
    const position = Number(next.split("_")[1]);
    expect(position).toBe(first?.end);
    // One message is {"append":0,"index":0,"pad":"zzz..."}: 6,031 bytes; halfway into the second is not a boundary.
    const inside = `${next.split("_")[0]}_${String(3_000 + 6_031).padStart(16, "0")}`;
    await expectError(await call(`${path}?offset=${inside}`), 400, "bad_request");
    const boundary = `${next.split("_")[0]}_${String(6_031).padStart(16, "0")}`;
    const read = await call(`${path}?offset=${boundary}`);
    expect(read.status).toBe(200);
    const messages = JSON.parse(await read.text()) as { append: number; index: number }[];
    expect(messages[0]).toMatchObject({ append: 0, index: 1 });
  });
});

describe("expiry of a stream with cold segments", () => {
  it("removes the generation's objects", async () => {
    const path = "/v1/stream/cold-expiry";
    expect((await call(path, { method: "PUT", headers: { ...text, "Stream-TTL": "60" } })).status).toBe(201);
    for (let append = 0; append < 12; append++) {
      expect((await call(path, { method: "POST", headers: text, body: letters(250_000, append) })).status).toBe(204);
    }
    await runAlarms("default/cold-expiry");
    const generation = await generationOf("default/cold-expiry");
    expect((await objectKeys("default/cold-expiry", generation)).length).toBeGreaterThanOrEqual(2);

    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(Date.now() + 120_000);
    await expectError(await call(path), 404, "not_found");
    await runAlarms("default/cold-expiry");
    expect(await objectKeys("default/cold-expiry", generation)).toEqual([]);
  });
});
