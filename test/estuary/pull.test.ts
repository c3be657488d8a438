// Push/pull fan-out against a real `wrangler dev`, with a low FANOUT_PULL_THRESHOLD set by --var:
// hundreds of subscribers of which a few have live readers. Only the live ones are pushed to, and
// they receive each publish without asking; every other estuary pulls on its first read and holds
// exactly every message. A kill of wrangler dev while pushes and pulls are in flight loses nothing
// and duplicates nothing.
/// <reference types="node" />
import { afterAll, describe, expect, test } from "vitest";
import { upgrade, type SocketClient } from "../security/ws-support";
import type { DevServer } from "../support/wrangler-dev";
import { Api, mapLimit, pollUntil, startServer, stopServer, unique, waitForEstuaries } from "./harness";

const JSON_TYPE = "application/json";
const project = "pull";
const VARS = { FANOUT_PULL_THRESHOLD: "20", ESTUARY_HOT_MS: "10000" };
const SUBSCRIBERS = 300;
const MESSAGES = 5;
const CONVERGE_MS = 120_000;

let server: DevServer | undefined;

afterAll(async () => {
  await stopServer(server);
});

interface BulkAnswer {
  results: { estuaryId: string; status: string }[];
}

async function subscribeAll(api: Api, source: string, estuaries: readonly string[]): Promise<void> {
  const response = await api.subscribe(project, source, { estuaryIds: estuaries });
  const text = await response.text();
  expect(response.status, text).toBe(200);
  const { results } = JSON.parse(text) as BulkAnswer;
  expect(results.filter((result) => result.status === "created")).toHaveLength(estuaries.length);
}

/** A WebSocket reader of an estuary, from its start, collecting the messages its frames carry. */
async function socketReader(api: Api, estuary: string): Promise<{ messages: unknown[]; socket: SocketClient }> {
  const opened = await upgrade(`${api.streamUrl(project, estuary)}?offset=-1&live=ws`);
  expect(opened.status).toBe(101);
  const socket = opened.socket as SocketClient;
  const messages: unknown[] = [];
  void (async () => {
    for (;;) {
      const frame = await socket.frame().catch(() => null);
      if (!frame) return;
      if (Array.isArray(frame.data)) messages.push(...(frame.data as unknown[]));
    }
  })();
  return { messages, socket };
}

/** A long-poll reader of an estuary, polling until stopped, collecting what it receives. */
function longPollReader(api: Api, estuary: string): { messages: unknown[]; stop: () => void } {
  const messages: unknown[] = [];
  let stopped = false;
  void (async () => {
    let offset = "-1";
    while (!stopped) {
      const live = offset === "-1" ? "" : "&live=long-poll";
      const response = await fetch(`${api.streamUrl(project, estuary)}?offset=${offset}${live}`);
      const body = await response.text();
      if (response.status === 200) messages.push(...(JSON.parse(body) as unknown[]));
      offset = response.headers.get("Stream-Next-Offset") ?? offset;
    }
  })();
  return { messages, stop: () => (stopped = true) };
}

describe("push to the live, pull for the rest", () => {
  test("300 subscribers, 5 live readers: only those are pushed to, and every estuary holds every message once", async () => {
    server = await startServer({ vars: VARS });
    const api = new Api(server.baseUrl);
    const source = unique("src");
    await api.create(project, source, JSON_TYPE);
    const estuaries = Array.from({ length: SUBSCRIBERS }, (_, index) => `${source}-e${index}`);
    await subscribeAll(api, source, estuaries);

    const sockets = await Promise.all(estuaries.slice(0, 3).map((estuary) => socketReader(api, estuary)));
    const polls = estuaries.slice(3, 5).map((estuary) => longPollReader(api, estuary));
    const live = [...sockets, ...polls];
    await pollUntil("the 5 live estuaries to be hot", () => api.status(project, source), (status) => status.hot === 5);

    const messages = Array.from({ length: MESSAGES }, (_, seq) => ({ source, seq }));
    for (const message of messages) await api.appendJson(project, source, message);
    for (const reader of live) {
      await pollUntil("a live reader to hold every message", async () => reader.messages.length, (n) => n >= MESSAGES);
      expect(reader.messages).toEqual(messages);
    }

    const pushed = await api.status(project, source);
    expect(pushed).toMatchObject({ subscribers: SUBSCRIBERS, hot: 5, pushed: 5, pulled: SUBSCRIBERS - 5 });
    // Deliveries went to the live five only; none of them had to pull.
    expect(pushed.cost.messagesDelivered).toBe(5 * MESSAGES);
    expect(pushed.cost.messagesPulled).toBe(0);
    for (const { socket } of sockets) socket.close();
    for (const poll of polls) poll.stop();

    const tally = await waitForEstuaries(api, project, estuaries, messages, CONVERGE_MS);
    expect(tally).toEqual({ exact: SUBSCRIBERS, duplicates: 0, missing: 0, unexpected: 0 });
    const pulled = await api.status(project, source);
    expect(pulled.cost.messagesPulled).toBe((SUBSCRIBERS - 5) * MESSAGES);
    expect(pulled.cost.messagesDelivered).toBe(5 * MESSAGES);
  }, 180_000);

  test("a kill of wrangler dev while pushes and pulls are in flight loses and duplicates nothing", async () => {
    const api = new Api((server as DevServer).baseUrl);
    const source = unique("crash");
    await api.create(project, source, JSON_TYPE);
    const estuaries = Array.from({ length: 40 }, (_, index) => `${source}-e${index}`);
    await subscribeAll(api, source, estuaries);
    // Ten estuaries are read, so hot and pushed to; thirty stay cold.
    await mapLimit(estuaries.slice(0, 10), 10, (estuary) => api.readJson(project, estuary));

    // Appends and cold reads (pulls) run side by side; the process dies in the middle of them.
    let inFlight = 0;
    const tracked = async <T>(request: () => Promise<T>): Promise<T | null> => {
      inFlight++;
      try {
        return await request();
      } catch {
        return null; // Cut off by the kill.
      } finally {
        inFlight--;
      }
    };
    const acknowledged: number[] = [];
    const appending = mapLimit(Array.from({ length: 30 }, (_, seq) => seq), 5, async (seq) => {
      if ((await tracked(() => api.appendJson(project, source, { source, seq }))) !== null) acknowledged.push(seq);
    });
    const reading = mapLimit(estuaries.slice(10), 10, (estuary) => tracked(() => api.readJson(project, estuary)));
    await pollUntil("some appends to land", () => api.tail(project, source).catch(() => ""), (tail) => tail > "0000000000000000_0000000000000500");
    (server as DevServer).kill();
    const pendingAtKill = inFlight;
    await Promise.all([appending, reading]);
    // Otherwise the run proved nothing about a kill mid-flight.
    expect(pendingAtKill, "appends and reads unanswered at the kill").toBeGreaterThan(0);
    expect(acknowledged.length).toBeGreaterThan(0);

    server = await startServer({ persistDir: (server as DevServer).persistDir, vars: VARS });
    const restarted = new Api(server.baseUrl);
    await restarted.appendJson(project, source, { source, seq: "after" });
    // The source may also hold appends whose answer the kill cut off; every acknowledged one must be there.
    const expected = await restarted.readJson(project, source);
    const stored = new Set(expected.map((message) => JSON.stringify(message)));
    const lost = [...acknowledged, "after"].filter((seq) => !stored.has(JSON.stringify({ source, seq })));
    expect(lost, "acknowledged appends missing from the source").toEqual([]);
    const tally = await waitForEstuaries(restarted, project, estuaries, expected, CONVERGE_MS);
    process.stdout.write(
      `pull crash: ${acknowledged.length} appends acknowledged, ${pendingAtKill} requests unanswered at the kill, ` +
        `${expected.length} messages in the source; ${JSON.stringify(tally)}\n`,
    );
    expect(tally).toEqual({ exact: estuaries.length, duplicates: 0, missing: 0, unexpected: 0 });
  }, 180_000);
});
