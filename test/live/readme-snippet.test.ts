// README's per-user channel snippet, run as README prints it: the test reads the ```js block of the
// "Per-user channels" section and runs it against a real `wrangler dev` (auth off), with Node 22's
// WebSocket and stand-ins for the browser's localStorage, console and timers. Only the host
// (127.0.0.1:8787) is swapped for the test server's. So the snippet in README cannot stop working
// (throw on the server's `pong`, lose its offset to an error frame) without this test failing.
/// <reference types="node" />
import { readFile, rm } from "node:fs/promises";
import { runInNewContext } from "node:vm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWranglerDev, type DevServer } from "../support/wrangler-dev";

const README = new URL("../../README.md", import.meta.url);
const SECTION = "### Per-user channels";
const README_HOST = "127.0.0.1:8787";
const WAIT_MS = 20_000;
const JSON_TYPE = { "Content-Type": "application/json" };

let server: DevServer;

beforeAll(async () => {
  if (typeof globalThis.WebSocket !== "function") {
    throw new Error(`this test needs Node 22's global WebSocket, but runs on Node ${process.version}: run it with npm run test:live`);
  }
  server = await startWranglerDev();
});

afterAll(async () => {
  for (const socket of RecordingSocket.all) socket.close();
  await server?.stop();
  if (server) await rm(server.persistDir, { recursive: true, force: true });
});

/** The first ```js block after the section's heading, as printed. */
async function snippet(): Promise<string> {
  const text = await readFile(README, "utf8");
  const section = text.indexOf(SECTION);
  expect(section, `README has a "${SECTION}" section`).toBeGreaterThan(-1);
  const block = /```js\n([\s\S]*?)```/.exec(text.slice(section));
  if (!block?.[1]) throw new Error(`no js block under "${SECTION}" in README`);
  expect(block[1]).toContain(README_HOST);
  return block[1];
}

type MessageListener = (event: MessageEvent) => void;

/**
 * Node's WebSocket, recording what arrives and what the snippet's handlers throw: a throw from a
 * handler would otherwise surface only as an uncaught exception (in Node it ends the process).
 */
class RecordingSocket extends WebSocket {
  static all: RecordingSocket[] = [];
  readonly received: string[] = [];
  readonly thrown: unknown[] = [];
  private handler: MessageListener | null = null;
  private readonly waiters = new Set<() => void>();

  constructor(url: string | URL) {
    super(url);
    RecordingSocket.all.push(this);
    super.addEventListener("message", (event) => {
      this.received.push(String(event.data));
      this.changed();
    });
  }

  override get onmessage(): MessageListener | null {
    return this.handler;
  }
  override set onmessage(handler: MessageListener | null) {
    this.handler = handler;
    super.onmessage = handler && ((event: MessageEvent) => this.guard(() => handler.call(this, event)));
  }

  override addEventListener(type: string, listener: EventListenerOrEventListenerObject, options?: boolean | AddEventListenerOptions): void {
    const call = (event: Event) =>
      this.guard(() => (typeof listener === "function" ? listener.call(this, event) : listener.handleEvent(event)));
    super.addEventListener(type, call, options);
  }

  private guard(run: () => void): void {
    try {
      run();
    } catch (error) {
      this.thrown.push(error);
    }
    this.changed();
  }

  changed(): void {
    for (const waiter of this.waiters) waiter();
  }

  /** Resolves once `done()` holds, checked after every message. */
  until(done: () => boolean, what: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}; received ${JSON.stringify(this.received)}`)), WAIT_MS);
      const check = () => {
        if (!done()) return;
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve();
      };
      this.waiters.add(check);
      check();
    });
  }
}

async function request(path: string, method: string, body?: string): Promise<Response> {
  const response = await fetch(`${server.baseUrl}${path}`, { method, headers: JSON_TYPE, body });
  expect(response.ok, `${method} ${path}: ${response.status}`).toBe(true);
  return response;
}

describe("README's per-user channel snippet", () => {
  it("logs every message of the sources alice follows, keeps its offset, and survives pong and error frames", async () => {
    // The setup of the section's shell block, as fetch calls.
    for (const source of ["orders", "alerts"]) {
      await request(`/v1/stream/acme/${source}`, "PUT");
      await request(`/v1/estuary/subscribe/acme/${source}`, "POST", JSON.stringify({ estuaryId: "user-alice" }));
    }

    const logged: unknown[] = [];
    const warned: unknown[] = [];
    const keepalives: (() => void)[] = [];
    const localStorage: Record<string, string> = {};
    const code = (await snippet()).replaceAll(README_HOST, new URL(server.baseUrl).host);
    runInNewContext(code, {
      WebSocket: RecordingSocket,
      localStorage,
      console: { log: (value: unknown) => logged.push(value), warn: (value: unknown) => warned.push(value), error: (value: unknown) => warned.push(value) },
      // The keepalive runs when the test says, not every 25 s.
      setInterval: (callback: () => void) => keepalives.push(callback),
      clearInterval: () => undefined,
    });
    const socket = RecordingSocket.all.at(-1);
    if (!socket) throw new Error("the snippet opened no WebSocket");

    await socket.until(() => socket.received.length > 0, "the first frame");
    await request("/v1/stream/acme/orders", "POST", JSON.stringify([{ order: 1 }]));
    await request("/v1/stream/acme/alerts", "POST", JSON.stringify([{ alert: 1 }]));
    await socket.until(() => logged.length >= 2, "both messages logged");
    expect(logged).toEqual(expect.arrayContaining([{ order: 1 }, { alert: 1 }]));
    expect(logged).toHaveLength(2);
    const tail = (await request("/v1/stream/acme/user-alice?offset=now", "GET")).headers.get("Stream-Next-Offset");
    await socket.until(() => localStorage.lastOffset === tail, "lastOffset at the channel's tail");

    // The keepalive: the server answers "pong", which is not JSON.
    expect(keepalives.length).toBeGreaterThan(0);
    for (const keepalive of keepalives) keepalive();
    await socket.until(() => socket.received.includes("pong"), "pong");

    // Anything but "ping" is answered with an error frame, which has no streamNextOffset.
    socket.send("hello");
    await socket.until(() => socket.received.some((text) => text.includes('"error"')), "the error frame");
    expect(socket.thrown).toEqual([]);
    expect(localStorage.lastOffset).toBe(tail);
    expect(logged).toHaveLength(2);
  });
});
