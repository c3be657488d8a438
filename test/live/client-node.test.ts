// /v1/client.js over Node 22's own WebSocket against a real `wrangler dev`: a refused upgrade (a
// missing stream) reaches Node as an `error` event with no `close`, and the client must still retry
// it with backoff, as it does in a browser (which sees close 1006), then read the stream once it exists.
/// <reference types="node" />
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openStream, type Status, type StreamHandle } from "../../public/v1/client.js";
import { rm } from "node:fs/promises";
import { startWranglerDev, type DevServer } from "../support/wrangler-dev";

const PROJECT = "client-node";
const JSON_TYPE = "application/json";
const WAIT_MS = 20_000;

let server: DevServer;
const handles: StreamHandle[] = [];

beforeAll(async () => {
  if (typeof globalThis.WebSocket !== "function") {
    throw new Error(`this test needs Node 22's global WebSocket, but runs on Node ${process.version}: run it with npm run test:live`);
  }
  server = await startWranglerDev();
});

afterAll(async () => {
  for (const handle of handles) handle.close();
  await server?.stop();
  if (server) await rm(server.persistDir, { recursive: true, force: true });
});

const streamUrl = (stream: string) => `${server.baseUrl}/v1/stream/${PROJECT}/${stream}`;

async function send(stream: string, method: "PUT" | "POST", body?: string): Promise<void> {
  const response = await fetch(streamUrl(stream), { method, headers: { "Content-Type": JSON_TYPE }, body });
  expect(response.ok, `${method} ${stream}: ${response.status} ${await response.text()}`).toBe(true);
}

/** Statuses and data as they arrive, and a way to wait until they match. */
function watch() {
  const statuses: Status[] = [];
  const data: unknown[] = [];
  const waiters = new Set<() => void>();
  const changed = () => {
    for (const waiter of waiters) waiter();
  };
  return {
    statuses,
    data,
    onStatus(status: Status) {
      statuses.push(status);
      changed();
    },
    onData(value: unknown) {
      data.push(value);
      changed();
    },
    until(match: (statuses: Status[]) => boolean, what: string): Promise<void> {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}; statuses: ${JSON.stringify(statuses)}`)), WAIT_MS);
        const check = () => {
          if (!match(statuses)) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve();
        };
        waiters.add(check);
        check();
      });
    },
  };
}

describe("/v1/client.js on Node 22's WebSocket", () => {
  it("retries a refused upgrade (missing stream) with backoff, then reads the stream once it exists", async () => {
    const stream = `missing-${crypto.randomUUID().slice(0, 8)}`;
    const watcher = watch();
    const handle = openStream(streamUrl(stream), {
      offset: "-1",
      initialBackoffMs: 50,
      maxBackoffMs: 400,
      onData: (value) => watcher.onData(value),
      onStatus: (status) => watcher.onStatus(status),
    });
    handles.push(handle);

    const failures = (statuses: Status[]) => statuses.filter((status) => status.state === "reconnecting");
    await watcher.until((statuses) => failures(statuses).length >= 3, "three failed upgrades");
    expect(failures(watcher.statuses).map((status) => [status.code, status.attempt])).toEqual([
      [1006, 1],
      [1006, 2],
      [1006, 3],
    ]);
    // Exponential: each wait's cap doubles (jitter keeps it within [cap/2, cap]).
    for (const [i, status] of failures(watcher.statuses).entries()) {
      const cap = 50 * 2 ** i;
      expect(status.delayMs).toBeGreaterThanOrEqual(cap / 2);
      expect(status.delayMs).toBeLessThanOrEqual(cap);
    }
    expect(watcher.statuses.some((status) => status.state === "open")).toBe(false);

    await send(stream, "PUT");
    await send(stream, "POST", JSON.stringify([{ n: 1 }]));
    await watcher.until((statuses) => statuses.at(-1)?.state === "open", "the connection to open");
    await watcher.until(() => watcher.data.length > 0, "the first frame");
    expect(watcher.data[0]).toEqual([{ n: 1 }]);
    handle.close();
    expect(handle.state).toBe("stopped");
  });
});
