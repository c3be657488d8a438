// An SSE reader that goes away stops being counted within seconds, against a real `wrangler dev`:
// a Node client aborts its fetch, and GET /v1/connections drops the reader long before the read's
// own timeout (set to a minute here, so only the departure can end it). A departed reader also
// stops holding its stream's TTL: the TTL counts from the departure. (Long-poll departures are
// tested in the Workers runtime, test/integration/departed-long-poll.test.ts: locally the runtime
// does not cancel a request whose client leaves before the response starts, so nothing can see it.)
/// <reference types="node" />
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Api, pollUntil, sleep, startServer, stopServer, unique } from "../estuary/harness";
import type { DevServer } from "../support/wrangler-dev";

const PROJECT = "departed";
/** The reads' own timeouts: far longer than any wait below, so a count that drops was dropped by the abort. */
const READ_TIMEOUT_MS = 60_000;
/** "Within seconds": a departure must show within this, a small fraction of READ_TIMEOUT_MS. */
const DROP_WITHIN_MS = 5_000;

interface StreamCounts {
  webSocket: number;
  sse: number;
  longPoll: number;
}

let server: DevServer;
let api: Api;

beforeAll(async () => {
  server = await startServer({
    vars: { LONG_POLL_TIMEOUT_MS: String(READ_TIMEOUT_MS), SSE_MAX_DURATION_MS: String(READ_TIMEOUT_MS * 2) },
  });
  api = new Api(server.baseUrl);
});

afterAll(async () => {
  await stopServer(server);
});

async function counts(stream: string): Promise<StreamCounts> {
  const response = await fetch(`${server.baseUrl}/v1/connections/${PROJECT}/${stream}`);
  expect(response.status).toBe(200);
  return (await response.json()) as StreamCounts;
}

/** Waits until `counts` shows the stream's readers of `kind` at `n`, and returns how long that took. */
async function countReaches(stream: string, kind: "sse", n: number, timeoutMs: number): Promise<number> {
  const started = Date.now();
  await pollUntil(`${kind} = ${n} on ${stream}`, () => counts(stream), (c) => c[kind] === n, timeoutMs);
  return Date.now() - started;
}

/** Opens an SSE read and waits for its first event, so the server's pump is running. */
async function openSse(stream: string, signal: AbortSignal): Promise<ReadableStreamDefaultReader<Uint8Array>> {
  const response = await fetch(`${api.streamUrl(PROJECT, stream)}?offset=now&live=sse`, { signal });
  expect(response.status).toBe(200);
  const reader = response.body?.getReader();
  if (!reader) throw new Error("SSE response has no body");
  const first = await reader.read();
  expect(new TextDecoder().decode(first.value)).toContain("event: control");
  return reader;
}

describe("live readers that go away, against wrangler dev", () => {
  it("drops an aborted SSE reader from the stream's connections within seconds", async () => {
    const stream = unique("sse");
    await api.create(PROJECT, stream, "application/json");
    const abort = new AbortController();
    await openSse(stream, abort.signal);
    await countReaches(stream, "sse", 1, DROP_WITHIN_MS);

    abort.abort();
    const tookMs = await countReaches(stream, "sse", 0, DROP_WITHIN_MS);
    process.stdout.write(`departed: an aborted SSE reader left the count after ${tookMs} ms\n`);
  });

  it("keeps counting and serving the SSE reader that stays when another one leaves", async () => {
    const stream = unique("stay");
    await api.create(PROJECT, stream, "application/json");
    const leaving = new AbortController();
    const staying = new AbortController();
    await openSse(stream, leaving.signal);
    const stayed = await openSse(stream, staying.signal);
    await countReaches(stream, "sse", 2, DROP_WITHIN_MS);

    leaving.abort();
    await countReaches(stream, "sse", 1, DROP_WITHIN_MS);
    await api.appendJson(PROJECT, stream, { for: "the one that stayed" });
    let received = "";
    while (!received.includes("event: data")) {
      const chunk = await stayed.read();
      if (chunk.done) throw new Error("the staying SSE reader was closed");
      received += new TextDecoder().decode(chunk.value);
    }
    expect(received).toContain(JSON.stringify({ for: "the one that stayed" }));
    staying.abort();
  });

  it("lets a stream's TTL count from the moment its last SSE reader left", async () => {
    const ttlS = 2;
    const stream = unique("ttl");
    const created = await fetch(api.streamUrl(PROJECT, stream), {
      method: "PUT",
      headers: { "Content-Type": "application/json", "Stream-TTL": String(ttlS) },
    });
    expect(created.status).toBe(201);
    const abort = new AbortController();
    await openSse(stream, abort.signal);
    await countReaches(stream, "sse", 1, DROP_WITHIN_MS);
    // Held past its TTL by the waiting reader alone.
    await sleep(ttlS * 1000 * 1.5);
    abort.abort();
    const leftAt = Date.now();
    // HEAD does not slide the TTL, so polling with it watches the expiry without moving it.
    const head = async () => (await fetch(api.streamUrl(PROJECT, stream), { method: "HEAD" })).status;
    expect(await head()).toBe(200);
    await pollUntil("the stream to expire", head, (status) => status === 404, ttlS * 1000 + DROP_WITHIN_MS);
    const expiredAfter = Date.now() - leftAt;
    process.stdout.write(`departed: a Stream-TTL: ${ttlS} stream expired ${expiredAfter} ms after its SSE reader left\n`);
    expect(expiredAfter).toBeGreaterThanOrEqual(ttlS * 1000 - 200);
  });
});
