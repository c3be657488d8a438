// Data sinks against a real `wrangler dev`, delivering to a receiver on loopback: Standard Webhooks
// signatures checked with the standardwebhooks library, order and exactly-once after dedup by
// webhook-id, bounded batches, CloudEvents fields, retries on 500 / 429 / a hanging receiver, 410,
// SSRF refusals, relief for a receiver answering 503 with Retry-After: 0 (sinks and webhook
// subscriptions), and retry state that survives a crash of the whole server.
/// <reference types="node" />
import { rm } from "node:fs/promises";
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, type DevServer } from "../support/wrangler-dev";
import { startReceiver, type ReceivedRequest, type Receiver } from "../support/webhook-receiver";
import { Api, pollUntil, startServer, stopServer, unique } from "./harness";

const project = "sinks";
const JSON_TYPE = "application/json";

let server: DevServer | undefined;
let receiver: Receiver;
let api: Api;

beforeAll(async () => {
  receiver = await startReceiver();
  server = await startServer();
  api = new Api(server.baseUrl);
});

afterAll(async () => {
  await stopServer(server);
  await receiver?.close();
});

interface SinkState {
  state: string;
  lastError: { message: string } | null;
  deliveredOffset: string;
  attempts: { status: number | null; error: string | null; webhookId: string }[];
}

async function createSink(base: string, stream: string, sink: Record<string, unknown>, extra: Record<string, unknown> = {}): Promise<string> {
  const response = await fetch(`${base}/v1/estuary/subscribe/${project}/${stream}`, {
    method: "POST",
    headers: { "Content-Type": JSON_TYPE },
    body: JSON.stringify({ sink, ...extra }),
  });
  const body = (await response.json()) as { secret?: string };
  expect(response.status, JSON.stringify(body)).toBe(201);
  return body.secret ?? "";
}

async function sinkState(base: string, stream: string, id: string): Promise<SinkState> {
  const response = await fetch(`${base}/v1/estuary/sinks/${project}/${stream}/${id}`);
  expect(response.status).toBe(200);
  return (await response.json()) as SinkState;
}

/** The messages of acknowledged requests, once per webhook-id, in arrival order; every signature checked. */
function delivered(requests: readonly ReceivedRequest[], secret: string): unknown[] {
  const verifier = new Webhook(secret);
  const seen = new Set<string>();
  const messages: unknown[] = [];
  for (const request of requests) {
    verifier.verify(request.body.toString("utf8"), request.headers);
    const id = request.headers["webhook-id"] ?? "";
    if (request.answer !== 200 || seen.has(id)) continue;
    seen.add(id);
    messages.push(...(JSON.parse(request.body.toString("utf8")) as unknown[]));
  }
  return messages;
}

const numbered = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => ({ n: from + i }));

describe("delivery to a receiver on loopback", () => {
  it("delivers every message once after dedup, in order, in signed batches of at most 100", async () => {
    const stream = unique("orders");
    const path = `/${stream}`;
    await api.create(project, stream, JSON_TYPE);
    const secret = await createSink(api.baseUrl, stream, { id: "warehouse", url: receiver.url(path) });
    await api.append(project, stream, JSON_TYPE, JSON.stringify(numbered(1, 250)));
    for (let n = 251; n <= 260; n++) await api.appendJson(project, stream, { n });

    const expected = numbered(1, 260);
    await pollUntil("the receiver to hold all 260 messages", async () => delivered(receiver.requests(path), secret), (got) => got.length >= expected.length);
    expect(delivered(receiver.requests(path), secret)).toEqual(expected);
    for (const request of receiver.requests(path)) {
      expect(request.headers["content-type"]).toBe(JSON_TYPE);
      expect((JSON.parse(request.body.toString("utf8")) as unknown[]).length).toBeLessThanOrEqual(100);
    }
    const tail = await api.tail(project, stream);
    await pollUntil("the delivered offset to reach the tail", () => sinkState(api.baseUrl, stream, "warehouse"), (sink) => sink.deliveredOffset === tail);
  });

  it("sends CloudEvents 1.0 batches with stable ids, the stream as source, and the type prefix", async () => {
    const stream = unique("events");
    const path = `/${stream}`;
    await api.create(project, stream, JSON_TYPE);
    await api.appendJson(project, stream, { before: true });
    const secret = await createSink(api.baseUrl, stream, { id: "ce", url: receiver.url(path), envelope: "cloudevents", typePrefix: "com.acme.orders" }, { from: "-1" });
    await api.appendJson(project, stream, { after: true });

    await pollUntil("two events", async () => receiver.requests(path).flatMap((request) => JSON.parse(request.body.toString("utf8")) as unknown[]), (events) => events.length >= 2);
    const events = delivered(receiver.requests(path), secret) as Record<string, unknown>[];
    expect(receiver.requests(path)[0]?.headers["content-type"]).toBe("application/cloudevents-batch+json");
    expect(events.map((event) => event.data)).toEqual([{ before: true }, { after: true }]);
    for (const event of events) {
      expect(event).toMatchObject({ specversion: "1.0", source: `/v1/stream/${project}/${stream}`, type: "com.acme.orders.appended", datacontenttype: JSON_TYPE });
      expect(Number.isNaN(Date.parse(String(event.time)))).toBe(false);
    }
    expect(new Set(events.map((event) => event.id)).size).toBe(2);
  });

  it("retries after 500, after a 429 with Retry-After, and after a receiver that never answers, with the same webhook-id", async () => {
    const stream = unique("flaky");
    const path = `/${stream}`;
    const answers = [{ status: 500 }, { status: 429, headers: { "Retry-After": "1" } }, "hang" as const];
    receiver.on(path, (n) => answers[n] ?? { status: 200 });
    await api.create(project, stream, JSON_TYPE);
    const secret = await createSink(api.baseUrl, stream, { id: "flaky", url: receiver.url(path) });
    await api.append(project, stream, JSON_TYPE, JSON.stringify(numbered(1, 3)));

    await pollUntil("the fourth attempt to succeed", async () => receiver.requests(path).filter((request) => request.answer === 200).length, (n) => n >= 1);
    const requests = receiver.requests(path);
    expect(new Set(requests.slice(0, 4).map((request) => request.headers["webhook-id"])).size).toBe(1);
    expect(delivered(requests, secret)).toEqual(numbered(1, 3));
    const sink = await pollUntil("the sink to be active", () => sinkState(api.baseUrl, stream, "flaky"), (state) => state.state === "active");
    expect(sink.attempts.slice(0, 4).map((attempt) => attempt.status)).toEqual([200, null, 429, 500]);
    expect(sink.attempts[1]?.error).toMatch(/did not answer within/);
  });

  it("a 410 disables the sink; enabling it delivers what was appended meanwhile", async () => {
    const stream = unique("gone");
    const path = `/${stream}`;
    receiver.on(path, (n) => ({ status: n === 0 ? 410 : 200 }));
    await api.create(project, stream, JSON_TYPE);
    const secret = await createSink(api.baseUrl, stream, { id: "gone", url: receiver.url(path) });
    await api.appendJson(project, stream, { n: 1 });
    await pollUntil("the sink to be disabled", () => sinkState(api.baseUrl, stream, "gone"), (sink) => sink.state === "disabled");
    await api.appendJson(project, stream, { n: 2 });

    const enable = await fetch(`${api.baseUrl}/v1/estuary/sinks/${project}/${stream}/gone/enable`, { method: "POST" });
    expect(enable.status).toBe(200);
    await pollUntil("both messages", async () => delivered(receiver.requests(path), secret), (got) => got.length >= 2);
    expect(delivered(receiver.requests(path), secret)).toEqual(numbered(1, 2));
  });

  it("refuses private and metadata targets with a JSON 400", async () => {
    const stream = unique("ssrf");
    await api.create(project, stream, JSON_TYPE);
    for (const url of ["http://10.0.0.1/hook", "https://169.254.169.254/latest/meta-data", "https://127.0.0.1/", "http://example.com/"]) {
      const response = await fetch(`${api.baseUrl}/v1/estuary/subscribe/${project}/${stream}`, {
        method: "POST",
        headers: { "Content-Type": JSON_TYPE },
        body: JSON.stringify({ sink: { id: "x", url } }),
      });
      expect(response.status, url).toBe(400);
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe("bad_request");
    }
  });
});

describe("a receiver in trouble", () => {
  /** The waits between the receiver's requests on `path`, in ms. */
  function gaps(path: string): number[] {
    const times = receiver.requests(path).map((request) => request.at);
    return times.slice(1).map((at, i) => at - (times[i] ?? at));
  }

  it("answering 503 with Retry-After: 0 gets a handful of attempts from a sink, spaced by the backoff", async () => {
    const stream = unique("relief");
    const path = `/${stream}`;
    receiver.on(path, () => ({ status: 503, headers: { "Retry-After": "0" } }));
    await api.create(project, stream, JSON_TYPE);
    await createSink(api.baseUrl, stream, { id: "relief", url: receiver.url(path) });
    await api.appendJson(project, stream, { n: 1 });

    await pollUntil("the fourth attempt", async () => receiver.requests(path).length, (n) => n >= 4);
    // Attempt n+1 comes at least half of 1 s × 2^(n-1) after attempt n (a little slack for timers):
    // at most 5 attempts in 12 s, where the alarm loop alone would make thousands.
    const waits = gaps(path).slice(0, 3);
    waits.forEach((wait, i) => expect(wait, `wait ${i + 1}: ${waits.join(", ")}`).toBeGreaterThanOrEqual(500 * 2 ** i - 50));
    const sink = await sinkState(api.baseUrl, stream, "relief");
    expect(sink.state).toBe("retrying");
    expect(sink.attempts.length).toBeLessThanOrEqual(5);
  });

  it("a closed port or a name that never resolves is named in lastError, not the runtime's internal error", async () => {
    const port = await freePort();
    const targets = { refused: `http://127.0.0.1:${port}/hook`, unresolved: "https://hooks.example.invalid/hook" };
    const expected = {
      refused: `connection refused by 127.0.0.1:${port}, or lost before it answered`,
      unresolved: "could not reach the receiver (DNS lookup failed for hooks.example.invalid: a reserved name that never resolves)",
    };
    for (const [id, url] of Object.entries(targets)) {
      const stream = unique(id);
      await api.create(project, stream, JSON_TYPE);
      await createSink(api.baseUrl, stream, { id, url });
      await api.appendJson(project, stream, { n: 1 });
      const sink = await pollUntil(`${id}: a failed attempt`, () => sinkState(api.baseUrl, stream, id), (state) => state.attempts.length > 0);
      expect(sink).toMatchObject({ state: "retrying", lastError: { message: expected[id as keyof typeof expected] } });
      expect(sink.attempts[0]).toMatchObject({ status: null, error: expected[id as keyof typeof expected] });
    }
  });

  it("answering 503 with Retry-After: 0 gets a webhook subscription's wake retried on the backoff too", async () => {
    const stream = unique("wake-relief");
    const path = `/${stream}`;
    receiver.on(path, () => ({ status: 503, headers: { "Retry-After": "0" } }));
    await api.create(project, stream, JSON_TYPE);
    const id = unique("relief");
    const put = await fetch(`${api.baseUrl}/v1/stream/__ds/subscriptions/${id}`, {
      method: "PUT",
      headers: { "Content-Type": JSON_TYPE },
      body: JSON.stringify({ type: "webhook", streams: [`${project}/${stream}`], webhook: { url: receiver.url(path) } }),
    });
    expect(put.status, await put.text()).toBe(201);
    await api.appendJson(project, stream, { n: 1 });

    await pollUntil("the fourth attempt", async () => receiver.requests(path).length, (n) => n >= 4);
    // 1 s doubling, less at most a fifth of each step.
    const waits = gaps(path).slice(0, 3);
    waits.forEach((wait, i) => expect(wait, `wait ${i + 1}: ${waits.join(", ")}`).toBeGreaterThanOrEqual(800 * 2 ** i - 50));
    const state = (await (await fetch(`${api.baseUrl}/v1/stream/__ds/subscriptions/${id}`)).json()) as { status: string; last_error: string };
    expect(state).toMatchObject({ status: "failed", last_error: "receiver answered 503" });
  });
});

describe("a crash while a sink is retrying", () => {
  it("keeps the retry state: after a restart the receiver gets everything exactly once after dedup", async () => {
    const crashed = await startServer();
    const stream = unique("crash");
    const path = `/${stream}`;
    let healthy = false;
    receiver.on(path, () => ({ status: healthy ? 200 : 503 }));
    const crashApi = new Api(crashed.baseUrl);
    await crashApi.create(project, stream, JSON_TYPE);
    const secret = await createSink(crashed.baseUrl, stream, { id: "durable", url: receiver.url(path) });
    for (let n = 1; n <= 5; n++) await crashApi.appendJson(project, stream, { n });
    const before = await pollUntil("the sink to be retrying", () => sinkState(crashed.baseUrl, stream, "durable"), (sink) => sink.state === "retrying");
    const failedId = before.attempts[0]?.webhookId;

    crashed.kill();
    healthy = true;
    const restarted = await startServer({ persistDir: crashed.persistDir });
    try {
      await pollUntil("all five messages after the restart", async () => delivered(receiver.requests(path), secret), (got) => got.length >= 5);
      expect(delivered(receiver.requests(path), secret)).toEqual(numbered(1, 5));
      const firstSuccess = receiver.requests(path).find((request) => request.answer === 200);
      expect(firstSuccess?.headers["webhook-id"]).toBe(failedId);
    } finally {
      await restarted.stop();
      await rm(crashed.persistDir, { recursive: true, force: true });
    }
  });
});

describe("the commit policy, with real receivers", () => {
  /** Appends one message, waiting up to `waitMs` for it to be committed; answers Stream-Committed. */
  async function awaitedAppend(stream: string, n: number, waitMs: number): Promise<string | null> {
    const response = await fetch(api.streamUrl(project, stream), {
      method: "POST",
      headers: { "Content-Type": JSON_TYPE, "Stream-Await-Commit": String(waitMs) },
      body: JSON.stringify([{ n }]),
    });
    expect(response.status).toBe(204);
    return response.headers.get("Stream-Committed");
  }

  async function setPolicy(stream: string, policy: unknown): Promise<void> {
    const response = await fetch(`${api.baseUrl}/v1/estuary/policy/${project}/${stream}`, { method: "PUT", headers: { "Content-Type": JSON_TYPE }, body: JSON.stringify(policy) });
    expect(response.status, await response.text()).toBe(200);
  }

  it("holds an append for a failing required sink, not for a failing optional one, in every mode", async () => {
    const stream = unique("policy");
    let downHealed = false;
    receiver.on(`/${stream}/good`, () => ({ status: 200 }));
    receiver.on(`/${stream}/optional`, () => ({ status: 500 }));
    receiver.on(`/${stream}/down`, () => ({ status: downHealed ? 200 : 500 }));
    await api.create(project, stream, JSON_TYPE);
    await createSink(api.baseUrl, stream, { id: "good", url: receiver.url(`/${stream}/good`) });
    await createSink(api.baseUrl, stream, { id: "optional", url: receiver.url(`/${stream}/optional`) }, { required: false });
    await createSink(api.baseUrl, stream, { id: "down", url: receiver.url(`/${stream}/down`) });

    // required (default): the failing required sink holds the append; quorum 1: the good sink is enough.
    expect(await awaitedAppend(stream, 1, 1_500)).toBe("false");
    await setPolicy(stream, { mode: "quorum", quorum: 1 });
    expect(await awaitedAppend(stream, 2, 15_000)).toBe("true");
    // all: the failing optional sink counts too.
    await setPolicy(stream, { mode: "all" });
    expect(await awaitedAppend(stream, 3, 1_500)).toBe("false");

    // Back to required, and the required receiver recovers: its retries commit the data.
    await setPolicy(stream, { mode: "required" });
    downHealed = true;
    expect(await awaitedAppend(stream, 4, 30_000)).toBe("true");
    const status = (await (await fetch(`${api.baseUrl}/v1/estuary/subscribers/${project}/${stream}`)).json()) as { committedOffset: string };
    expect(status.committedOffset).toBe(await api.tail(project, stream));
  });
});
