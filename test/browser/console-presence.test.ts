// The console's presence panel in headless Chromium against `wrangler dev` (auth off, a short
// grace): users who join the open stream appear, live, once each however many tabs they have, and a
// user whose last socket closes disappears after the grace.
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { upgrade, type SocketClient } from "../security/ws-support";
import { startWranglerDev, type DevServer } from "../support/wrangler-dev";
import { chromiumPath, launchChromium } from "./chromium";

const WAIT_MS = 20_000;
let server: DevServer;
let browser: Browser;

beforeAll(async () => {
  if (!chromiumPath) return;
  server = await startWranglerDev({ vars: { PRESENCE_GRACE_MS: "500" } });
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

async function join(stream: string, user: string): Promise<SocketClient> {
  const outcome = await upgrade(`${server.baseUrl}/v1/stream/default/${stream}?offset=now&live=ws&presence=true&user=${user}`);
  if (!outcome.socket) throw new Error(`upgrade refused: ${outcome.status} ${outcome.body}`);
  return outcome.socket;
}

const present = (page: Page, user: string) => page.locator(`#present li[data-user="${user}"]`);

describe.skipIf(!chromiumPath)("the console's presence panel", () => {
  it("shows who is present, live: users once however many tabs, gone after the grace", async () => {
    const stream = `lobby-${crypto.randomUUID().slice(0, 8)}`;
    const created = await fetch(`${server.baseUrl}/v1/stream/${stream}`, { method: "PUT", headers: { "Content-Type": "application/json" } });
    expect(created.status).toBe(201);
    const page = await browser.newPage();
    await page.goto(`${server.baseUrl}/console/`);
    await page.fill("#path", stream);
    await page.click("#open");
    await page.locator("#presence-note", { hasText: "Nobody is present." }).waitFor({ timeout: WAIT_MS });

    const alice = [await join(stream, "alice"), await join(stream, "alice")];
    const bob = await join(stream, "bob");
    await present(page, "alice").waitFor({ timeout: WAIT_MS });
    await present(page, "bob").waitFor({ timeout: WAIT_MS });
    expect(await page.locator("#present li").count()).toBe(2);
    expect(await page.textContent("#presence-note")).toBe("2 present");

    bob.close();
    await present(page, "bob").waitFor({ state: "detached", timeout: WAIT_MS });
    expect(await page.locator("#present li").count()).toBe(1);
    for (const tab of alice) tab.close();
    await page.close();
  });
});
