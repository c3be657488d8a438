// Catch-up pages served from the Worker's cache: a page that ends before the tail is read from the
// log once, later readers get it without the object reading the log again; tail pages, live reads
// and HEAD never come from the cache; a re-created stream never gets the old generation's bytes;
// and a cached page reaches only callers who may read the stream.
import { createExecutionContext, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { buildApp } from "../../src/app";
import { PAGE_CACHE_HEADER } from "../../src/routes/streams/page-cache";
import type { StreamLog } from "../../src/stream/log";
import type { StreamDO } from "../../src/stream/stream-do";
import { sendSettled } from "./settled-request";
import { streamObject } from "./worker";

const ADMIN = "page-cache-test-admin";
const app = buildApp();
const authOn = { ...env, AUTH_MODE: "on", ADMIN_TOKEN: ADMIN };

/** Two and a half pages (a page is about 1 MiB), so the first two end before the tail. */
function body(fill: string): string {
  return fill.repeat(2.5 * 1024 * 1024);
}

const send = sendSettled;

/** Counts the object's log reads from now on (the work a cached page saves). */
async function countLogReads(key: string): Promise<() => Promise<number>> {
  const stub = streamObject(key);
  await runInDurableObject(stub, (instance: StreamDO) => {
    const log = (instance as unknown as { log: StreamLog & { reads?: number } }).log;
    const read = log.read.bind(log);
    log.reads = 0;
    log.read = (...args) => {
      log.reads = (log.reads ?? 0) + 1;
      return read(...args);
    };
  });
  return () => runInDurableObject(stub, (instance: StreamDO) => (instance as unknown as { log: { reads: number } }).log.reads);
}

async function create(path: string, fill: string, headers: Record<string, string> = {}, bindings: object = env): Promise<void> {
  const response = await send(path, { method: "PUT", headers: { "Content-Type": "text/plain", ...headers }, body: body(fill) }, bindings);
  expect(response.status).toBe(201);
}

describe("catch-up pages from the cache", () => {
  it("serves a page that ends before the tail from the cache on the second read, without a log read", async () => {
    await create("/v1/stream/cached-page", "a");
    const logReads = await countLogReads("default/cached-page");
    const first = await send("/v1/stream/cached-page?offset=-1");
    expect(first.status).toBe(200);
    expect(first.headers.get(PAGE_CACHE_HEADER)).toBeNull();
    expect(first.headers.get("Cache-Control")).toBe("public, max-age=60, stale-while-revalidate=300");
    for (let i = 0; i < 3; i++) {
      const again = await send("/v1/stream/cached-page?offset=-1");
      expect(again.headers.get(PAGE_CACHE_HEADER)).toBe("hit");
      expect(await again.text()).toBe(await first.clone().text());
      for (const name of ["Content-Type", "Stream-Next-Offset", "ETag", "Cache-Control"]) expect(again.headers.get(name)).toBe(first.headers.get(name));
    }
    expect(await logReads()).toBe(1);
  });

  it("answers 304 from the cache when the client already holds the page", async () => {
    await create("/v1/stream/cached-etag", "e");
    const first = await send("/v1/stream/cached-etag?offset=-1");
    const etag = first.headers.get("ETag") ?? "";
    const revalidated = await send("/v1/stream/cached-etag?offset=-1", { headers: { "If-None-Match": etag } });
    expect(revalidated.status).toBe(304);
    expect(revalidated.headers.get(PAGE_CACHE_HEADER)).toBe("hit");
    expect(revalidated.headers.get("ETag")).toBe(etag);
  });

  it("never caches the tail page: each read asks the object and sees new data", async () => {
    await create("/v1/stream/cached-tail", "t");
    const page = await send("/v1/stream/cached-tail?offset=-1");
    const second = await send(`/v1/stream/cached-tail?offset=${page.headers.get("Stream-Next-Offset")}`);
    const tailAt = second.headers.get("Stream-Next-Offset") ?? "";
    const logReads = await countLogReads("default/cached-tail");
    const tail = await send(`/v1/stream/cached-tail?offset=${tailAt}`);
    expect(tail.headers.get("Stream-Up-To-Date")).toBe("true");
    expect(tail.headers.get("Cache-Control")).toBe("no-cache");
    expect(await send("/v1/stream/cached-tail", { method: "POST", headers: { "Content-Type": "text/plain" }, body: "more" })).toHaveProperty("status", 204);
    const after = await send(`/v1/stream/cached-tail?offset=${tailAt}`);
    expect(after.headers.get(PAGE_CACHE_HEADER)).toBeNull();
    expect((await after.text()).endsWith("more")).toBe(true);
    expect(await logReads()).toBe(2);
  });

  it("never serves the old generation's bytes after the stream is deleted and created again", async () => {
    await create("/v1/stream/cached-recreated", "o");
    const old = await send("/v1/stream/cached-recreated?offset=-1");
    expect((await send("/v1/stream/cached-recreated?offset=-1")).headers.get(PAGE_CACHE_HEADER)).toBe("hit");
    expect((await send("/v1/stream/cached-recreated", { method: "DELETE" })).status).toBe(204);
    expect((await send("/v1/stream/cached-recreated?offset=-1")).status).toBe(404);
    await create("/v1/stream/cached-recreated", "n");
    const fresh = await send("/v1/stream/cached-recreated?offset=-1");
    expect(fresh.headers.get(PAGE_CACHE_HEADER)).toBeNull();
    expect((await fresh.text()).startsWith("n")).toBe(true);
    expect(fresh.headers.get("ETag")).not.toBe(old.headers.get("ETag"));
    // The new generation's page replaced the old one in the cache.
    const cached = await send("/v1/stream/cached-recreated?offset=-1");
    expect(cached.headers.get(PAGE_CACHE_HEADER)).toBe("hit");
    expect((await cached.text()).startsWith("n")).toBe(true);
  });

  it("never serves long-poll, SSE or HEAD from the cache", async () => {
    await create("/v1/stream/cached-live", "l");
    const page = await send("/v1/stream/cached-live?offset=-1");
    const second = await send(`/v1/stream/cached-live?offset=${page.headers.get("Stream-Next-Offset")}`);
    const at = page.headers.get("Stream-Next-Offset") ?? "";
    expect((await send(`/v1/stream/cached-live?offset=${at}`)).headers.get(PAGE_CACHE_HEADER)).toBe("hit");
    const logReads = await countLogReads("default/cached-live");
    const longPoll = await send(`/v1/stream/cached-live?offset=${at}&live=long-poll`);
    expect(longPoll.status).toBe(200);
    expect(longPoll.headers.get(PAGE_CACHE_HEADER)).toBeNull();
    expect(longPoll.headers.get("Stream-Cursor")).not.toBeNull();
    const sse = await app.request(`https://streams.test/v1/stream/cached-live?offset=${at}&live=sse`, {}, env, createExecutionContext());
    expect(sse.headers.get("Content-Type")).toBe("text/event-stream");
    expect(sse.headers.get(PAGE_CACHE_HEADER)).toBeNull();
    await sse.body?.cancel();
    expect(await logReads()).toBe(2);
    const head = await send(`/v1/stream/cached-live?offset=${at}`, { method: "HEAD" });
    expect(head.headers.get(PAGE_CACHE_HEADER)).toBeNull();
    expect(head.headers.get("Stream-Next-Offset")).not.toBe(second.headers.get("Stream-Next-Offset"));
  });
});

describe("cached pages and access", () => {
  async function token(project: string, streams?: string[]): Promise<string> {
    const headers = { Authorization: `Bearer ${ADMIN}`, "Content-Type": "application/json" };
    const minted = await send(`/v1/admin/projects/${project}/tokens`, { method: "POST", headers, body: JSON.stringify({ scope: ["manage"], streams }) }, authOn);
    expect(minted.status).toBe(201);
    return (await minted.json<{ token: string }>()).token;
  }

  it("refuses a cached private page to a caller without a token (401) or with another stream's token (403)", async () => {
    const headers = { Authorization: `Bearer ${ADMIN}`, "Content-Type": "application/json" };
    expect((await send("/v1/admin/projects", { method: "POST", headers, body: JSON.stringify({ project: "cachedp" }) }, authOn)).status).toBe(201);
    const owner = await token("cachedp");
    const other = await token("cachedp", ["elsewhere"]);
    const path = "/v1/stream/cachedp/private";
    await create(path, "p", { Authorization: `Bearer ${owner}` }, authOn);
    const read = (auth?: string) => send(`${path}?offset=-1`, { headers: auth ? { Authorization: `Bearer ${auth}` } : {} }, authOn);
    expect((await read(owner)).status).toBe(200);
    expect((await read(owner)).headers.get(PAGE_CACHE_HEADER)).toBe("hit");
    expect((await read()).status).toBe(401);
    expect((await read(other)).status).toBe(403);
    // A public stream's cached page is everyone's, as the stream is.
    await create("/v1/stream/cachedp/open", "q", { Authorization: `Bearer ${owner}`, "Stream-Public": "true" }, authOn);
    expect((await send("/v1/stream/cachedp/open?offset=-1", {}, authOn)).status).toBe(200);
    const anonymous = await send("/v1/stream/cachedp/open?offset=-1", {}, authOn);
    expect(anonymous.status).toBe(200);
    expect(anonymous.headers.get(PAGE_CACHE_HEADER)).toBe("hit");
  });
});

describe("cached pages and a stream's TTL", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("slide the TTL like any read, and an expired stream is 404 even with its page cached", async () => {
    const start = Date.now();
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(start);
    await create("/v1/stream/cached-ttl", "x", { "Stream-TTL": "10" });
    expect((await send("/v1/stream/cached-ttl?offset=-1")).status).toBe(200);
    vi.setSystemTime(start + 7_000);
    expect((await send("/v1/stream/cached-ttl?offset=-1")).headers.get(PAGE_CACHE_HEADER)).toBe("hit");
    // 14 s after creation, 7 s after the cached read: alive only because that read slid the TTL.
    vi.setSystemTime(start + 14_000);
    expect((await send("/v1/stream/cached-ttl?offset=-1")).headers.get(PAGE_CACHE_HEADER)).toBe("hit");
    vi.setSystemTime(start + 25_000);
    expect((await send("/v1/stream/cached-ttl?offset=-1")).status).toBe(404);
  });
});
