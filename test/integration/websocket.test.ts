// WebSocket live reads (live=ws) in the Workers runtime: the upgrade's refusals, frames, catch-up
// then live data, hibernation with eviction, the keepalive auto-response, close codes and limits.
import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { buildApp } from "../../src/app";
import type { StreamDO } from "../../src/stream/stream-do";
import { call, expectError, streamObject } from "./worker";
import { append, Client, create, open } from "./ws-client";

describe("WebSocket live reads", () => {
  it("refuses live=ws without an upgrade (426) and bad upgrades with the usual JSON errors, before any 101", async () => {
    await create("ws-refusals", "application/json", "[1]");
    await expectError(await call("/v1/stream/ws-refusals?offset=-1&live=ws"), 426, "upgrade_required");
    const upgrade = { headers: { Upgrade: "websocket" } };
    await expectError(await call("/v1/stream/ws-refusals?live=ws", upgrade), 400, "bad_request");
    await expectError(await call("/v1/stream/ws-refusals?offset=junk&live=ws", upgrade), 400, "bad_request");
    await expectError(await call("/v1/stream/ws-refusals?offset=0000000000000000_0000000000000999&live=ws", upgrade), 400, "bad_request");
    await expectError(await call("/v1/stream/ws-missing?offset=-1&live=ws", upgrade), 404, "not_found");
    await expectError(await call("/v1/stream/a/b/c?offset=-1&live=ws", upgrade), 400, "bad_request");
  });

  it("sends the catch-up as one JSON frame, then each append as it commits", async () => {
    await create("ws-json", "application/json", '[{"n":1},{"n":2}]');
    const client = await open("/v1/stream/ws-json?offset=-1&live=ws");
    const first = await client.frame();
    expect(first).toMatchObject({ data: [{ n: 1 }, { n: 2 }], upToDate: true });
    const tail = await append("ws-json", "application/json", '{"n":3}');
    expect(await client.frame()).toEqual({ data: [{ n: 3 }], streamNextOffset: tail, upToDate: true });
    await client.expectOnlyMarker("ws-json", { marker: true });
    client.ws.close(1000);
  });

  it("greets a reader at the tail with an empty up-to-date frame, and renders text and binary streams", async () => {
    await create("ws-text", "text/plain", "hello");
    const text = await open("/v1/stream/ws-text?offset=now&live=ws");
    expect(await text.frame()).toMatchObject({ data: "", upToDate: true });
    await append("ws-text", "text/plain", " world");
    expect(await text.frame()).toMatchObject({ data: " world", upToDate: true });

    await create("ws-bytes", "application/octet-stream", "\u0000\u0001");
    const bytes = await open("/v1/stream/ws-bytes?offset=-1&live=ws");
    expect(await bytes.frame()).toMatchObject({ data: btoa("\u0000\u0001"), encoding: "base64", upToDate: true });
  });

  it("resumes from a reconnect's last streamNextOffset with no gap and no duplicate", async () => {
    await create("ws-resume", "application/json", "[1,2]");
    const first = await open("/v1/stream/ws-resume?offset=-1&live=ws");
    const seen = await first.frame();
    first.ws.close(1000);
    await append("ws-resume", "application/json", "[3,4]");
    const again = await open(`/v1/stream/ws-resume?offset=${seen.streamNextOffset}&live=ws`);
    expect((await again.frame()).data).toEqual([3, 4]);
  });

  it("keeps delivering exactly once from each socket's attachment after the object is evicted with sockets open", async () => {
    await create("ws-hibernate", "application/json", "[0]");
    const stub = streamObject("default/ws-hibernate");
    const early = await open("/v1/stream/ws-hibernate?offset=-1&live=ws");
    expect((await early.frame()).data).toEqual([0]);
    const late = await open("/v1/stream/ws-hibernate?offset=now&live=ws");
    expect((await late.frame()).data).toEqual([]);

    const before = new WeakSet<StreamDO>();
    await runInDurableObject(stub, (instance: StreamDO) => void before.add(instance));
    await evictDurableObject(stub, { webSockets: "hibernate" });

    await append("ws-hibernate", "application/json", "[1]");
    expect(await early.frame()).toMatchObject({ data: [1], upToDate: true });
    expect(await late.frame()).toMatchObject({ data: [1], upToDate: true });
    const marker = { marker: "after eviction" };
    const tail = await append("ws-hibernate", "application/json", JSON.stringify(marker));
    for (const client of [early, late]) expect(await client.frame()).toEqual({ data: [marker], streamNextOffset: tail, upToDate: true });
    // The append was served by a new instance over the same storage and the same sockets.
    expect(await runInDurableObject(stub, (instance: StreamDO) => before.has(instance))).toBe(false);
  });

  it("answers ping with pong from the runtime, without the object", async () => {
    await create("ws-ping", "application/json");
    const stub = streamObject("default/ws-ping");
    const client = await open("/v1/stream/ws-ping?offset=now&live=ws");
    await client.frame();
    await evictDurableObject(stub, { webSockets: "hibernate" });
    client.ws.send("ping");
    expect(await client.next()).toBe("pong");
    const answeredAt = await runInDurableObject(stub, (_instance: StreamDO, state) =>
      state.getWebSockets().map((ws) => state.getWebSocketAutoResponseTimestamp(ws)),
    );
    expect(answeredAt).toHaveLength(1);
    expect(answeredAt[0]).toBeInstanceOf(Date);
  });

  it("answers other client messages with an error frame, and closes on oversized ones (1009)", async () => {
    await create("ws-chatty", "application/json");
    const client = await open("/v1/stream/ws-chatty?offset=now&live=ws");
    await client.frame();
    client.ws.send("hello?");
    expect((await client.frame()).error?.code).toBe("bad_request");
    client.ws.send("x".repeat(2_000));
    expect((await client.closed).code).toBe(1009);
  });

  it("ends a closed stream's socket with code 1000 after the frame marked streamClosed", async () => {
    await create("ws-closing", "application/json", "[1]");
    const client = await open("/v1/stream/ws-closing?offset=-1&live=ws");
    await client.frame();
    const response = await call("/v1/stream/ws-closing", { method: "POST", headers: { "Stream-Closed": "true" } });
    expect(response.status).toBe(204);
    expect(await client.frame()).toMatchObject({ data: [], upToDate: true, streamClosed: true });
    expect((await client.closed).code).toBe(1000);
  });

  it("closes the sockets of a deleted stream with 4404", async () => {
    await create("ws-deleted", "application/json");
    const client = await open("/v1/stream/ws-deleted?offset=now&live=ws");
    await client.frame();
    expect((await call("/v1/stream/ws-deleted", { method: "DELETE" })).status).toBe(204);
    expect((await client.closed).code).toBe(4404);
  });

  it("refuses an upgrade above WS_MAX_PER_STREAM with 429 before any 101", async () => {
    await create("ws-full", "application/json");
    const clients = [];
    for (let i = 0; i < 3; i++) clients.push(await open("/v1/stream/ws-full?offset=now&live=ws"));
    await expectError(await call("/v1/stream/ws-full?offset=now&live=ws", { headers: { Upgrade: "websocket" } }), 429, "too_many_sockets");
  });

  it("closes a socket with 4401 when the ?token= it was opened with through the Worker expires", async () => {
    // The production configuration's switch on this test's bindings, with the admin API on.
    const app = buildApp();
    const authOn = { ...env, AUTH_MODE: "on", ADMIN_TOKEN: "websocket-test-admin" };
    const admin = (path: string, body: unknown) =>
      app.request(`/v1/admin${path}`, { method: "POST", headers: { Authorization: "Bearer websocket-test-admin", "Content-Type": "application/json" }, body: JSON.stringify(body) }, authOn);
    expect((await admin("/projects", { project: "ws-auth", corsOrigins: [] })).status).toBe(201);
    const minted = await admin("/projects/ws-auth/tokens", { scope: ["read"], ttlSeconds: 1 });
    expect(minted.status).toBe(201);
    const { token, expiresAt } = await minted.json<{ token: string; expiresAt: string }>();
    await create("ws-auth/expiring", "application/json");

    const path = `/v1/stream/ws-auth/expiring?offset=now&live=ws&token=${encodeURIComponent(token)}`;
    expect((await app.request(path.replace(token, "junk"), { headers: { Upgrade: "websocket" } }, authOn)).status).toBe(401);
    const response = await app.request(path, { headers: { Upgrade: "websocket" } }, authOn);
    expect(response.status).toBe(101);
    if (!response.webSocket) throw new Error("no WebSocket in the 101");
    const client = new Client(response.webSocket);
    expect((await client.frame()).data).toEqual([]);
    expect((await client.closed).code).toBe(4401);
    expect(Date.now()).toBeGreaterThanOrEqual(Date.parse(expiresAt));
  });
});
