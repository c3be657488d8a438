// Data sinks inside the Workers runtime, with a stand-in receiver (the SinkDO's fetcher): creation
// and its idempotence, signed ordered batches, retries with the same webhook-id, Retry-After, 410 and
// time-based disabling, re-enabling without loss, isolation between sinks, and removal.
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { Webhook } from "standardwebhooks";
import { afterEach, describe, expect, it, vi } from "vitest";
import { sinkObjectName } from "../../src/contract/sinks";
import { sinkStub } from "../../src/sinks/stub";
import type { SinkDetail } from "../../src/sinks/commands";
import type { SinkDO } from "../../src/sinks/sink-do";
import { eventually, failOutboxCalls } from "./estuary-support";
import { call, expectError, streamObject } from "./worker";

const json = { "Content-Type": "application/json" };

interface Received {
  id: string;
  headers: Record<string, string>;
  body: string;
}

/** A receiver that answers each request with `answer(n)` (n counts from 0) and records what it got. */
function receiver(answer: (n: number, signal: AbortSignal | null | undefined) => Response | Promise<Response> = () => new Response(null, { status: 200 })) {
  const requests: Received[] = [];
  const fetcher = async (_url: string, init: RequestInit): Promise<Response> => {
    const headers = Object.fromEntries(new Headers(init.headers).entries());
    const body = new TextDecoder().decode(init.body as Uint8Array);
    const n = requests.length;
    requests.push({ id: headers["webhook-id"] ?? "", headers, body });
    return answer(n, init.signal);
  };
  return { requests, fetcher };
}

/** Puts the stand-in receiver into the sink's object before the sink exists, so no request escapes it. */
async function standIn(stream: string, sinkId: string, fetcher: SinkDO["fetcher"]): Promise<void> {
  await runInDurableObject(sinkStub(env, sinkObjectName(`default/${stream}`, sinkId)), (instance: SinkDO) => {
    instance.fetcher = fetcher;
  });
}

async function createStream(stream: string, body = ""): Promise<void> {
  expect((await call(`/v1/stream/${stream}`, { method: "PUT", headers: json, body: body || undefined })).status).toBe(201);
}

async function append(stream: string, messages: unknown[]): Promise<void> {
  expect((await call(`/v1/stream/${stream}`, { method: "POST", headers: json, body: JSON.stringify(messages) })).status).toBe(204);
}

function subscribeSink(stream: string, body: unknown): Promise<Response> {
  return call(`/v1/estuary/subscribe/${stream}`, { method: "POST", headers: json, body: JSON.stringify(body) });
}

async function detail(stream: string, sinkId: string): Promise<SinkDetail> {
  const response = await call(`/v1/estuary/sinks/${stream}/${sinkId}`);
  expect(response.status).toBe(200);
  return response.json<SinkDetail>();
}

/** Every message the receiver acknowledged, once per webhook-id, in order. */
function deduplicated(requests: readonly Received[], acknowledged: (index: number) => boolean): unknown[] {
  const seen = new Set<string>();
  return requests.flatMap((request, index) => {
    if (!acknowledged(index) || seen.has(request.id)) return [];
    seen.add(request.id);
    return JSON.parse(request.body) as unknown[];
  });
}

afterEach(() => {
  vi.useRealTimers();
});

describe("creating a sink", () => {
  it("answers 201 with the secret once; the same configuration again is 200 without it; another is 409", async () => {
    await createStream("sink-create");
    await standIn("sink-create", "wh", receiver().fetcher);
    const body = { sink: { id: "wh", url: "https://receiver.example/hook" } };
    const first = await subscribeSink("sink-create", body);
    expect(first.status).toBe(201);
    const created = await first.json<{ secret: string; sink: Record<string, unknown> }>();
    expect(created.secret).toMatch(/^whsec_/);
    expect(created.sink).toMatchObject({ id: "wh", envelope: "raw", typePrefix: "durable-estuary.stream", required: true, state: "active" });

    const again = await subscribeSink("sink-create", body);
    expect(again.status).toBe(200);
    expect(await again.json()).not.toHaveProperty("secret");
    await expectError(await subscribeSink("sink-create", { sink: { ...body.sink, envelope: "cloudevents" } }), 409, "conflict");
  });

  it("refuses private, loopback, link-local and metadata targets, and bad bodies, with a JSON 400", async () => {
    await createStream("sink-ssrf");
    for (const url of ["http://10.0.0.1/hook", "https://169.254.169.254/latest", "https://192.168.1.1/", "https://[::1]/", "ftp://x.example/", "https://metadata/"]) {
      await expectError(await subscribeSink("sink-ssrf", { sink: { id: "x", url } }), 400, "bad_request");
    }
    await expectError(await subscribeSink("sink-ssrf", { sink: { id: "x", url: "https://ok.example/", envelope: "xml" } }), 400, "bad_request");
    await expectError(await subscribeSink("sink-ssrf", { sink: { id: "../x", url: "https://ok.example/" } }), 400, "bad_request");
    await expectError(await subscribeSink("sink-ssrf", { sink: { id: "x", url: "https://ok.example/" }, from: "later" }), 400, "bad_request");
    await expectError(await subscribeSink("sink-missing", { sink: { id: "x", url: "https://ok.example/" } }), 404, "not_found");
  });
});

describe("delivery", () => {
  it("sends every message in order, in signed batches, and reports the delivered offset", async () => {
    await createStream("sink-order", '[{"n":0}]');
    const { requests, fetcher } = receiver();
    await standIn("sink-order", "wh", fetcher);
    const created = await (await subscribeSink("sink-order", { sink: { id: "wh", url: "https://receiver.example/hook" }, from: "-1" })).json<{ secret: string }>();
    for (let n = 1; n <= 5; n++) await append("sink-order", [{ n }]);

    await eventually(async () => expect(deduplicated(requests, () => true)).toEqual([0, 1, 2, 3, 4, 5].map((n) => ({ n }))));
    const verifier = new Webhook(created.secret);
    for (const request of requests) {
      expect(request.headers["content-type"]).toBe("application/json");
      expect(() => verifier.verify(request.body, request.headers)).not.toThrow();
    }
    const tail = (await call("/v1/stream/sink-order", { method: "HEAD" })).headers.get("Stream-Next-Offset");
    await eventually(async () => expect((await detail("sink-order", "wh")).deliveredOffset).toBe(tail));

    const status = await (await call("/v1/estuary/subscribers/sink-order")).json<{ sinks: { id: string; state: string; deliveredOffset: string }[] }>();
    expect(status.sinks).toEqual([expect.objectContaining({ id: "wh", state: "active", deliveredOffset: tail })]);
  });

  it("retries a failed batch with the same webhook-id and bytes, then moves on with lastError cleared", async () => {
    await createStream("sink-retry");
    const { requests, fetcher } = receiver((n) => new Response(null, { status: n === 0 ? 500 : 200 }));
    await standIn("sink-retry", "wh", fetcher);
    expect((await subscribeSink("sink-retry", { sink: { id: "wh", url: "https://receiver.example/hook" } })).status).toBe(201);
    await append("sink-retry", [{ n: 1 }, { n: 2 }]);

    await eventually(async () => expect(requests.length).toBeGreaterThanOrEqual(2));
    expect(requests[1]?.id).toBe(requests[0]?.id);
    expect(requests[1]?.body).toBe(requests[0]?.body);
    await eventually(async () => {
      const sink = await detail("sink-retry", "wh");
      expect(sink.state).toBe("active");
      expect(sink.attempts.map((attempt) => attempt.status)).toEqual([200, 500]);
      // A healthy sink shows no error; the failure stays in its attempts, as history.
      expect(sink.lastError).toBeNull();
      expect(sink.attempts[1]?.error).toBe("receiver answered 500");
    });
  });

  it("waits for a 429's Retry-After before trying again", async () => {
    await createStream("sink-429");
    const { requests, fetcher } = receiver(() => new Response(null, { status: 429, headers: { "Retry-After": "120" } }));
    await standIn("sink-429", "wh", fetcher);
    expect((await subscribeSink("sink-429", { sink: { id: "wh", url: "https://receiver.example/hook" } })).status).toBe(201);
    await append("sink-429", [{ n: 1 }]);
    await eventually(async () => expect((await detail("sink-429", "wh")).state).toBe("retrying"));
    const sink = await detail("sink-429", "wh");
    const attempt = sink.attempts[0];
    expect(attempt?.status).toBe(429);
    const due = Date.parse(sink.nextAttemptAt ?? "");
    expect(due - Date.parse(attempt?.at ?? "")).toBe(120_000);

    // Neither new data nor the sink's alarm firing early makes it try before then.
    await append("sink-429", [{ n: 2 }]);
    const stub = sinkStub(env, sinkObjectName("default/sink-429", "wh"));
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(requests).toHaveLength(1);
    expect((await detail("sink-429", "wh")).attempts).toHaveLength(1);
    // Once the time has come, the same alarm does try again.
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(due + 1);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(requests).toHaveLength(2);
    expect(requests[1]?.id).toBe(requests[0]?.id);
  });

  it("a 503 with Retry-After: 0 or a past date waits out the backoff: the receiver is not hammered", async () => {
    const answers = { "sink-ra-zero": "0", "sink-ra-past": new Date(Date.now() - 60_000).toUTCString() };
    for (const [stream, retryAfter] of Object.entries(answers)) {
      await createStream(stream);
      const { requests, fetcher } = receiver(() => new Response(null, { status: 503, headers: { "Retry-After": retryAfter } }));
      await standIn(stream, "wh", fetcher);
      await subscribeSink(stream, { sink: { id: "wh", url: "https://receiver.example/hook" } });
      await append(stream, [{ n: 1 }]);
      await eventually(async () => expect((await detail(stream, "wh")).state).toBe("retrying"));
      const sink = await detail(stream, "wh");
      // The first retry's step is 1 s, of which at least half is waited.
      expect(Date.parse(sink.nextAttemptAt ?? "") - Date.parse(sink.attempts[0]?.at ?? ""), retryAfter).toBeGreaterThanOrEqual(500);
      expect(requests.length, retryAfter).toBeLessThanOrEqual(2);
    }
  });

  it("a Retry-After shorter than the backoff does not shorten it", async () => {
    await createStream("sink-ra-short");
    const { fetcher } = receiver(() => new Response(null, { status: 429, headers: { "Retry-After": "1" } }));
    await standIn("sink-ra-short", "wh", fetcher);
    await subscribeSink("sink-ra-short", { sink: { id: "wh", url: "https://receiver.example/hook" } });
    await append("sink-ra-short", [{ n: 1 }]);
    const stub = sinkStub(env, sinkObjectName("default/sink-ra-short", "wh"));
    await eventually(async () => expect((await detail("sink-ra-short", "wh")).failures).toBe(1));
    // Two more failures on the clock of the objects; the third attempt's step is 4 s.
    vi.useFakeTimers({ toFake: ["Date"] });
    for (const failures of [2, 3]) {
      vi.setSystemTime(Date.parse((await detail("sink-ra-short", "wh")).nextAttemptAt ?? "") + 1);
      await runDurableObjectAlarm(stub);
      expect((await detail("sink-ra-short", "wh")).failures).toBe(failures);
    }
    const sink = await detail("sink-ra-short", "wh");
    expect(Date.parse(sink.nextAttemptAt ?? "") - Date.parse(sink.attempts[0]?.at ?? "")).toBeGreaterThanOrEqual(2_000);
  });

  it("a failing or hanging sink delays neither appends nor the other sinks of the stream", async () => {
    await createStream("sink-isolation");
    let release = () => {};
    const hung = new Promise<Response>((resolve) => (release = () => resolve(new Response(null, { status: 503 }))));
    // Named so that the healthy sink comes last wherever the stream goes through its sinks in order.
    const broken = receiver(() => new Response(null, { status: 500 }));
    const stuck = receiver(() => hung);
    const healthy = receiver();
    await standIn("sink-isolation", "broken", broken.fetcher);
    await standIn("sink-isolation", "hung", stuck.fetcher);
    await standIn("sink-isolation", "ok", healthy.fetcher);
    for (const [id, url] of [["broken", "https://broken.example/"], ["hung", "https://hung.example/"], ["ok", "https://ok.example/"]]) {
      expect((await subscribeSink("sink-isolation", { sink: { id, url } })).status).toBe(201);
    }
    await append("sink-isolation", [{ n: 1 }]);
    // Both bad receivers were really called: one holds its request open, the other refused it.
    await eventually(async () => {
      expect(stuck.requests.length).toBeGreaterThanOrEqual(1);
      expect(broken.requests.length).toBeGreaterThanOrEqual(1);
      expect(deduplicated(healthy.requests, () => true)).toEqual([{ n: 1 }]);
    }, 3_000);
    // With that request still open, appends answer and reach the healthy sink.
    for (let n = 2; n <= 3; n++) await append("sink-isolation", [{ n }]);
    await eventually(async () => expect(deduplicated(healthy.requests, () => true)).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }]), 3_000);
    expect(stuck.requests).toHaveLength(1);
    const failing = await detail("sink-isolation", "broken");
    expect(failing.state).toBe("retrying");
    expect(failing.lastError?.message).toBe("receiver answered 500");
    release();
  });
});

describe("disabling and re-enabling", () => {
  it("a 410 disables the sink; enabling resumes from the delivered offset and loses nothing", async () => {
    await createStream("sink-gone");
    const { requests, fetcher } = receiver((n) => new Response(null, { status: n === 1 ? 410 : 200 }));
    await standIn("sink-gone", "wh", fetcher);
    await subscribeSink("sink-gone", { sink: { id: "wh", url: "https://receiver.example/hook" } });
    await append("sink-gone", [{ n: 1 }]);
    await eventually(async () => expect((await detail("sink-gone", "wh")).attempts.length).toBe(1));
    await append("sink-gone", [{ n: 2 }]);
    await eventually(async () => expect((await detail("sink-gone", "wh")).state).toBe("disabled"));
    await append("sink-gone", [{ n: 3 }]);

    const enabled = await call("/v1/estuary/sinks/sink-gone/wh/enable", { method: "POST" });
    expect(enabled.status).toBe(200);
    await eventually(async () => expect(deduplicated(requests, (index) => index !== 1)).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }]));
    // The batch refused with 410 is sent again under the same webhook-id.
    expect(requests[2]?.id).toBe(requests[1]?.id);
    expect((await detail("sink-gone", "wh")).state).toBe("active");
  });

  it("a disabled required sink is named in the fan-out status as what holds the committed offset", async () => {
    await createStream("sink-held");
    const gone = () => new Response(null, { status: 410 });
    await standIn("sink-held", "needed", receiver(gone).fetcher);
    await standIn("sink-held", "optional", receiver(gone).fetcher);
    await subscribeSink("sink-held", { sink: { id: "needed", url: "https://receiver.example/needed" } });
    await subscribeSink("sink-held", { sink: { id: "optional", url: "https://receiver.example/optional" }, required: false });
    const start = (await detail("sink-held", "needed")).deliveredOffset;
    await append("sink-held", [{ n: 1 }]);
    await eventually(async () => {
      expect((await detail("sink-held", "needed")).state).toBe("disabled");
      expect((await detail("sink-held", "optional")).state).toBe("disabled");
    });

    type Status = { committedOffset: string; commitHeldBy: { sinkId: string; state: string; deliveredOffset: string; lastError: string | null }[] };
    const status = await (await call("/v1/estuary/subscribers/sink-held")).json<Status>();
    expect(status.committedOffset).toBe(start);
    expect(status.commitHeldBy).toEqual([{ sinkId: "needed", state: "disabled", deliveredOffset: start, lastError: expect.stringMatching(/^disabled: the receiver answered 410/) }]);

    // Under `all` the optional sink holds it too; once both are removed nothing does.
    expect((await call("/v1/estuary/policy/sink-held", { method: "PUT", headers: json, body: '{"mode":"all"}' })).status).toBe(200);
    const all = await (await call("/v1/estuary/subscribers/sink-held")).json<Status>();
    expect(all.commitHeldBy.map((held) => held.sinkId)).toEqual(["needed", "optional"]);
    for (const sinkId of ["needed", "optional"]) {
      expect((await call("/v1/estuary/subscribe/sink-held", { method: "DELETE", headers: json, body: JSON.stringify({ sinkId }) })).status).toBe(204);
    }
    expect((await (await call("/v1/estuary/subscribers/sink-held")).json<Status>()).commitHeldBy).toEqual([]);
  });

  it("a sink failing without a break for SINK_DISABLE_AFTER_MS is disabled", async () => {
    await createStream("sink-timeout");
    await standIn("sink-timeout", "wh", receiver(() => new Response(null, { status: 500 })).fetcher);
    await subscribeSink("sink-timeout", { sink: { id: "wh", url: "https://receiver.example/hook" } });
    await append("sink-timeout", [{ n: 1 }]);
    await eventually(async () => expect((await detail("sink-timeout", "wh")).state).toBe("retrying"));
    // A day later on the clock the Worker and its objects see (they share the test isolate).
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(Date.now() + 86_400_000 + 1_000);
    await runDurableObjectAlarm(sinkStub(env, sinkObjectName("default/sink-timeout", "wh")));
    vi.useRealTimers();
    const sink = await detail("sink-timeout", "wh");
    expect(sink.state).toBe("disabled");
    expect(sink.lastError?.message).toMatch(/^disabled: failing without a break/);
  });
});

describe("what a sink keeps", () => {
  it("keeps its last 100 attempts, however many it makes", async () => {
    await createStream("sink-ring");
    await standIn("sink-ring", "wh", receiver(() => new Response(null, { status: 500 })).fetcher);
    await subscribeSink("sink-ring", { sink: { id: "wh", url: "https://receiver.example/hook" } });
    await append("sink-ring", [{ n: 1 }]);
    await eventually(async () => expect((await detail("sink-ring", "wh")).state).toBe("retrying"));
    const stub = sinkStub(env, sinkObjectName("default/sink-ring", "wh"));
    vi.useFakeTimers({ toFake: ["Date"] });
    for (let i = 0; i < 120; i++) {
      vi.setSystemTime(Date.parse((await detail("sink-ring", "wh")).nextAttemptAt ?? "") + 1);
      await runDurableObjectAlarm(stub);
    }
    const sink = await detail("sink-ring", "wh");
    expect(sink.failures).toBeGreaterThanOrEqual(121);
    expect(sink.attempts).toHaveLength(100);
    const rows = await runInDurableObject(stub, (_instance, state) => state.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM attempts").one().n);
    expect(rows).toBe(100);
  });
});

describe("a source deleted and created again", () => {
  it("never sends the new stream's bytes under a webhook-id of the old one: the old sink goes", async () => {
    await createStream("sink-regen");
    let healed = false;
    const { requests, fetcher } = receiver(() => new Response(null, { status: healed ? 200 : 500 }));
    await standIn("sink-regen", "wh", fetcher);
    await subscribeSink("sink-regen", { sink: { id: "wh", url: "https://receiver.example/hook" } });
    // The stream's call that removes its sinks is held back, as when the sink cannot be reached.
    await failOutboxCalls(streamObject("default/sink-regen"), "removeSink");
    await append("sink-regen", [{ n: 1 }]);
    await eventually(async () => expect((await detail("sink-regen", "wh")).state).toBe("retrying"));
    const failedId = requests[0]?.id;

    expect((await call("/v1/stream/sink-regen", { method: "DELETE" })).status).toBe(204);
    await createStream("sink-regen");
    await append("sink-regen", [{ n: 2 }]);
    healed = true;
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(Date.now() + 600_000);
    await runDurableObjectAlarm(sinkStub(env, sinkObjectName("default/sink-regen", "wh")));
    vi.useRealTimers();

    for (const request of requests) expect(request.body).toBe('[{"n":1}]');
    expect(requests.every((request) => request.id === failedId)).toBe(true);
    await expectError(await call("/v1/estuary/sinks/sink-regen/wh"), 404, "not_found");
  });
});

describe("removing sinks", () => {
  it("DELETE with a sinkId removes the sink (404 the second time, and for its status)", async () => {
    await createStream("sink-delete");
    await standIn("sink-delete", "wh", receiver().fetcher);
    await subscribeSink("sink-delete", { sink: { id: "wh", url: "https://receiver.example/hook" } });
    const remove = () => call("/v1/estuary/subscribe/sink-delete", { method: "DELETE", headers: json, body: '{"sinkId":"wh"}' });
    expect((await remove()).status).toBe(204);
    await expectError(await remove(), 404, "not_found");
    await expectError(await call("/v1/estuary/sinks/sink-delete/wh"), 404, "not_found");
    await expectError(await call("/v1/estuary/sinks/sink-delete/wh/enable", { method: "POST" }), 404, "not_found");
  });

  it("deleting the source removes its sinks", async () => {
    await createStream("sink-source-gone");
    await standIn("sink-source-gone", "wh", receiver().fetcher);
    await subscribeSink("sink-source-gone", { sink: { id: "wh", url: "https://receiver.example/hook" } });
    expect((await call("/v1/stream/sink-source-gone", { method: "DELETE" })).status).toBe(204);
    await eventually(async () => expect((await call("/v1/estuary/sinks/sink-source-gone/wh")).status).toBe(404));
  });
});
