// The console page and /v1/client.js in a real browser (headless Chromium) against `wrangler dev`.
// The page is loaded through a TCP relay in this process, so the test can really break the
// browser's connection: cut every TCP connection (and refuse new ones for a while), or stall the
// WebSocket's so that no byte moves and only the client's missing pong can tell. Messages appended
// meanwhile must show on the page exactly once, in order, after the client reconnects.
import { connect, createServer, type Server, type Socket } from "node:net";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWranglerDev, type DevServer } from "../support/wrangler-dev";
import { chromiumPath, launchChromium } from "./chromium";

interface Pair {
  client: Socket;
  upstream: Socket;
  webSocket: boolean;
}

/** A TCP relay to wrangler dev whose connections the test can cut or stall. */
class Relay {
  private readonly pairs = new Set<Pair>();
  private refusing = false;
  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(targetPort: number): Promise<Relay> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const address = server.address();
    const relay = new Relay(server, typeof address === "object" && address ? address.port : 0);
    server.on("connection", (client) => relay.accept(client, targetPort));
    return relay;
  }

  private accept(client: Socket, targetPort: number): void {
    if (this.refusing) {
      client.resetAndDestroy();
      return;
    }
    const upstream = connect(targetPort, "127.0.0.1");
    const pair: Pair = { client, upstream, webSocket: false };
    this.pairs.add(pair);
    client.once("data", (head: Buffer) => {
      pair.webSocket = /^upgrade:\s*websocket/im.test(head.toString("latin1"));
    });
    client.pipe(upstream);
    upstream.pipe(client);
    const forget = () => {
      client.destroy();
      upstream.destroy();
      this.pairs.delete(pair);
    };
    for (const socket of [client, upstream]) {
      socket.on("error", forget);
      socket.on("close", forget);
    }
  }

  /** Drops every connection (RST, no WebSocket close frame) and refuses new ones until restore(). */
  cut(): void {
    this.refusing = true;
    for (const pair of this.pairs) {
      pair.client.resetAndDestroy();
      pair.upstream.destroy();
    }
  }

  restore(): void {
    this.refusing = false;
  }

  /** Open WebSockets stop carrying bytes either way, but stay open: a silent dead path. */
  stallWebSockets(): number {
    let stalled = 0;
    for (const pair of this.pairs) {
      if (!pair.webSocket) continue;
      pair.client.unpipe(pair.upstream);
      pair.upstream.unpipe(pair.client);
      pair.client.pause();
      pair.upstream.pause();
      stalled++;
    }
    return stalled;
  }

  async close(): Promise<void> {
    for (const pair of this.pairs) {
      pair.client.destroy();
      pair.upstream.destroy();
    }
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

let server: DevServer;
let relay: Relay;
let browser: Browser;
const pageErrors: string[] = [];

beforeAll(async () => {
  if (!chromiumPath) return;
  server = await startWranglerDev();
  relay = await Relay.start(server.port);
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await relay?.close();
  await server?.stop();
});

const JSON_TYPE = { "Content-Type": "application/json" };
const WAIT_MS = 15_000;

async function createStream(path: string, body: string): Promise<void> {
  const response = await fetch(`${server.baseUrl}/v1/stream/${path}`, { method: "PUT", headers: JSON_TYPE, body });
  expect(response.status).toBe(201);
}

/** Appends over HTTP straight to wrangler dev (never through the relay). */
async function append(path: string, n: number): Promise<void> {
  const response = await fetch(`${server.baseUrl}/v1/stream/${path}`, { method: "POST", headers: JSON_TYPE, body: JSON.stringify([{ n }]) });
  expect(response.status).toBe(204);
}

const expected = (count: number) => Array.from({ length: count }, (_, i) => JSON.stringify({ n: i + 1 }));

async function shown(page: Page): Promise<string[]> {
  return page.$$eval("#messages li .msg-body", (items) => items.map((item) => item.textContent ?? ""));
}

async function log(page: Page): Promise<string[]> {
  return page.$$eval("#log li", (items) => items.map((item) => item.textContent ?? ""));
}

/** Waits for `count` messages, then checks they are exactly 1..count, once each, in order. */
async function expectShown(page: Page, count: number): Promise<void> {
  await page.locator("#messages li").nth(count - 1).waitFor({ timeout: WAIT_MS });
  expect(await shown(page)).toEqual(expected(count));
}

async function waitForState(page: Page, state: string): Promise<void> {
  await page.locator(`#status[data-state="${state}"]`).waitFor({ timeout: WAIT_MS });
}

/** Opens the console through the relay and opens `path` on it. */
async function openConsole(path: string, pingMs: number): Promise<Page> {
  const page = await browser.newPage();
  page.on("pageerror", (error) => pageErrors.push(String(error)));
  page.on("console", (message) => {
    // A dropped or refused WebSocket logs an error by itself; a CSP refusal would be our fault.
    if (message.text().includes("Content Security Policy")) pageErrors.push(message.text());
  });
  await page.goto(`http://127.0.0.1:${relay.port}/console/?ping=${pingMs}`);
  await page.fill("#path", path);
  await page.click("#open");
  await waitForState(page, "open");
  return page;
}

describe.skipIf(!chromiumPath)("the console page in Chromium", () => {
  it("shows appends live, appends from its own form, and after a cut connection resumes with every message once, in order", async () => {
    const path = `browser/cut-${crypto.randomUUID().slice(0, 8)}`;
    await createStream(path, JSON.stringify([{ n: 1 }]));
    const page = await openConsole(path, 1_000);
    await expectShown(page, 1);
    expect(await page.textContent("#content-type")).toBe("application/json");

    await append(path, 2);
    await expectShown(page, 2);

    // The page's own append form (POST with the stream's content type).
    await page.fill("#message", JSON.stringify({ n: 3 }));
    await page.click("#append");
    await expectShown(page, 3);
    // The message may come back over the socket before the POST's answer reaches the page.
    await page.locator("#append-result", { hasText: "appended" }).waitFor({ timeout: WAIT_MS });

    // The network goes away: every TCP connection is reset and reconnects are refused for a while.
    relay.cut();
    await waitForState(page, "reconnecting");
    for (const n of [4, 5, 6]) await append(path, n);
    // Stay down until at least one reconnect has failed, so the backoff path really ran.
    await page.locator("#log li", { hasText: "reconnecting" }).nth(1).waitFor({ timeout: WAIT_MS });
    expect(await shown(page)).toEqual(expected(3));

    relay.restore();
    await expectShown(page, 6);
    await waitForState(page, "open");
    await append(path, 7);
    await expectShown(page, 7);
    // Nothing more trickles in (a duplicate would arrive after the expected count).
    await page.waitForTimeout(500);
    expect(await shown(page)).toEqual(expected(7));
    expect((await log(page)).some((entry) => entry.includes("code 1006"))).toBe(true);
    expect(pageErrors).toEqual([]);
    await page.close();
  });

  it("notices a stalled connection by its missing pong and resumes from the last offset it showed", async () => {
    const path = `browser/stall-${crypto.randomUUID().slice(0, 8)}`;
    await createStream(path, JSON.stringify([{ n: 1 }]));
    const page = await openConsole(path, 500);
    await expectShown(page, 1);

    // No close, no reset: the socket just stops carrying bytes, as behind a NAT that forgot it.
    expect(relay.stallWebSockets()).toBeGreaterThanOrEqual(1);
    await append(path, 2); // sent by the server into the stalled connection
    await page.locator("#log li", { hasText: "no pong" }).first().waitFor({ timeout: WAIT_MS });
    await expectShown(page, 2);
    await append(path, 3);
    await expectShown(page, 3);
    await page.waitForTimeout(500);
    expect(await shown(page)).toEqual(expected(3));
    expect(pageErrors).toEqual([]);
    await page.close();
  });
});

describe("static assets under the production configuration", () => {
  it("[env.production] inherits [assets]: the client and the console are served while the API still wants a token", async () => {
    const production = await startWranglerDev({ env: "production" });
    try {
      const client = await fetch(`${production.baseUrl}/v1/client.js`);
      expect(client.status).toBe(200);
      expect(client.headers.get("Content-Type")).toContain("javascript");
      expect(client.headers.get("Access-Control-Allow-Origin")).toBe("*");
      expect(await client.text()).toContain("export function openStream");
      const page = await fetch(`${production.baseUrl}/console/`);
      expect(page.status).toBe(200);
      expect(page.headers.get("Content-Security-Policy")).toContain("connect-src 'self'");
      expect(await page.text()).toContain('<script type="module" src="./console.js">');
      const api = await fetch(`${production.baseUrl}/v1/stream/acme/orders`, { method: "PUT", headers: JSON_TYPE });
      expect(api.status).toBe(401);
      await api.body?.cancel();
    } finally {
      await production.stop();
    }
  });
});
