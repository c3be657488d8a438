// The presence log (GET /v1/presence/{project}/{stream}/events) reads like any JSON stream, in
// every read mode, with the source stream's access rules; with auth on the token names the user.
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import type { StreamDO } from "../../src/stream/stream-do";
import { afterEach, describe, expect, it, vi } from "vitest";
import { admin, createProject, createStream as createAuthStream, mint, openSocket, request } from "./identity-support";
import { createStream, eventLines, join, runAlarm, setClock, type ChangeEvent } from "./presence-support";
import { call, expectError, streamObject } from "./worker";

afterEach(() => {
  vi.useRealTimers();
});

describe("the presence log", () => {
  it("answers catch-up, long-poll, SSE and WebSocket reads of State Protocol change events", async () => {
    await createStream("presence-modes");
    await join("presence-modes", "alice");
    await runAlarm("presence-modes");
    const catchUp = await call("/v1/presence/default/presence-modes/events?offset=-1");
    expect(catchUp.status).toBe(200);
    const tail = catchUp.headers.get("Stream-Next-Offset") ?? "";
    const [joined] = await catchUp.json<ChangeEvent[]>();
    expect(joined).toEqual({ type: "presence", key: "alice", value: { user: "alice", since: expect.any(String) }, headers: { operation: "insert", timestamp: expect.any(String) } });

    const socket = await openSocket(`/v1/presence/default/presence-modes/events?offset=${tail}&live=ws`, env);
    const poll = call(`/v1/presence/default/presence-modes/events?offset=${tail}&live=long-poll`);
    const sse = await call(`/v1/presence/default/presence-modes/events?offset=${tail}&live=sse`);
    expect(sse.status).toBe(200);
    await join("presence-modes", "bob");
    await runAlarm("presence-modes");
    const polled = await poll;
    expect(polled.status).toBe(200);
    expect(await polled.json()).toEqual([expect.objectContaining({ key: "bob", headers: expect.objectContaining({ operation: "insert" }) })]);
    expect(await socket.next()).toMatchObject({ data: [{ key: "bob" }] });
    const reader = (sse.body as ReadableStream<Uint8Array>).getReader();
    let text = "";
    while (!text.includes('"bob"')) text += new TextDecoder().decode((await reader.read()).value);
    await reader.cancel();
    // The log's own socket counts are not reported to the project: the log is not one of its streams.
    await runDurableObjectAlarm(streamObject("default/presence-modes@presence"));
    const pending = await runInDurableObject(streamObject("default/presence-modes@presence"), (_instance, state) => state.storage.sql.exec("SELECT call FROM outbox").toArray());
    expect(pending).toEqual([]);
  });

  it("keeps a day of history by default (PRESENCE_LOG_RETENTION), as a default the log confirms on every create", async () => {
    await createStream("presence-kept");
    await join("presence-kept", "alice");
    await runAlarm("presence-kept");
    const stored = await runInDurableObject(streamObject("default/presence-kept@presence"), (_instance, state) =>
      state.storage.sql.exec<{ retention: string | null; retention_default: number }>("SELECT retention, retention_default FROM stream").one(),
    );
    expect(stored.retention).toContain("max-age=86400");
    expect(stored.retention_default).toBe(1);
    // A sink's create confirms the existing log (200 from its create), whatever the setting is now.
    const made = await call("/v1/presence/default/presence-kept/sinks", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ sink: { id: "k", url: "https://receiver.example/k" } }) });
    expect(made.status).toBe(201);
  });

  it("holds each event once when a flush fails after its append landed: the retry is the same batch, a producer duplicate", async () => {
    await createStream("presence-retry");
    await join("presence-retry", "alice");
    // The first flush's append lands, then the flush fails before it forgets the batch (as a crash there would).
    await runInDurableObject(streamObject("default/presence-retry"), (instance: StreamDO) => {
      const outgoing = (instance as unknown as { presence: { outgoing: { settle(batch: number): void } } }).presence.outgoing;
      const settle = outgoing.settle.bind(outgoing);
      let failed = false;
      outgoing.settle = (batch) => {
        if (failed) return settle(batch);
        failed = true;
        throw new Error("injected: the flush failed after its append");
      };
    });
    await runAlarm("presence-retry");
    expect(await eventLines("presence-retry")).toEqual(["insert presence alice", "insert occupancy presence-retry"]);
    await join("presence-retry", "bob");
    setClock(Date.now() + 60_000); // past the outbox's retry backoff
    await runAlarm("presence-retry");
    await runAlarm("presence-retry");
    expect(await eventLines("presence-retry")).toEqual(["insert presence alice", "insert occupancy presence-retry", "insert presence bob"]);
  });

  it("is not a stream of its own: the stream routes cannot name it, and presence= on it is refused", async () => {
    await createStream("presence-hidden");
    await expectError(await call("/v1/stream/presence-hidden@presence?offset=-1"), 400, "bad_request");
    await expectError(await call("/v1/presence/default/presence-hidden/events?offset=-1&presence=true&user=a&live=ws", { headers: { Upgrade: "websocket" } }), 400, "bad_request");
  });

  it("with auth on needs read on the stream for the snapshot and the log, and takes the user from the token", async () => {
    await createProject("presence-auth");
    await createAuthStream("presence-auth", "room");
    const reader = await mint("presence-auth", { scope: ["read"], streams: ["room"], user: "auth0|alice" });
    const other = await mint("presence-auth", { scope: ["read"], streams: ["elsewhere"], user: "mallory" });
    await openSocket(`/v1/stream/presence-auth/room?offset=now&live=ws&presence=true&token=${encodeURIComponent(reader.token)}`);
    const bearer = (token: string) => ({ headers: { Authorization: `Bearer ${token}` } });
    const seen = await request("/v1/presence/presence-auth/room", bearer(reader.token));
    expect(seen.status).toBe(200);
    expect(await seen.json()).toMatchObject({ users: [{ user: "auth0|alice", connections: 1 }], total: 1 });
    await expectError(await request("/v1/presence/presence-auth/room", bearer(other.token)), 403, "forbidden");
    await expectError(await request("/v1/presence/presence-auth/room/events?offset=-1", bearer(other.token)), 403, "forbidden");
    await expectError(await request("/v1/presence/presence-auth/room"), 401, "unauthorized");
  });

  it("shows the token's info with its user in the snapshot and the join event, and refuses to mint an oversized one", async () => {
    await createProject("presence-info");
    await createAuthStream("presence-info", "room");
    const info = { name: "Alice", avatar: "https://img.example/a.png" };
    const alice = await mint("presence-info", { scope: ["read"], user: "alice", info });
    await openSocket(`/v1/stream/presence-info/room?offset=now&live=ws&presence=true&token=${encodeURIComponent(alice.token)}`);
    const bearer = { headers: { Authorization: `Bearer ${alice.token}` } };
    const seen = await request("/v1/presence/presence-info/room", bearer);
    expect(await seen.json()).toMatchObject({ users: [{ user: "alice", connections: 1, info }] });
    await runDurableObjectAlarm(streamObject("presence-info/room"));
    const log = await request("/v1/presence/presence-info/room/events?offset=-1", bearer);
    expect(await log.json()).toEqual([expect.objectContaining({ key: "alice", value: { user: "alice", since: expect.any(String), info } }), expect.objectContaining({ type: "occupancy" })]);
    const oversized = await admin("POST", "/projects/presence-info/tokens", { scope: ["read"], user: "bob", info: { note: "x".repeat(1_100) } });
    await expectError(oversized, 400, "bad_request");
  });
});
