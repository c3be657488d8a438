// A subscription's loops that call other objects stay within their budget per invocation
// (src/subscriptions/budget.ts): a claim over a large glob asks only the next `budget` linked
// streams for their tails, taking them in turn, and an answer's acks ask at most `budget` streams.
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { subscriptionStub } from "../../src/subscriptions/stub";
import type { HeadOf } from "../../src/subscriptions/acks";
import type { SubscriptionDO } from "../../src/subscriptions/subscription-do";
import { eventually } from "./estuary-support";
import { call, streamObject } from "./worker";

const json = { "Content-Type": "application/json" };
const sub = (id: string, action = "") => `/v1/stream/__ds/subscriptions/${id}${action}`;

interface Inspectable {
  wakes: { head: HeadOf; callBudget: number };
}

/** Streams the subscription asked for their heads, recorded in place of the calls. */
const asked: string[] = [];

/** Runs the subscription with a small budget, recording (and optionally moving) the tails it asks for. */
async function injectBudget(id: string, budget: number, fakeTail?: number): Promise<void> {
  await runInDurableObject(subscriptionStub(env, id), (instance: SubscriptionDO) => {
    const { wakes } = instance as unknown as Inspectable;
    wakes.callBudget = budget;
    const real = wakes.head;
    wakes.head = async (streamKey) => {
      asked.push(streamKey);
      const head = await real(streamKey);
      return head.ok && fakeTail !== undefined ? { ...head, tail: fakeTail } : head;
    };
  });
}

describe("a claim over a large glob", () => {
  it("asks at most the budget of linked streams for their tails, the next ones each time", async () => {
    const streams = ["s0", "s1", "s2", "s3", "s4", "s5"].map((name) => `budget-src/${name}`);
    for (const stream of streams) {
      expect((await call(`/v1/stream/${stream}`, { method: "PUT", headers: json, body: '{"n":1}' })).status).toBe(201);
      await runDurableObjectAlarm(streamObject(stream));
    }
    const body = { type: "pull-wake", pattern: "budget-src/*", wake_stream: "budget-wake/pool" };
    expect((await call(sub("budget"), { method: "PUT", headers: json, body: JSON.stringify(body) })).status).toBe(201);
    await eventually(async () => {
      const view = await (await call(sub("budget"))).json<{ streams: { acked_offset: string }[] }>();
      expect(view.streams.map((link) => link.acked_offset)).toEqual(streams.map(() => "0000000000000000_0000000000000007"));
    });
    await injectBudget("budget", 4);

    const claim = () => call(sub("budget", "/claim"), { method: "POST", headers: json, body: '{"worker":"w"}' });
    expect((await claim()).status).toBe(409);
    expect(asked).toEqual(streams.slice(0, 4));
    expect((await claim()).status).toBe(409);
    expect(asked.slice(4)).toEqual([...streams.slice(4), ...streams.slice(0, 2)]);
  });
});

describe("an answer's acks", () => {
  it("ask at most the budget of streams whether an ack beyond the known tail is real", async () => {
    const streams = ["a0", "a1", "a2"].map((name) => `budget-ack/${name}`);
    for (const stream of streams) expect((await call(`/v1/stream/${stream}`, { method: "PUT", headers: json })).status).toBe(201);
    expect((await call("/v1/stream/budget-ack-wake/pool", { method: "PUT", headers: json, body: "[]" })).status).toBe(201);
    const body = { type: "pull-wake", streams, wake_stream: "budget-ack-wake/pool" };
    expect((await call(sub("budget-ack"), { method: "PUT", headers: json, body: JSON.stringify(body) })).status).toBe(201);
    await eventually(async () => {
      const view = await (await call(sub("budget-ack"))).json<{ streams: { acked_offset: string }[] }>();
      expect(view.streams).toHaveLength(3);
    });
    // Data in every stream: a wake to claim.
    for (const stream of streams) expect((await call(`/v1/stream/${stream}`, { method: "POST", headers: json, body: '{"n":1}' })).status).toBe(204);
    let claimed = { wake_id: "", generation: 0, token: "" };
    await eventually(async () => {
      const response = await call(sub("budget-ack", "/claim"), { method: "POST", headers: json, body: '{"worker":"w"}' });
      expect(response.status).toBe(200);
      claimed = await response.json();
    });
    // Each stream answers a tail beyond what the subscription knows, so each ack beyond the known
    // tail is worth asking about; only two may be asked, and the third is refused unasked.
    await injectBudget("budget-ack", 2, 99);
    asked.length = 0;
    const beyond = "0000000000000000_0000000000000050";
    const acks = streams.map((stream) => ({ stream, offset: beyond }));
    const answer = await call(sub("budget-ack", "/ack"), {
      method: "POST",
      headers: { ...json, Authorization: `Bearer ${claimed.token}` },
      body: JSON.stringify({ wake_id: claimed.wake_id, generation: claimed.generation, acks }),
    });
    expect(answer.status).toBe(409);
    expect(await answer.json()).toMatchObject({ error: { code: "INVALID_OFFSET" } });
    expect(asked).toEqual(streams.slice(0, 2));
  });
});
