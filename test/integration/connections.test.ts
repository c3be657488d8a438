// Health and connection counts: GET /health answers from the Worker alone; a stream's open
// connections by kind come from its object; a project's open WebSockets come from the ProjectDO,
// which its streams keep up to date through their outboxes (so across failures and restarts).
import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { buildApp } from "../../src/app";
import { projectStub } from "../../src/projects/stub";
import type { Env } from "../../src/env";
import { eventually, failOutboxCalls, pendingCalls } from "./estuary-support";
import { call, expectError, streamObject } from "./worker";

const json = { "Content-Type": "application/json" };

interface StreamCounts {
  webSocket: number;
  sse: number;
  longPoll: number;
}

interface ProjectCounts {
  webSockets: number;
  streamsWithWebSockets: number;
}

async function create(path: string): Promise<void> {
  expect((await call(`/v1/stream/${path}`, { method: "PUT", headers: json })).status).toBe(201);
}

/** Opens a live=ws read; the client end is accepted so closing it sends a Close frame. */
async function openSocket(path: string): Promise<WebSocket> {
  const response = await call(`/v1/stream/${path}?offset=now&live=ws`, { headers: { Upgrade: "websocket" } });
  expect(response.status).toBe(101);
  const ws = response.webSocket;
  if (!ws) throw new Error("no WebSocket in the 101");
  ws.accept();
  return ws;
}

async function streamCounts(path: string): Promise<StreamCounts> {
  const response = await call(`/v1/connections/${path}`);
  expect(response.status).toBe(200);
  return response.json<StreamCounts>();
}

async function projectCounts(project: string): Promise<ProjectCounts> {
  const response = await call(`/v1/connections/${project}`);
  expect(response.status).toBe(200);
  return response.json<ProjectCounts>();
}

function tables(stub: DurableObjectStub<Rpc.DurableObjectBranded>): Promise<string[]> {
  return runInDurableObject(stub, (_instance, state) =>
    state.storage.sql
      .exec<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_cf\\_%' ESCAPE '\\'")
      .toArray()
      .map((row) => row.name),
  );
}

describe("GET /health", () => {
  it("answers 200 {status: ok} without a token", async () => {
    const response = await call("/health");
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: "ok" });
  });

  it("touches no Durable Object: it answers with an env that has no bindings at all", async () => {
    const response = await buildApp().request("/health", {}, {} as Env);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: "ok" });
  });
});

describe("a stream's open connections", () => {
  it("counts open WebSockets, and fewer as they close", async () => {
    await create("cs/ws");
    const first = await openSocket("cs/ws");
    const second = await openSocket("cs/ws");
    expect(await streamCounts("cs/ws")).toEqual({ webSocket: 2, sse: 0, longPoll: 0 });
    first.close(1000);
    await eventually(async () => expect((await streamCounts("cs/ws")).webSocket).toBe(1));
    second.close(1000);
    await eventually(async () => expect((await streamCounts("cs/ws")).webSocket).toBe(0));
  });

  it("counts a long-poll while it waits at the tail, and not once it has its answer", async () => {
    await create("cs/poll");
    const poll = call("/v1/stream/cs/poll?offset=now&live=long-poll");
    await eventually(async () => expect(await streamCounts("cs/poll")).toEqual({ webSocket: 0, sse: 0, longPoll: 1 }));
    expect((await call("/v1/stream/cs/poll", { method: "POST", headers: json, body: "[1]" })).status).toBe(204);
    expect((await poll).status).toBe(200);
    expect((await streamCounts("cs/poll")).longPoll).toBe(0);
  });

  it("counts an SSE connection waiting for data, and not after the client leaves", async () => {
    await create("cs/sse");
    const response = await call("/v1/stream/cs/sse?offset=now&live=sse");
    expect(response.status).toBe(200);
    await eventually(async () => expect(await streamCounts("cs/sse")).toEqual({ webSocket: 0, sse: 1, longPoll: 0 }));
    await response.body?.cancel();
    // The SSE loop notices the departure when it next writes (after at most LONG_POLL_TIMEOUT_MS).
    await eventually(async () => expect((await streamCounts("cs/sse")).sse).toBe(0));
  });

  it("answers 404 for a missing stream (storing nothing), 400 for a bad path, 405 for other methods", async () => {
    await expectError(await call("/v1/connections/cs/missing"), 404, "not_found");
    expect(await tables(streamObject("cs/missing"))).toEqual([]);
    await expectError(await call("/v1/connections/cs/a/b"), 400, "bad_request");
    await expectError(await call("/v1/connections/cs/.."), 400, "bad_request");
    await expectError(await call("/v1/connections/"), 400, "bad_request");
    await expectError(await call("/v1/connections/cs/ws", { method: "POST" }), 405, "method_not_allowed");
  });
});

describe("a project's open WebSockets", () => {
  it("follow sockets opening and closing across its streams, and a deleted stream's sockets", async () => {
    await create("cp/a");
    await create("cp/b");
    const a1 = await openSocket("cp/a");
    const a2 = await openSocket("cp/a");
    await openSocket("cp/b");
    await eventually(async () => expect(await projectCounts("cp")).toEqual({ webSockets: 3, streamsWithWebSockets: 2 }));

    a1.close(1000);
    a2.close(1000);
    await eventually(async () => expect(await projectCounts("cp")).toEqual({ webSockets: 1, streamsWithWebSockets: 1 }));

    expect((await call("/v1/stream/cp/b", { method: "DELETE" })).status).toBe(204);
    await eventually(async () => expect(await projectCounts("cp")).toEqual({ webSockets: 0, streamsWithWebSockets: 0 }));
  });

  it("count the default project's streams, at /v1/connections/default", async () => {
    await create("cp-default-stream");
    const ws = await openSocket("cp-default-stream");
    expect((await streamCounts("default/cp-default-stream")).webSocket).toBe(1);
    await eventually(async () => expect((await projectCounts("default")).webSockets).toBeGreaterThanOrEqual(1));
    ws.close(1000);
  });

  it("arrive despite failing reports, which are retried with only the latest count kept", async () => {
    await create("cf/s");
    const stub = streamObject("cf/s");
    const fault = await failOutboxCalls(stub, "reportSockets");
    const sockets = [await openSocket("cf/s"), await openSocket("cf/s"), await openSocket("cf/s")];
    await eventually(async () => expect(fault.refused).toBeGreaterThanOrEqual(2));
    // Three changes, one pending call: each count replaced the one before it.
    expect(await pendingCalls(stub)).toBe(1);
    expect(await projectCounts("cf")).toEqual({ webSockets: 0, streamsWithWebSockets: 0 });

    fault.heal();
    await eventually(async () => expect(await projectCounts("cf")).toEqual({ webSockets: 3, streamsWithWebSockets: 1 }));
    for (const ws of sockets) ws.close(1000);
    await eventually(async () => expect(await projectCounts("cf")).toEqual({ webSockets: 0, streamsWithWebSockets: 0 }));
  });

  it("are corrected after the stream's object restarts without its sockets (no close events)", async () => {
    await create("cr/s");
    const stub = streamObject("cr/s");
    await openSocket("cr/s");
    await openSocket("cr/s");
    await eventually(async () => expect((await projectCounts("cr")).webSockets).toBe(2));
    // The Worker's later requests go to a new instance, which finds fewer sockets than it reported.
    await evictDurableObject(stub, { webSockets: "close" });
    expect((await call("/v1/stream/cr/s", { method: "HEAD" })).status).toBe(200);
    await eventually(async () => expect(await projectCounts("cr")).toEqual({ webSockets: 0, streamsWithWebSockets: 0 }));
  });

  it("of a project nobody reported to are zero, and asking stores nothing", async () => {
    expect(await projectCounts("cp-nobody")).toEqual({ webSockets: 0, streamsWithWebSockets: 0 });
    expect(await tables(projectStub(env, "cp-nobody"))).toEqual([]);
    await expectError(await call("/v1/connections/a%2Fb"), 400, "bad_request");
  });
});
