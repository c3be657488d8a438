// Fan-out at scale against wrangler dev: inline at the threshold, the queue above it, 1000 subscribers.
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { DevServer } from "../support/wrangler-dev";
import { Api, mapLimit, startServer, stopServer, unique, waitForEstuaries, waitForPushed, type FanoutStatusBody, type Tally } from "./harness";

const JSON_TYPE = "application/json";
const project = "scale";
const MESSAGES = 5;
const SUBSCRIBE_CONCURRENCY = 20;
const CONVERGE_MS = 120_000;

let server: DevServer;
let api: Api;

beforeAll(async () => {
  server = await startServer();
  api = new Api(server.baseUrl);
});

afterAll(async () => {
  await stopServer(server);
});

/**
 * Subscribes `count` estuaries to a new source, publishes MESSAGES messages one after another,
 * waits until fan-out has pushed every one of them to every estuary (none pulled: waitForPushed
 * fails otherwise), then reads each estuary and compares it with those messages in order.
 */
async function fanOut(count: number): Promise<{ status: FanoutStatusBody; pushed: FanoutStatusBody; tally: Tally }> {
  const started = Date.now();
  const source = unique(`src${count}`);
  await api.create(project, source, JSON_TYPE);
  const estuaries = Array.from({ length: count }, (_, index) => `${source}-e${index}`);
  await mapLimit(estuaries, SUBSCRIBE_CONCURRENCY, (estuary) => api.subscribeNew(project, source, estuary));
  const subscribedAt = Date.now();
  const status = await api.status(project, source);

  const messages = Array.from({ length: MESSAGES }, (_, seq) => ({ source, seq, body: `message ${seq} of ${source}` }));
  let tail = "";
  for (const message of messages) tail = await api.appendJson(project, source, message);
  const publishedAt = Date.now();

  const pushed = await waitForPushed(api, project, source, tail, count * MESSAGES, CONVERGE_MS);
  const pushedAt = Date.now();
  const tally = await waitForEstuaries(api, project, estuaries, messages, CONVERGE_MS);
  const doneAt = Date.now();
  process.stdout.write(
    `scale: source=${source} subscribers=${count} mode=${status.mode} estuaries checked=${estuaries.length} ` +
      `messages each=${MESSAGES} exact=${tally.exact} duplicates found=${tally.duplicates} missing found=${tally.missing} ` +
      `out of order/unexpected=${tally.unexpected} subscribe=${subscribedAt - started}ms ` +
      `publish=${publishedAt - subscribedAt}ms pushed=${pushedAt - publishedAt}ms converge=${doneAt - publishedAt}ms\n`,
  );
  return { status, pushed, tally };
}

describe("fan-out at scale", () => {
  test("200 subscribers are served inline and every estuary gets each message exactly once, in order", async () => {
    const { status, pushed, tally } = await fanOut(200);
    expect(status.subscribers).toBe(200);
    expect(pushed.pushed).toBe(200);
    expect(status.mode).toBe("inline");
    expect(pushed.cost.queueMessages).toBe(0);
    expect(tally).toEqual({ exact: 200, duplicates: 0, missing: 0, unexpected: 0 });
  }, 180_000);

  test("201 subscribers go through the queue and every estuary gets each message exactly once, in order", async () => {
    const { status, pushed, tally } = await fanOut(201);
    expect(status.subscribers).toBe(201);
    expect(pushed.pushed).toBe(201);
    expect(status.mode).toBe("queue");
    expect(pushed.cost.queueMessages).toBeGreaterThan(0);
    expect(tally).toEqual({ exact: 201, duplicates: 0, missing: 0, unexpected: 0 });
  }, 180_000);

  test("1000 subscribers each get every message exactly once, in order", async () => {
    const { status, pushed, tally } = await fanOut(1000);
    expect(status.subscribers).toBe(1000);
    expect(pushed.pushed).toBe(1000);
    expect(status.mode).toBe("queue");
    expect(pushed.cost.queueMessages).toBeGreaterThan(0);
    expect(tally).toEqual({ exact: 1000, duplicates: 0, missing: 0, unexpected: 0 });
  }, 300_000);
});

describe("the commit policy through the queue", () => {
  test("an append to 201 subscribers waits until every queue job has delivered it", async () => {
    const source = unique("commit-queue");
    await api.create(project, source, JSON_TYPE);
    const estuaries = Array.from({ length: 201 }, (_, index) => `${source}-e${index}`);
    const subscribed = await api.subscribe(project, source, { estuaryIds: estuaries });
    expect(subscribed.status).toBe(200);
    const message = { source, seq: 0 };
    const response = await fetch(api.streamUrl(project, source), {
      method: "POST",
      headers: { "Content-Type": JSON_TYPE, "Stream-Await-Commit": "30000" },
      body: JSON.stringify([message]),
    });
    expect(response.status).toBe(204);
    expect(response.headers.get("Stream-Committed")).toBe("true");
    // Committed means delivered: the queue jobs have pushed it to all 201 already (reads would pull
    // what was missing, so the delivery counter is what tells).
    const status = await api.status(project, source);
    expect(status.mode).toBe("queue");
    expect(status.committedOffset).toBe(response.headers.get("Stream-Next-Offset"));
    expect(status.cost.messagesDelivered).toBe(201);
    const tally = await waitForEstuaries(api, project, estuaries, [message], 0);
    expect(tally).toEqual({ exact: 201, duplicates: 0, missing: 0, unexpected: 0 });
  }, 120_000);
});
