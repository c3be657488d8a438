// Data sinks on a stream's presence log: "occupied / vacated" and join / leave webhooks, signed and
// batched like a stream's sinks, with the log's change events as the messages.
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { sinkObjectName } from "../../src/contract/sinks";
import { sinkStub } from "../../src/sinks/stub";
import type { SinkDO } from "../../src/sinks/sink-do";
import { eventually } from "./estuary-support";
import { createStream, join, runAlarm, setClock, type ChangeEvent } from "./presence-support";
import { call, expectError } from "./worker";

const json = { "Content-Type": "application/json" };

afterEach(() => {
  vi.useRealTimers();
});

/** Puts a stand-in receiver into the presence log's sink object before the sink exists. */
async function standIn(stream: string, sinkId: string): Promise<ChangeEvent[]> {
  const received: ChangeEvent[] = [];
  await runInDurableObject(sinkStub(env, sinkObjectName(`default/${stream}@presence`, sinkId)), (instance: SinkDO) => {
    instance.fetcher = async (_url: string, init: RequestInit) => {
      received.push(...(JSON.parse(new TextDecoder().decode(init.body as Uint8Array)) as ChangeEvent[]));
      return new Response(null, { status: 200 });
    };
  });
  return received;
}

describe("data sinks on the presence log", () => {
  it("deliver occupied, join, leave and vacated events, from a sink made before anyone joined", async () => {
    await createStream("presence-hook");
    const received = await standIn("presence-hook", "rooms");
    const made = await call("/v1/presence/default/presence-hook/sinks", { method: "POST", headers: json, body: JSON.stringify({ sink: { id: "rooms", url: "https://receiver.example/rooms" } }) });
    expect(made.status).toBe(201);
    expect(await made.json()).toMatchObject({ sink: { id: "rooms" }, secret: expect.any(String) });
    const alice = await join("presence-hook", "alice");
    await runAlarm("presence-hook");
    alice.ws.close(1000);
    await eventually(async () => {
      const state = await call("/v1/presence/default/presence-hook");
      expect(await state.json()).toMatchObject({ users: [{ user: "alice", connections: 0 }] });
    });
    setClock(Date.now() + 10_000);
    await runAlarm("presence-hook");
    const sink = sinkStub(env, sinkObjectName("default/presence-hook@presence", "rooms"));
    await eventually(async () => {
      await runDurableObjectAlarm(sink);
      expect(received.map((event) => `${event.headers.operation} ${event.type} ${event.key}`)).toEqual([
        "insert presence alice",
        "insert occupancy presence-hook",
        "delete presence alice",
        "delete occupancy presence-hook",
      ]);
    });
    const state = await call("/v1/presence/default/presence-hook/sinks/rooms");
    expect(state.status).toBe(200);
    expect((await call("/v1/presence/default/presence-hook/sinks", { method: "DELETE", headers: json, body: '{"sinkId":"rooms"}' })).status).toBe(204);
    await expectError(await call("/v1/presence/default/presence-hook/sinks/rooms"), 404, "not_found");
  });

  it("refuses a sink on a missing stream and a malformed body", async () => {
    await expectError(await call("/v1/presence/default/presence-nohook/sinks", { method: "POST", headers: json, body: JSON.stringify({ sink: { id: "x", url: "https://receiver.example/x" } }) }), 404, "not_found");
    await createStream("presence-badhook");
    await expectError(await call("/v1/presence/default/presence-badhook/sinks", { method: "POST", headers: json, body: '{"sink":{"id":"x","url":"http://10.0.0.1/"}}' }), 400, "bad_request");
    await expectError(await call("/v1/presence/default/presence-badhook/sinks", { method: "POST", headers: json, body: "[" }), 400, "bad_request");
    await expectError(await call("/v1/presence/default/presence-badhook/sinks", { method: "PUT" }), 405, "method_not_allowed");
  });
});
