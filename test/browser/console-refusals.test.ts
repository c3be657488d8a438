// The console under the production configuration (auth on) in headless Chromium: a refusal that
// retrying cannot fix is named and ends the retries. A project created as README's admin example
// does, with `corsOrigins: []`, refuses the console's own origin on the upgrade (which a browser sees
// only as 1006); a token that does not cover the stream is refused by the server with a JSON error.
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWranglerDev, type DevServer } from "../support/wrangler-dev";
import { chromiumPath, launchChromium } from "./chromium";

const ADMIN_TOKEN = "console-refusals-admin-token";
const PROJECT = "acme";
const WAIT_MS = 15_000;
/** Longer than the client's first backoff steps (500 ms, then up to 1 s): a retry would show. */
const NO_RETRY_MS = 2_500;

let server: DevServer;
let browser: Browser;

beforeAll(async () => {
  if (!chromiumPath) return;
  // AUTH_CACHE_MS 0: a corsOrigins change applies to the next request, not 10 s later.
  server = await startWranglerDev({ env: "production", vars: { ADMIN_TOKEN, AUTH_CACHE_MS: "0" } });
  browser = await launchChromium();
  await admin("POST", "/v1/admin/projects", { project: PROJECT, corsOrigins: [] });
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

async function admin(method: string, path: string, body: unknown): Promise<Record<string, unknown>> {
  const response = await fetch(`${server.baseUrl}${path}`, {
    method,
    headers: { Authorization: `Bearer ${ADMIN_TOKEN}`, "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  expect(response.ok, `${method} ${path}: ${response.status} ${text}`).toBe(true);
  return JSON.parse(text) as Record<string, unknown>;
}

async function token(scope: string[], streams?: string[]): Promise<string> {
  const answer = await admin("POST", `/v1/admin/projects/${PROJECT}/tokens`, { scope, ttlSeconds: 600, streams });
  return String(answer.token);
}

async function createStream(stream: string, writer: string): Promise<void> {
  const response = await fetch(`${server.baseUrl}/v1/stream/${PROJECT}/${stream}`, {
    method: "PUT",
    headers: { Authorization: `Bearer ${writer}`, "Content-Type": "application/json" },
    body: JSON.stringify([{ n: 1 }]),
  });
  expect(response.status).toBe(201);
}

/** Opens the console on the service's own origin, counting the WebSockets the page opens. */
async function openConsole(stream: string, readToken: string): Promise<{ page: Page; sockets: () => number }> {
  const page = await browser.newPage();
  let sockets = 0;
  page.on("websocket", () => sockets++);
  await page.goto(`${server.baseUrl}/console/`);
  await page.fill("#path", `${PROJECT}/${stream}`);
  await page.fill("#token", readToken);
  await page.click("#open");
  return { page, sockets: () => sockets };
}

const statusText = async (page: Page) => (await page.textContent("#status")) ?? "";

describe.skipIf(!chromiumPath)("the console's refusals under --env production", () => {
  it("names an Origin missing from corsOrigins, stops retrying, and opens once the origin is added", async () => {
    const stream = `refused-${crypto.randomUUID().slice(0, 8)}`;
    const writer = await token(["write"]);
    await createStream(stream, writer);
    const { page, sockets } = await openConsole(stream, await token(["read"]));

    await page.locator('#status[data-state="refused"]').waitFor({ timeout: WAIT_MS });
    const text = await statusText(page);
    expect(text).toContain(`this page's origin (${server.baseUrl}) is not allowed for project ${PROJECT}`);
    expect(text).toContain("corsOrigins");
    const tried = sockets();
    expect(tried).toBeGreaterThanOrEqual(1);
    // Absence of a retry can only be seen by waiting past the backoff it would have used.
    await page.waitForTimeout(NO_RETRY_MS);
    expect(sockets()).toBe(tried);
    expect(await page.getAttribute("#status", "data-state")).toBe("refused");

    await admin("PATCH", `/v1/admin/projects/${PROJECT}`, { corsOrigins: [server.baseUrl] });
    await page.click("#open");
    await page.locator('#status[data-state="open"]').waitFor({ timeout: WAIT_MS });
    await page.locator("#messages li").first().waitFor({ timeout: WAIT_MS });
    expect(await page.$$eval("#messages li .msg-body", (items) => items.map((item) => item.textContent))).toEqual([JSON.stringify({ n: 1 })]);
    await admin("PATCH", `/v1/admin/projects/${PROJECT}`, { corsOrigins: [] });
    await page.close();
  });

  it("does not blame an allowed origin when an upgrade fails for another reason (an offset past the end)", async () => {
    const stream = `allowed-${crypto.randomUUID().slice(0, 8)}`;
    await createStream(stream, await token(["write"]));
    await admin("PATCH", `/v1/admin/projects/${PROJECT}`, { corsOrigins: [server.baseUrl] });
    const page = await browser.newPage();
    await page.goto(`${server.baseUrl}/console/`);
    await page.fill("#path", `${PROJECT}/${stream}`);
    await page.fill("#offset", "9999999999999999_9999999999999999");
    await page.fill("#token", await token(["read"]));
    await page.click("#open");
    // Two failed upgrades, each diagnosed: the origin is allowed, so the client keeps retrying.
    await page.locator("#log li", { hasText: "reconnecting" }).nth(1).waitFor({ timeout: WAIT_MS });
    const log = await page.$$eval("#log li", (items) => items.map((item) => item.textContent ?? ""));
    expect(log.some((entry) => entry.includes("not allowed"))).toBe(false);
    expect(await page.getAttribute("#status", "data-state")).not.toBe("refused");
    await admin("PATCH", `/v1/admin/projects/${PROJECT}`, { corsOrigins: [] });
    await page.close();
  });

  it("shows the server's JSON error for a token that does not cover the stream, and opens no socket", async () => {
    const stream = `forbidden-${crypto.randomUUID().slice(0, 8)}`;
    await createStream(stream, await token(["write"]));
    const { page, sockets } = await openConsole(stream, await token(["read"], ["someone-else"]));

    await page.locator('#status[data-state="refused"]').waitFor({ timeout: WAIT_MS });
    const text = await statusText(page);
    expect(text).toContain("403");
    expect(text).toContain("forbidden");
    expect(sockets()).toBe(0);
    await page.close();
  });
});
