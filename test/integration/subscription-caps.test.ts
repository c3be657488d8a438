// What a subscription keeps is capped: explicit links (configured plus added), links its pattern
// adds, and the wake events it appends to its wake stream (at most one per interval, only the
// latest waiting). Each cap runs small here, injected into the object.
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { subscriptionStub } from "../../src/subscriptions/stub";
import type { SubscriptionDO } from "../../src/subscriptions/subscription-do";
import { eventually } from "./estuary-support";
import { call, streamObject } from "./worker";

const json = { "Content-Type": "application/json" };
const sub = (id: string, action = "") => `/v1/stream/__ds/subscriptions/${id}${action}`;

interface Inspectable {
  maxExplicit: number;
  wakes: { maxGlobLinks: number };
}

function inject(id: string, change: (instance: Inspectable) => void): Promise<void> {
  return runInDurableObject(subscriptionStub(env, id), (instance: SubscriptionDO) => change(instance as unknown as Inspectable));
}

async function put(path: string, body?: string): Promise<void> {
  expect((await call(`/v1/stream/${path}`, { method: "PUT", headers: json, body })).status).toBe(201);
}

function post(id: string, action: string, body: unknown, token?: string): Promise<Response> {
  const headers = { ...json, ...(token ? { Authorization: `Bearer ${token}` } : {}) };
  return call(sub(id, action), { method: "POST", headers, body: JSON.stringify(body) });
}

async function links(id: string): Promise<string[]> {
  const view = await (await call(sub(id))).json<{ streams: { path: string }[] }>();
  return view.streams.map((link) => link.path);
}

describe("subscription caps", () => {
  it("refuses explicit streams beyond the cap with 400, counting those already linked once", async () => {
    await put("capx-wake/pool", "[]");
    const body = { type: "pull-wake", streams: ["capx/a", "capx/b"], wake_stream: "capx-wake/pool" };
    expect((await call(sub("capx"), { method: "PUT", headers: json, body: JSON.stringify(body) })).status).toBe(201);
    await inject("capx", (instance) => {
      instance.maxExplicit = 3;
    });
    expect((await post("capx", "/streams", { streams: ["capx/c", "capx/a"] })).status).toBe(204);
    const refused = await post("capx", "/streams", { streams: ["capx/d"] });
    expect(refused.status).toBe(400);
    expect(await refused.json()).toMatchObject({ error: { code: "INVALID_REQUEST", message: expect.stringContaining("at most 3") } });
    expect(await links("capx")).toEqual(["capx/a", "capx/b", "capx/c"]);
  });

  it("links at most the cap of streams through its pattern; a stream found beyond it is not linked", async () => {
    await put("capg-wake/pool", "[]");
    const body = { type: "pull-wake", pattern: "capg/*", wake_stream: "capg-wake/pool" };
    expect((await call(sub("capg"), { method: "PUT", headers: json, body: JSON.stringify(body) })).status).toBe(201);
    await inject("capg", (instance) => {
      instance.wakes.maxGlobLinks = 2;
    });
    for (const name of ["s1", "s2", "s3"]) {
      await put(`capg/${name}`, '{"n":1}');
      // Its registration: the project's registry names the subscription, which the stream tells.
      await runDurableObjectAlarm(streamObject(`capg/${name}`));
    }
    await eventually(async () => expect(await links("capg")).toEqual(["capg/s1", "capg/s2"]));
    expect((await call("/v1/stream/capg/s3", { method: "POST", headers: json, body: '{"n":2}' })).status).toBe(204);
    await runDurableObjectAlarm(streamObject("capg/s3"));
    expect(await links("capg")).toEqual(["capg/s1", "capg/s2"]);
  });

  it("appends at most one wake event per interval: claims and releases in a loop do not grow the wake stream", async () => {
    await put("capw/src");
    await put("capw-wake/pool", "[]");
    const body = { type: "pull-wake", streams: ["capw/src"], wake_stream: "capw-wake/pool" };
    expect((await call(sub("capw"), { method: "PUT", headers: json, body: JSON.stringify(body) })).status).toBe(201);
    await eventually(async () => expect((await (await call(sub("capw"))).json<{ streams: { acked_offset: string }[] }>()).streams).toHaveLength(1));
    expect((await call("/v1/stream/capw/src", { method: "POST", headers: json, body: '{"n":1}' })).status).toBe(204);
    const events = async () => (await call("/v1/stream/capw-wake/pool?offset=-1")).json<{ generation: number }[]>();
    await eventually(async () => expect(await events()).toHaveLength(1));

    let generation = 0;
    for (let round = 0; round < 5; round++) {
      let claimed = { wake_id: "", generation: 0, token: "" };
      await eventually(async () => {
        const response = await post("capw", "/claim", { worker: "w" });
        expect(response.status).toBe(200);
        claimed = await response.json();
      });
      expect((await post("capw", "/release", { wake_id: claimed.wake_id, generation: claimed.generation }, claimed.token)).status).toBe(204);
      generation = claimed.generation + 1;
    }
    // The latest wake's event follows the first one, once the interval has passed; none in between.
    await eventually(async () => expect((await events()).length).toBeGreaterThanOrEqual(2));
    const appended = await events();
    expect(appended.map((event) => event.generation)).toEqual([1, generation]);
  });
});
