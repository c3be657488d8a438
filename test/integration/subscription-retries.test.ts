// Webhook subscriptions whose receiver is in trouble get relief: its Retry-After may lengthen the
// wait before the next attempt (never shorten it), and a wake's retries stop after a bound, leaving
// the subscription `failed` until new data starts another wake.
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { subscriptionStub } from "../../src/subscriptions/stub";
import { postWake, WEBHOOK_MAX_ATTEMPTS, type DeliveryResult } from "../../src/subscriptions/delivery";
import type { SubscriptionState } from "../../src/subscriptions/repository";
import type { SubscriptionDO } from "../../src/subscriptions/subscription-do";
import { eventually } from "./estuary-support";
import { call } from "./worker";

const json = { "Content-Type": "application/json" };
const sub = (id: string) => `/v1/stream/__ds/subscriptions/${id}`;

type Post = (env: unknown, url: string, body: string, now: number) => Promise<DeliveryResult>;

/** The subscription's stored state, read by a fresh look at its object. */
function stateOf(id: string): Promise<SubscriptionState | null> {
  return runInDurableObject(subscriptionStub(env, id), (instance: SubscriptionDO) => (instance as unknown as { wakes: { state: SubscriptionState | null } }).wakes.state);
}

/** Answers the object's webhook POSTs with `answer(n)` (n counts from 0), counting them. */
async function answerPosts(id: string, answer: (n: number) => DeliveryResult): Promise<{ readonly count: number }> {
  let count = 0;
  await runInDurableObject(subscriptionStub(env, id), (instance: SubscriptionDO) => {
    const wakes = (instance as unknown as { wakes: { post: Post } }).wakes;
    wakes.post = async () => answer(count++);
  });
  return {
    get count() {
      return count;
    },
  };
}

async function webhookSubscription(id: string, pattern: string): Promise<void> {
  const body = JSON.stringify({ type: "webhook", pattern, webhook: { url: `https://hooks.example.com/${id}` } });
  expect((await call(sub(id), { method: "PUT", headers: json, body })).status).toBe(201);
}

async function append(path: string, body: string, create = false): Promise<void> {
  const response = await call(`/v1/stream/${path}`, { method: create ? "PUT" : "POST", headers: json, body });
  expect(response.status).toBe(create ? 201 : 204);
}

/** Runs the object's alarm at the next attempt's time on the clock it sees. */
async function nextAttempt(id: string): Promise<void> {
  const due = (await stateOf(id))?.deliveryDueAt;
  if (!due) throw new Error("no attempt is due");
  vi.useFakeTimers({ toFake: ["Date"] });
  vi.setSystemTime(due + 1);
  await runDurableObjectAlarm(subscriptionStub(env, id));
}

afterEach(() => {
  vi.useRealTimers();
});

describe("a receiver's Retry-After", () => {
  it("is read from failed answers; 0 and past dates ask for nothing", async () => {
    const answer = (status: number, retryAfter?: string) => async () => new Response(null, { status, headers: retryAfter === undefined ? {} : { "Retry-After": retryAfter } });
    const now = Date.now();
    const post = (fetcher: () => Promise<Response>) => postWake(env, "https://hooks.example.com/x", "{}", now, fetcher);
    expect(await post(answer(429, "120"))).toMatchObject({ ok: false, retryAfterMs: 120_000 });
    expect(await post(answer(503, "0"))).toMatchObject({ ok: false, retryAfterMs: null });
    expect(await post(answer(503, new Date(now - 60_000).toUTCString()))).toMatchObject({ ok: false, retryAfterMs: null });
    expect(await post(answer(500))).toMatchObject({ ok: false, error: "receiver answered 500", retryAfterMs: null });
  });

  it("lengthens the wait before the next attempt, and never shortens the backoff", async () => {
    await webhookSubscription("ra-long", "ra-long-src/*");
    await answerPosts("ra-long", () => ({ ok: false, error: "receiver answered 429", retryAfterMs: 120_000 }));
    await append("ra-long-src/a", '{"n":1}', true);
    await eventually(async () => expect((await stateOf("ra-long"))?.attempts).toBe(1));
    expect(((await stateOf("ra-long"))?.deliveryDueAt ?? 0) - Date.now()).toBeGreaterThan(110_000);

    await webhookSubscription("ra-short", "ra-short-src/*");
    await answerPosts("ra-short", () => ({ ok: false, error: "receiver answered 503", retryAfterMs: 10 }));
    await append("ra-short-src/a", '{"n":1}', true);
    await eventually(async () => expect((await stateOf("ra-short"))?.attempts).toBe(1));
    // The first step is 1 s, less at most a fifth of it.
    expect(((await stateOf("ra-short"))?.deliveryDueAt ?? 0) - Date.now()).toBeGreaterThan(500);
  });
});

describe("a wake whose receiver keeps failing", () => {
  it(`stops after ${WEBHOOK_MAX_ATTEMPTS} attempts: the subscription shows failed, and new data starts a new wake`, async () => {
    await webhookSubscription("bounded", "bounded-src/*");
    let healthy = false;
    const posts = await answerPosts("bounded", () => (healthy ? { ok: true, done: true } : { ok: false, error: "receiver answered 503", retryAfterMs: null }));
    await append("bounded-src/a", '{"n":1}', true);
    await eventually(async () => expect((await stateOf("bounded"))?.attempts).toBe(1));
    for (let attempt = 2; attempt <= WEBHOOK_MAX_ATTEMPTS; attempt++) await nextAttempt("bounded");
    vi.useRealTimers();

    expect(posts.count).toBe(WEBHOOK_MAX_ATTEMPTS);
    const given = await stateOf("bounded");
    expect(given).toMatchObject({ wakeId: null, deliveryDueAt: null, status: "failed", generation: 1 });
    const body = await (await call(sub("bounded"))).json<{ status: string; last_error: string; streams: { acked_offset: string }[] }>();
    expect(body.status).toBe("failed");
    expect(body.last_error).toBe(`gave up after ${WEBHOOK_MAX_ATTEMPTS} failed attempts: receiver answered 503`);
    expect(body.streams[0]?.acked_offset).toBe("-1");
    expect(await runInDurableObject(subscriptionStub(env, "bounded"), (_instance, state) => state.storage.getAlarm())).toBeNull();

    // The stream telling the subscription its tail again (its safety net) starts nothing; new data does.
    await runInDurableObject(subscriptionStub(env, "bounded"), (instance: SubscriptionDO) => {
      const wakes = (instance as unknown as { wakes: { streamReached(stream: string, incarnation: string, tail: number): unknown } }).wakes;
      wakes.streamReached("bounded-src/a", given?.incarnation ?? "", 7);
    });
    expect((await stateOf("bounded"))?.wakeId).toBeNull();
    healthy = true;
    await append("bounded-src/a", '{"n":2}');
    await eventually(async () => expect((await stateOf("bounded"))?.generation).toBe(2));
    await eventually(async () => expect((await (await call(sub("bounded"))).json<{ status: string }>()).status).toBe("active"));
  });
});
