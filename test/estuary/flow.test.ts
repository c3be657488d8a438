// Estuary pub/sub end to end against wrangler dev: delivery, live reads, backfill, errors, routes.
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { DevServer } from "../support/wrangler-dev";
import {
  Api,
  CONVERGE_TIMEOUT_MS,
  pollUntil,
  startServer,
  stopServer,
  TEST_VARS,
  unique,
  waitForFannedOut,
  type ErrorBody,
  type EstuaryBody,
} from "./harness";

const JSON_TYPE = "application/json";
const project = "acme";
const LONG_POLL_TIMEOUT_MS = Number(TEST_VARS.LONG_POLL_TIMEOUT_MS);

let server: DevServer;
let api: Api;

beforeAll(async () => {
  server = await startServer();
  api = new Api(server.baseUrl);
});

afterAll(async () => {
  await stopServer(server);
});

/** Waits until the estuary holds as many messages as `expected`, then requires exactly those. */
async function waitForJson(estuary: string, expected: unknown[]): Promise<unknown[]> {
  const messages = await pollUntil(
    `${estuary} to hold ${expected.length} messages`,
    () => api.readJson(project, estuary),
    (held) => held.length >= expected.length,
  );
  expect(messages, `messages of ${estuary}`).toEqual(expected);
  return messages;
}

async function expectError(response: Response, status: number, code: string): Promise<ErrorBody> {
  const text = await response.text();
  expect(response.status, text).toBe(status);
  const body = JSON.parse(text) as ErrorBody;
  expect(body.error.code).toBe(code);
  expect(typeof body.error.message).toBe("string");
  expect(body.error.message.length).toBeGreaterThan(0);
  return body;
}

describe("delivery to an estuary", () => {
  test("a message published to alerts is readable from user-alice's estuary stream", async () => {
    const alerts = unique("alerts");
    const alice = unique("user-alice");
    await api.create(project, alerts, JSON_TYPE);

    const subscribed = await api.subscribe(project, alerts, { estuaryId: alice });
    expect(subscribed.status).toBe(201);
    expect(await subscribed.json()).toEqual({ source: alerts, estuaryId: alice, stream: `/v1/stream/${project}/${alice}` });

    // The estuary stream exists at once, empty, with the source's content type.
    const created = await fetch(`${api.streamUrl(project, alice)}?offset=-1`);
    expect(created.status).toBe(200);
    expect(created.headers.get("Content-Type")).toContain(JSON_TYPE);
    expect(await created.json()).toEqual([]);

    const message = { type: "alert", msg: "Hello!" };
    await api.append(project, alerts, JSON_TYPE, JSON.stringify([message]));
    expect(await waitForJson(alice, [message])).toEqual([message]);
  });

  test("a long-poll on the estuary started before publishing returns the published message", async () => {
    const source = unique("lp-source");
    const estuary = unique("lp-estuary");
    await api.create(project, source, JSON_TYPE);
    await api.subscribeNew(project, source, estuary);
    const offset = await api.tail(project, estuary);

    const message = { type: "alert", msg: "long-poll" };
    // The HEAD above took the estuary's read lease, so this poll does not pull: what it answers
    // was pushed.
    const firstPoll = fetch(`${api.streamUrl(project, estuary)}?offset=${offset}&live=long-poll`);
    const appendedAt = Date.now();
    await api.appendJson(project, source, message);

    // The push of the append wakes that very poll, long before it would time out with a 204 (a
    // re-poll after a 204 would pull the message itself, proving nothing about the push).
    const response = await firstPoll;
    const answeredMs = Date.now() - appendedAt;
    expect(response.status).toBe(200);
    expect(answeredMs, "ms from the append to the poll's answer").toBeLessThan(LONG_POLL_TIMEOUT_MS / 2);
    expect(await response.json()).toEqual([message]);
    expect(response.headers.get("Stream-Next-Offset")).not.toBe(offset);
  });

  test("an SSE reader of the estuary receives the published message as a data event", async () => {
    const source = unique("sse-source");
    const estuary = unique("sse-estuary");
    await api.create(project, source, JSON_TYPE);
    await api.subscribeNew(project, source, estuary);
    const offset = await api.tail(project, estuary);

    const abort = new AbortController();
    const response = await fetch(`${api.streamUrl(project, estuary)}?offset=${offset}&live=sse`, { signal: abort.signal });
    expect(response.status).toBe(200);
    expect(response.headers.get("Content-Type")).toContain("text/event-stream");
    const message = { type: "alert", msg: "over SSE" };
    await api.appendJson(project, source, message);

    const reader = response.body?.pipeThrough(new TextDecoderStream()).getReader();
    if (!reader) throw new Error("SSE response has no body");
    const timer = setTimeout(() => abort.abort(), CONVERGE_TIMEOUT_MS);
    let buffer = "";
    const dataEvents: unknown[] = [];
    try {
      while (dataEvents.length === 0) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        let end = buffer.indexOf("\n\n");
        while (end >= 0) {
          const event = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const lines = event.split("\n");
          if (lines[0] === "event: data") {
            const data = lines.slice(1).map((line) => line.replace(/^data:/, "")).join("\n");
            dataEvents.push(...(JSON.parse(data) as unknown[]));
          }
          end = buffer.indexOf("\n\n");
        }
      }
    } finally {
      clearTimeout(timer);
      abort.abort();
    }
    expect(dataEvents).toEqual([message]);
  });

  test("text/plain appends arrive byte-exact and in order", async () => {
    const source = unique("text-source");
    const estuary = unique("text-estuary");
    await api.create(project, source, "text/plain");
    await api.subscribeNew(project, source, estuary);
    const parts = ["héllo wörld\n", "line two\r\n", "  tabs\tand ✓ emoji 🎉", "\n"];
    for (const part of parts) await api.append(project, source, "text/plain", part);

    const expected = parts.join("");
    const text = await pollUntil(
      `${estuary} to hold the text`,
      () => api.readText(project, estuary),
      (value) => value.length >= expected.length,
    );
    expect(text).toBe(expected);
    const head = await fetch(api.streamUrl(project, estuary), { method: "HEAD" });
    expect(head.headers.get("Content-Type")).toContain("text/plain");
  });

  test("application/octet-stream appends arrive byte-exact, every byte value included", async () => {
    const source = unique("bin-source");
    const estuary = unique("bin-estuary");
    const type = "application/octet-stream";
    await api.create(project, source, type);
    await api.subscribeNew(project, source, estuary);
    const all = Uint8Array.from({ length: 256 }, (_, index) => index);
    const random = crypto.getRandomValues(new Uint8Array(4096));
    await api.append(project, source, type, all);
    await api.append(project, source, type, random);

    const expected = Buffer.concat([all, random]);
    const bytes = await pollUntil(
      `${estuary} to hold ${expected.length} bytes`,
      () => api.readBytes(project, estuary),
      (value) => value.length >= expected.length,
    );
    expect(Buffer.from(bytes).equals(expected)).toBe(true);
  });
});

describe("subscription lifecycle", () => {
  test("after unsubscribing, later messages never reach the estuary while other subscribers still get them", async () => {
    const source = unique("unsub-source");
    const leaver = unique("unsub-leaver");
    const stayer = unique("unsub-stayer");
    await api.create(project, source, JSON_TYPE);
    await api.subscribeNew(project, source, leaver);
    await api.subscribeNew(project, source, stayer);

    const before = { n: 1 };
    await api.appendJson(project, source, before);
    await waitForJson(leaver, [before]);

    const unsubscribed = await api.unsubscribe(project, source, { estuaryId: leaver });
    expect(unsubscribed.status).toBe(204);
    expect((await api.status(project, source)).subscribers).toBe(1);

    const after = { n: 2 };
    const tail = await api.appendJson(project, source, after);
    await waitForJson(stayer, [before, after]);
    await waitForFannedOut(api, project, source, tail);
    expect(await api.readJson(project, leaver)).toEqual([before]);
    // The estuary remains an ordinary readable stream, just no longer fed.
    const description = (await (await api.estuary(project, leaver)).json()) as EstuaryBody;
    expect(description.subscriptions).toEqual([]);
  });

  test('subscribing with from "-1" backfills earlier messages in order, then continues live', async () => {
    const source = unique("backfill-source");
    const estuary = unique("backfill-estuary");
    await api.create(project, source, JSON_TYPE);
    const earlier = Array.from({ length: 5 }, (_, index) => ({ seq: index }));
    for (const message of earlier) await api.appendJson(project, source, message);

    await api.subscribeNew(project, source, estuary, "-1");
    await waitForJson(estuary, earlier);
    const live = { seq: 5 };
    await api.appendJson(project, source, live);
    expect(await waitForJson(estuary, [...earlier, live])).toEqual([...earlier, live]);
  });

  test("subscribing from a source offset delivers only the messages after it", async () => {
    const source = unique("offset-source");
    const estuary = unique("offset-estuary");
    await api.create(project, source, JSON_TYPE);
    await api.appendJson(project, source, { seq: 0 });
    const middle = await api.appendJson(project, source, { seq: 1 });
    await api.appendJson(project, source, { seq: 2 });

    await api.subscribeNew(project, source, estuary, middle);
    expect(await waitForJson(estuary, [{ seq: 2 }])).toEqual([{ seq: 2 }]);
  });

  test("subscribing again answers 200 and never delivers a message twice", async () => {
    const source = unique("resub-source");
    const estuary = unique("resub-estuary");
    await api.create(project, source, JSON_TYPE);
    await api.subscribeNew(project, source, estuary);
    const first = { n: 1 };
    await api.appendJson(project, source, first);
    await waitForJson(estuary, [first]);

    for (const from of [undefined, "now", "-1"]) {
      const again = await api.subscribe(project, source, from === undefined ? { estuaryId: estuary } : { estuaryId: estuary, from });
      expect(again.status, `re-subscribe from ${from}`).toBe(200);
      expect(await again.json()).toEqual({ source, estuaryId: estuary, stream: `/v1/stream/${project}/${estuary}` });
    }
    const second = { n: 2 };
    const tail = await api.appendJson(project, source, second);
    await waitForJson(estuary, [first, second]);
    await waitForFannedOut(api, project, source, tail);
    expect(await api.readJson(project, estuary)).toEqual([first, second]);
    expect((await api.status(project, source)).subscribers).toBe(1);
  });

  test("deleting the source ends its subscriptions; the estuary keeps what it had and can follow a re-created source", async () => {
    const source = unique("deleted-source");
    const estuary = unique("deleted-estuary");
    await api.create(project, source, JSON_TYPE);
    await api.subscribeNew(project, source, estuary);
    await api.appendJson(project, source, { generation: 1 });
    await waitForJson(estuary, [{ generation: 1 }]);

    const deleted = await fetch(api.streamUrl(project, source), { method: "DELETE" });
    expect(deleted.status).toBe(204);
    await expectError(await fetch(`${server.baseUrl}/v1/estuary/subscribers/${project}/${source}`), 404, "not_found");
    const description = (await (await api.estuary(project, estuary)).json()) as EstuaryBody;
    expect(description.subscriptions).toEqual([]);
    expect(await api.readJson(project, estuary)).toEqual([{ generation: 1 }]);

    // A new stream under the same name starts again at offset zero; a new subscription follows it.
    await api.create(project, source, JSON_TYPE);
    const again = await api.subscribe(project, source, { estuaryId: estuary });
    await again.body?.cancel();
    expect(again.status).toBe(201);
    await api.appendJson(project, source, { generation: 2 });
    expect(await waitForJson(estuary, [{ generation: 1 }, { generation: 2 }])).toHaveLength(2);
  });

  test("closing an estuary stream ends its subscription at the next publish", async () => {
    const source = unique("closed-source");
    const closing = unique("closed-estuary");
    const open = unique("open-estuary");
    await api.create(project, source, JSON_TYPE);
    await api.subscribeNew(project, source, closing);
    await api.subscribeNew(project, source, open);
    const close = await fetch(api.streamUrl(project, closing), { method: "POST", headers: { "Stream-Closed": "true" } });
    await close.body?.cancel();
    expect(close.status).toBe(204);

    const tail = await api.appendJson(project, source, { after: "close" });
    await waitForJson(open, [{ after: "close" }]);
    await waitForFannedOut(api, project, source, tail);
    expect((await api.status(project, source)).subscribers).toBe(1);
    expect(await api.readJson(project, closing)).toEqual([]);
    const description = (await (await api.estuary(project, closing)).json()) as EstuaryBody;
    expect(description.subscriptions).toEqual([]);
  });

  test("one estuary can collect several sources, each message once", async () => {
    const left = unique("multi-left");
    const right = unique("multi-right");
    const estuary = unique("multi-estuary");
    await api.create(project, left, JSON_TYPE);
    await api.create(project, right, JSON_TYPE);
    await api.subscribeNew(project, left, estuary);
    await api.subscribeNew(project, right, estuary);
    await api.appendJson(project, left, { from: "left" });
    await waitForJson(estuary, [{ from: "left" }]);
    await api.appendJson(project, right, { from: "right" });
    expect(await waitForJson(estuary, [{ from: "left" }, { from: "right" }])).toHaveLength(2);
  });
});

describe("subscribe errors", () => {
  test("subscribing to a stream that does not exist is 404", async () => {
    await expectError(await api.subscribe(project, unique("missing"), { estuaryId: unique("e") }), 404, "not_found");
  });

  test("an estuaryId naming an existing ordinary stream is 409 and leaves that stream alone", async () => {
    const source = unique("taken-source");
    const taken = unique("taken");
    await api.create(project, source, JSON_TYPE);
    await api.create(project, taken, JSON_TYPE);
    await api.appendJson(project, taken, { mine: true });
    await expectError(await api.subscribe(project, source, { estuaryId: taken }), 409, "conflict");
    await api.appendJson(project, source, { leaked: true });
    expect((await api.status(project, source)).subscribers).toBe(0);
    expect(await api.readJson(project, taken)).toEqual([{ mine: true }]);
  });

  test("an estuary cannot collect sources of different content types (409)", async () => {
    const jsonSource = unique("ct-json");
    const textSource = unique("ct-text");
    const estuary = unique("ct-estuary");
    await api.create(project, jsonSource, JSON_TYPE);
    await api.create(project, textSource, "text/plain");
    await api.subscribeNew(project, jsonSource, estuary);
    await expectError(await api.subscribe(project, textSource, { estuaryId: estuary }), 409, "conflict");
    expect((await api.status(project, textSource)).subscribers).toBe(0);
  });

  test("subscribing estuary a to source b when b is already fed by a is 409", async () => {
    const a = unique("cycle-a");
    const b = unique("cycle-b");
    await api.create(project, a, JSON_TYPE);
    await api.subscribeNew(project, a, b);
    await expectError(await api.subscribe(project, b, { estuaryId: a }), 409, "conflict");
    expect((await api.status(project, b)).subscribers).toBe(0);
  });

  test("a cycle through a chain of estuaries is refused with 409 and nothing is attached", async () => {
    const root = unique("chain-root");
    const first = unique("chain-first");
    const second = unique("chain-second");
    await api.create(project, root, JSON_TYPE);
    await api.subscribeNew(project, root, first);
    await api.subscribeNew(project, first, second);
    // first is an estuary of the same type, so only the cycle first -> second -> first forbids this.
    const refused = await expectError(await api.subscribe(project, second, { estuaryId: first }), 409, "conflict");
    expect(refused.error.message).toMatch(/cycle/);
    const description = (await (await api.estuary(project, first)).json()) as EstuaryBody;
    expect(description.subscriptions.map((subscription) => subscription.source)).toEqual([`/v1/stream/${project}/${root}`]);

    // Data still flows down the chain: root -> first -> second.
    await api.appendJson(project, root, { hop: 2 });
    expect(await waitForJson(second, [{ hop: 2 }])).toEqual([{ hop: 2 }]);
  });

  test("a stream cannot subscribe to itself (409)", async () => {
    const source = unique("self");
    await api.create(project, source, JSON_TYPE);
    await expectError(await api.subscribe(project, source, { estuaryId: source }), 409, "conflict");

    const root = unique("self-root");
    const estuary = unique("self-estuary");
    await api.create(project, root, JSON_TYPE);
    await api.subscribeNew(project, root, estuary);
    const refused = await expectError(await api.subscribe(project, estuary, { estuaryId: estuary }), 409, "conflict");
    expect(refused.error.message).toMatch(/cycle/);
  });

  test("malformed subscribe bodies are 400 with an error code and message", async () => {
    const source = unique("bad-source");
    await api.create(project, source, JSON_TYPE);
    const bodies: unknown[] = [
      "{not json",
      "",
      {},
      { estuaryId: "" },
      { estuaryId: "has/slash" },
      { estuaryId: "x".repeat(129) },
      { estuaryId: 42 },
      { estuaryId: "fine", from: "yesterday" },
    ];
    for (const body of bodies) {
      await expectError(await api.subscribe(project, source, body), 400, "bad_request");
    }
    expect((await api.status(project, source)).subscribers).toBe(0);
  });

  test("a from offset beyond the source's tail is 400", async () => {
    const source = unique("beyond-source");
    await api.create(project, source, JSON_TYPE);
    const beyond = "0000000000000000_0000000000999999";
    await expectError(await api.subscribe(project, source, { estuaryId: unique("e"), from: beyond }), 400, "bad_request");
  });

  test("a from offset inside a JSON message is 400", async () => {
    const source = unique("inside-source");
    await api.create(project, source, JSON_TYPE);
    await api.appendJson(project, source, { long: "message" });
    const inside = "0000000000000000_0000000000000003";
    await expectError(await api.subscribe(project, source, { estuaryId: unique("e"), from: inside }), 400, "bad_request");
  });

  test("unsubscribing an estuary that is not subscribed is 404; a bad body is 400", async () => {
    const source = unique("unsub-missing");
    await api.create(project, source, JSON_TYPE);
    await expectError(await api.unsubscribe(project, source, { estuaryId: unique("never") }), 404, "not_found");
    await expectError(await api.unsubscribe(project, source, { estuaryId: "a/b" }), 400, "bad_request");
  });
});

describe("estuary and status routes", () => {
  test("GET /v1/estuary describes subscriptions with delivered offset and lag", async () => {
    const source = unique("describe-source");
    const estuary = unique("describe-estuary");
    await api.create(project, source, JSON_TYPE);
    await api.subscribeNew(project, source, estuary);
    const tail = await api.appendJson(project, source, { n: 1 });
    await waitForJson(estuary, [{ n: 1 }]);

    const response = await api.estuary(project, estuary);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      estuary,
      stream: `/v1/stream/${project}/${estuary}`,
      subscriptions: [{ source: `/v1/stream/${project}/${source}`, deliveredOffset: tail, lagBytes: 0, envelope: "raw" }],
    });
  });

  test("GET /v1/estuary is 404 for a missing stream and for an ordinary stream", async () => {
    const plain = unique("plain");
    await api.create(project, plain, JSON_TYPE);
    await expectError(await api.estuary(project, unique("nothing")), 404, "not_found");
    await expectError(await api.estuary(project, plain), 404, "not_found");
  });

  test("DELETE /v1/estuary removes the estuary stream and its subscriptions", async () => {
    const source = unique("remove-source");
    const estuary = unique("remove-estuary");
    const other = unique("remove-other");
    await api.create(project, source, JSON_TYPE);
    await api.subscribeNew(project, source, estuary);
    await api.subscribeNew(project, source, other);
    expect((await api.status(project, source)).subscribers).toBe(2);

    const removed = await api.estuary(project, estuary, "DELETE");
    expect(removed.status).toBe(204);
    const gone = await fetch(`${api.streamUrl(project, estuary)}?offset=-1`);
    await gone.body?.cancel();
    expect(gone.status).toBe(404);
    expect((await api.status(project, source)).subscribers).toBe(1);
    await expectError(await api.estuary(project, estuary, "DELETE"), 404, "not_found");

    // Publishing afterwards reaches the remaining subscriber and does not resurrect the estuary.
    const tail = await api.appendJson(project, source, { after: "delete" });
    await waitForJson(other, [{ after: "delete" }]);
    await waitForFannedOut(api, project, source, tail);
    const still = await fetch(`${api.streamUrl(project, estuary)}?offset=-1`);
    await still.body?.cancel();
    expect(still.status).toBe(404);
  });

  test("the subscribers route reports count, mode, breaker, fan-out offsets and cost", async () => {
    const source = unique("status-source");
    await api.create(project, source, JSON_TYPE);
    const emptyTail = await api.tail(project, source);
    const zero = { messagesDelivered: 0, rpcs: 0, sourceReads: 0, rowsWritten: 0, queueMessages: 0 };
    const noPulls = { pullChecks: 0, pullReads: 0, messagesPulled: 0, pullRowsWritten: 0, subscriberRowsWritten: 0 };
    expect(await api.status(project, source)).toEqual({
      subscribers: 0,
      hot: 0,
      pushed: 0,
      pulled: 0,
      mode: "inline",
      breaker: "closed",
      fannedOutOffset: emptyTail,
      targetOffset: emptyTail,
      pendingRepairs: 0,
      cost: { ...zero, ...noPulls },
      policy: { mode: "required" },
      committedOffset: emptyTail,
      lastError: null,
      sinks: [],
      commitHeldBy: [],
      // A stream without a policy: nothing trimmed.
      retention: expect.objectContaining({ policy: null, trimmed: expect.objectContaining({ rows: 0 }) }),
    });

    const estuaries = [unique("status-a"), unique("status-b")];
    for (const estuary of estuaries) await api.subscribeNew(project, source, estuary);
    const tail = await api.appendJson(project, source, { n: 1 });
    for (const estuary of estuaries) await waitForJson(estuary, [{ n: 1 }]);
    const status = await waitForFannedOut(api, project, source, tail);
    expect(status).toEqual({
      subscribers: 2,
      // Read (by waitForJson), so hot; below FANOUT_PULL_THRESHOLD every subscriber is pushed to anyway.
      hot: 2,
      pushed: 2,
      pulled: 0,
      mode: "inline",
      breaker: "closed",
      fannedOutOffset: tail,
      targetOffset: tail,
      pendingRepairs: 0,
      // The small append travelled with the publish: one delivery RPC per estuary, no source read.
      cost: expect.objectContaining({ messagesDelivered: 2, rpcs: 2, sourceReads: 0, queueMessages: 0, pullReads: 0 }),
      policy: { mode: "required" },
      committedOffset: tail,
      lastError: null,
      sinks: [],
      commitHeldBy: [],
      // A stream without a policy: nothing trimmed.
      retention: expect.objectContaining({ policy: null, trimmed: expect.objectContaining({ rows: 0 }) }),
    });
    await expectError(await fetch(`${server.baseUrl}/v1/estuary/subscribers/${project}/${unique("none")}`), 404, "not_found");
  });
});
