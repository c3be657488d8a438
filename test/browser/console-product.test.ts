// The console as a user works with it, in headless Chromium against `wrangler dev` (auth off, the
// admin API on): find a stream in the list, create and delete one, append and see the message with
// its offset, watch a stream's subscribers and a failing data sink, see `gone` end the page's
// actions, and fit a phone's width. It also writes the screenshots in docs/ (console-1280.png,
// console-420.png) from the state it builds.
import { createServer, type Server } from "node:http";
import { fileURLToPath } from "node:url";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWranglerDev, type DevServer } from "../support/wrangler-dev";
import { chromiumPath, launchChromium } from "./chromium";

const ADMIN_TOKEN = "console-product-admin-token";
const WAIT_MS = 15_000;
const JSON_TYPE = { "Content-Type": "application/json" };
const docs = (name: string) => fileURLToPath(new URL(`../../docs/${name}`, import.meta.url));

let server: DevServer;
let browser: Browser;
/** A webhook receiver that refuses every batch, so a sink pointed at it retries with an error. */
let receiver: Server;
let receiverUrl = "";

beforeAll(async () => {
  if (!chromiumPath) return;
  server = await startWranglerDev({ vars: { ADMIN_TOKEN } });
  browser = await launchChromium();
  receiver = createServer((request, response) => {
    request.resume();
    response.writeHead(503, { "Content-Type": "text/plain" }).end("receiver down for maintenance");
  });
  await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
  const address = receiver.address();
  receiverUrl = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}/hook`;
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
  await new Promise<void>((resolve) => (receiver ? receiver.close(() => resolve()) : resolve()));
});

const unique = (prefix: string) => `${prefix}-${crypto.randomUUID().slice(0, 8)}`;

async function api(method: string, path: string, body?: unknown, headers: Record<string, string> = JSON_TYPE): Promise<Response> {
  return fetch(`${server.baseUrl}${path}`, { method, headers, body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body) });
}

async function createStream(key: string, body: unknown): Promise<void> {
  const response = await api("PUT", `/v1/stream/${key}`, body);
  expect(response.status).toBe(201);
}

/** The project's streams as the admin listing answers them (a stream registers with its project shortly after it is created). */
async function listed(project: string): Promise<string[]> {
  const response = await api("GET", `/v1/admin/projects/${project}/streams?limit=1000`, undefined, { Authorization: `Bearer ${ADMIN_TOKEN}` });
  expect(response.status).toBe(200);
  const { streams } = (await response.json()) as { streams: { stream: string }[] };
  return streams.map((entry) => entry.stream);
}

async function openConsole(width = 1280): Promise<Page> {
  const page = await browser.newPage({ viewport: { width, height: 900 } });
  await page.goto(`${server.baseUrl}/console/`);
  return page;
}

async function openStream(page: Page, key: string): Promise<void> {
  await page.fill("#path", key);
  await page.click("#open");
  await page.locator('#status[data-state="open"]').waitFor({ timeout: WAIT_MS });
}

const bodies = (page: Page) => page.$$eval("#messages li .msg-body", (items) => items.map((item) => item.textContent ?? ""));
const disabled = (page: Page, ids: string[]) => Promise.all(ids.map((id) => page.isDisabled(`#${id}`)));

describe.skipIf(!chromiumPath)("the console as a product, in Chromium", () => {
  it("lists a project's streams with the admin token, says why without it, and opens one from the list", async () => {
    const name = unique("listed");
    await createStream(`default/${name}`, [{ hello: "list" }]);
    await expect.poll(() => listed("default"), { timeout: WAIT_MS }).toContain(name);

    const page = await openConsole();
    // No admin token: the listing is refused, and the page says so and how to go on.
    await page.locator("#browse-note", { hasText: "Listing refused" }).waitFor({ timeout: WAIT_MS });
    expect(await page.textContent("#browse-note")).toContain("401");
    expect(await page.locator("#stream-list li").count()).toBe(0);

    await page.fill("#admin-token", ADMIN_TOKEN);
    await page.click("#refresh-list");
    const link = page.locator(`#stream-list .stream-link[data-key="default/${name}"]`);
    await link.waitFor({ timeout: WAIT_MS });
    expect(await link.textContent()).toContain("plain");
    await link.click();
    await page.locator('#status[data-state="open"]').waitFor({ timeout: WAIT_MS });
    await page.locator("#messages li").first().waitFor({ timeout: WAIT_MS });
    expect(await bodies(page)).toEqual([JSON.stringify({ hello: "list" })]);
    expect(await page.textContent("#stream-title")).toBe(`default/${name}`);
    expect(await link.getAttribute("aria-current")).not.toBeNull();
    await page.close();
  });

  it("creates a text stream, appends to it and shows the message with its offset, then deletes it", async () => {
    const name = unique("made");
    const page = await openConsole();
    await page.fill("#admin-token", ADMIN_TOKEN);
    await page.fill("#create-name", name);
    await page.selectOption("#create-type", "text/plain");
    await page.click("#create");
    await page.locator("#create-result", { hasText: `Created default/${name}` }).waitFor({ timeout: WAIT_MS });
    const head = await api("HEAD", `/v1/stream/default/${name}`);
    expect(head.status).toBe(200);
    expect(head.headers.get("Content-Type")).toContain("text/plain");
    // The new stream is opened at once.
    await page.locator('#status[data-state="open"]').waitFor({ timeout: WAIT_MS });
    expect(await page.textContent("#content-type")).toContain("text/plain");

    await page.fill("#message", "first words");
    await page.click("#append");
    const result = page.locator("#append-result", { hasText: "appended" });
    await result.waitFor({ timeout: WAIT_MS });
    const next = /next offset (\S+)\)/.exec((await result.textContent()) ?? "")?.[1];
    expect(next).toMatch(/^\d{16}_\d{16}$/);
    const row = page.locator("#messages li").first();
    await row.waitFor({ timeout: WAIT_MS });
    expect(await row.locator(".msg-body").textContent()).toBe("first words");
    // The row names where it was read from (the empty stream's end, where the first frame left the
    // client) and the offset after it, which the POST answered.
    const from = await row.getAttribute("data-offset");
    expect(from).toMatch(/^\d{16}_\d{16}$/);
    expect(from! < next!).toBe(true);
    expect(await row.locator(".msg-offset").textContent()).toBe(from);
    expect(await row.getAttribute("data-next")).toBe(next);
    expect(await row.locator(".msg-time").getAttribute("datetime")).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(await page.textContent("#current-offset")).toBe(next);

    // A second append is read from where the first ended.
    await page.fill("#message", "second words");
    await page.click("#append");
    const second = page.locator("#messages li").nth(1);
    await second.waitFor({ timeout: WAIT_MS });
    expect(await second.getAttribute("data-offset")).toBe(next);
    expect(await second.locator(".msg-offset").textContent()).toBe(next);

    await page.click("#delete");
    await page.click("#delete-yes");
    await page.locator("#banner", { hasText: "is gone" }).waitFor({ timeout: WAIT_MS });
    expect((await api("HEAD", `/v1/stream/default/${name}`)).status).toBe(404);
    expect(await disabled(page, ["append", "close", "delete"])).toEqual([true, true, true]);
    await expect.poll(() => listed("default"), { timeout: WAIT_MS }).not.toContain(name);
    await page.click("#refresh-list");
    await page.locator(`#stream-list .stream-link[data-key="default/${name}"]`).waitFor({ state: "detached", timeout: WAIT_MS });
    await page.close();
  });

  it("on `gone` (the stream deleted elsewhere) shows a banner and disables every action on the stream", async () => {
    const key = `default/${unique("gone")}`;
    await createStream(key, [{ n: 1 }]);
    const page = await openConsole();
    await openStream(page, key);
    expect(await disabled(page, ["append", "close", "delete", "fanout-refresh"])).toEqual([false, false, false, false]);

    expect((await api("DELETE", `/v1/stream/${key}`)).status).toBe(204);
    await page.locator('#status[data-state="gone"]').waitFor({ timeout: WAIT_MS });
    const banner = page.locator("#banner");
    expect(await banner.isVisible()).toBe(true);
    expect(await banner.getAttribute("role")).toBe("alert");
    expect(await banner.textContent()).toContain(`${key} is gone`);
    expect(await disabled(page, ["append", "close", "delete", "fanout-refresh"])).toEqual([true, true, true, true]);
    await page.close();
  });

  it("shows connections, an estuary subscriber and a failing sink's state; fits 420 px; writes the screenshots", async () => {
    const key = `default/${unique("orders")}`;
    const orders = [1, 2, 3].map((order) => ({ order, item: order === 1 ? "espresso beans" : "oat milk", qty: order + 1 }));
    await createStream(key, [orders[0]]);
    const estuary = unique("user-alice");
    const subscribed = await api("POST", `/v1/estuary/subscribe/${key}`, { estuaryId: estuary });
    expect(subscribed.status).toBeLessThan(300);
    await subscribed.body?.cancel();
    const sink = await api("POST", `/v1/estuary/subscribe/${key}`, { sink: { id: "billing-webhook", url: receiverUrl } });
    expect(sink.status).toBe(201);
    await sink.body?.cancel();
    for (const order of orders.slice(1)) expect((await api("POST", `/v1/stream/${key}`, [order])).status).toBe(204);

    const page = await openConsole();
    await page.fill("#admin-token", ADMIN_TOKEN);
    await page.click("#refresh-list");
    await openStream(page, key);
    await page.locator("#messages li").nth(2).waitFor({ timeout: WAIT_MS });
    // One catch-up frame of three JSON messages: each row has its own offset, the stored bytes before it.
    const tail = (await api("HEAD", `/v1/stream/${key}`)).headers.get("Stream-Next-Offset") ?? "";
    const epoch = tail.split("_")[0];
    const sizes = orders.map((order) => JSON.stringify(order).length);
    const offsets = sizes.map((_, i) => `${epoch}_${String(sizes.slice(0, i).reduce((a, b) => a + b, 0)).padStart(16, "0")}`);
    expect(`${epoch}_${String(sizes.reduce((a, b) => a + b, 0)).padStart(16, "0")}`).toBe(tail);
    expect(await page.$$eval("#messages li", (items) => items.map((item) => item.getAttribute("data-offset")))).toEqual(offsets);
    expect(await page.$$eval("#messages .msg-offset", (items) => items.map((item) => item.textContent))).toEqual(offsets);

    const refreshed = async (id: string) => {
      await page.click("#fanout-refresh");
      await page.locator("#fanout-note", { hasText: "Updated" }).waitFor({ timeout: WAIT_MS });
      return (await page.textContent(`#${id}`)) ?? "";
    };
    await expect.poll(() => refreshed("sub-count"), { timeout: WAIT_MS }).toBe("1");
    expect(await page.textContent("#sub-policy")).toBe("required");
    // This page's own WebSocket is one of the stream's connections.
    await expect.poll(() => refreshed("conn-ws"), { timeout: WAIT_MS }).toBe("1");
    const card = page.locator('#sinks .sink[data-sink-id="billing-webhook"]');
    await expect.poll(async () => (await refreshed("sub-count"), (await card.locator(".sink-state").textContent()) ?? ""), { timeout: WAIT_MS }).toBe("retrying");
    expect(await card.locator(".sink-error").textContent()).toContain("503");
    await card.locator("summary").click();
    await card.locator(".attempts li", { hasText: "503" }).first().waitFor({ timeout: WAIT_MS });
    await page.screenshot({ path: docs("console-1280.png"), fullPage: true });

    await page.setViewportSize({ width: 420, height: 900 });
    await page.fill("#message", JSON.stringify({ note: "a long message without spaces ".repeat(3).replaceAll(" ", "_") }));
    expect(await page.$eval("html", (html) => html.scrollWidth)).toBeLessThanOrEqual(420);
    await page.screenshot({ path: docs("console-420.png"), fullPage: true });
    await page.close();
  });

  it("labels every control, has landmarks, and announces status changes politely", async () => {
    const page = await openConsole(420);
    const unlabelled = await page.$$eval("input, select, textarea, button", (controls) =>
      controls
        .filter((control) => {
          const labels = (control as { labels?: { length: number } | null }).labels;
          const named = (labels && labels.length > 0) || control.getAttribute("aria-label") || (control.tagName === "BUTTON" && control.textContent?.trim());
          return !named;
        })
        .map((control) => control.id || control.outerHTML),
    );
    expect(unlabelled).toEqual([]);
    for (const landmark of ["header", "nav", "main"]) expect(await page.locator(landmark).count()).toBe(1);
    for (const id of ["browse-note", "create-result", "append-result", "fanout-note"]) {
      expect(await page.getAttribute(`#${id}`, "aria-live")).toBe("polite");
    }
    expect(await page.locator('[aria-live="polite"] #status').count()).toBe(1);
    expect(await page.$eval("html", (html) => html.scrollWidth)).toBeLessThanOrEqual(420);
    await page.close();
  });
});
