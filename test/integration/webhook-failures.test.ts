// A receiver that cannot be reached, for data sinks and `__ds` webhook subscriptions alike: the
// status routes name the cause in plain words (not the runtime's "internal error; reference = ..."),
// and the log says so once when deliveries start failing and once when they recover, however many
// retries come between.
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi, type MockInstance } from "vitest";
import { sinkObjectName } from "../../src/contract/sinks";
import type { SinkDetail } from "../../src/sinks/commands";
import type { SinkDO } from "../../src/sinks/sink-do";
import { sinkStub } from "../../src/sinks/stub";
import { postWake } from "../../src/subscriptions/delivery";
import type { SubscriptionState } from "../../src/subscriptions/repository";
import { subscriptionStub } from "../../src/subscriptions/stub";
import type { SubscriptionDO } from "../../src/subscriptions/subscription-do";
import { eventually } from "./estuary-support";
import { call } from "./worker";

const json = { "Content-Type": "application/json" };
/** What the runtime's fetch throws when a DNS lookup fails: the cause is only in its own log. */
const dnsFailure = () => Object.assign(new Error("internal error; reference = vtvcna32j2693ge06l8eson9"), { remote: true });
const DNS_CAUSE = "could not reach the receiver (DNS lookup failed for hooks.example.invalid: a reserved name that never resolves)";

type Fetcher = (url: string, init: RequestInit) => Promise<Response>;

/** Fails while `down` says so, then answers 200; counts the requests. */
function flakyReceiver(down: (n: number) => boolean) {
  const receiver = { count: 0, fetcher: (async () => {
    const n = receiver.count++;
    if (down(n)) throw dnsFailure();
    return new Response(null, { status: 200 });
  }) as Fetcher };
  return receiver;
}

/** Every console line (any level) that mentions `name`, in the order they were written. */
function linesAbout(name: string, spies: MockInstance[]): string[] {
  const lines = spies.flatMap((spy) => spy.mock.calls.map((args, i) => ({ order: spy.mock.invocationCallOrder[i] ?? 0, text: args.map(String).join(" ") })));
  return lines.sort((a, b) => a.order - b.order).map((line) => line.text).filter((line) => line.includes(name));
}

function spyConsole(): MockInstance[] {
  return (["log", "info", "warn", "error"] as const).map((level) => vi.spyOn(console, level));
}

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

describe("a sink whose receiver cannot be reached", () => {
  const stream = "sink-unreachable";
  const detail = async () => (await call(`/v1/estuary/sinks/${stream}/wh`)).json<SinkDetail>();

  it("shows the cause in lastError and each attempt, and logs once as it starts failing and once as it recovers", async () => {
    const spies = spyConsole();
    expect((await call(`/v1/stream/${stream}`, { method: "PUT", headers: json })).status).toBe(201);
    const receiver = flakyReceiver((n) => n < 4);
    const stub = sinkStub(env, sinkObjectName(`default/${stream}`, "wh"));
    await runInDurableObject(stub, (instance: SinkDO) => {
      instance.fetcher = receiver.fetcher;
    });
    const created = await call(`/v1/estuary/subscribe/${stream}`, { method: "POST", headers: json, body: JSON.stringify({ sink: { id: "wh", url: "https://hooks.example.invalid/hook" } }) });
    expect(created.status).toBe(201);
    expect((await call(`/v1/stream/${stream}`, { method: "POST", headers: json, body: '[{"n":1}]' })).status).toBe(204);
    await eventually(async () => expect((await detail()).state).toBe("retrying"));

    const failing = await detail();
    expect(failing.lastError?.message).toBe(DNS_CAUSE);
    expect(failing.attempts[0]?.error).toBe(DNS_CAUSE);
    // Three more failed attempts on the objects' clock, then the receiver is back.
    vi.useFakeTimers({ toFake: ["Date"] });
    for (let attempt = 0; attempt < 4; attempt++) {
      vi.setSystemTime(Date.parse((await detail()).nextAttemptAt ?? "") + 1);
      await runDurableObjectAlarm(stub);
    }
    vi.useRealTimers();
    const healed = await detail();
    expect(receiver.count).toBe(5);
    expect(healed.state).toBe("active");
    expect(healed.lastError).toBeNull();

    const lines = linesAbout("sink wh of default/sink-unreachable", spies);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toContain(DNS_CAUSE);
    expect(lines[1]).toContain("delivering again after 4 failed attempts");
  });
});

describe("a webhook subscription whose receiver cannot be reached", () => {
  it("shows the cause in last_error, and logs once as it starts failing and once as it recovers", async () => {
    const spies = spyConsole();
    const id = "unreachable";
    const body = JSON.stringify({ type: "webhook", pattern: "unreachable-src/*", webhook: { url: "https://hooks.example.invalid/wake" } });
    expect((await call(`/v1/stream/__ds/subscriptions/${id}`, { method: "PUT", headers: json, body })).status).toBe(201);
    const receiver = flakyReceiver((n) => n < 4);
    const stub = subscriptionStub(env, id);
    await runInDurableObject(stub, (instance: SubscriptionDO) => {
      const wakes = (instance as unknown as { wakes: { post: typeof postWake } }).wakes;
      wakes.post = (objectEnv, url, wake, now) => postWake(objectEnv, url, wake, now, receiver.fetcher);
    });
    const stateOf = () => runInDurableObject(stub, (instance: SubscriptionDO) => (instance as unknown as { wakes: { state: SubscriptionState } }).wakes.state);
    expect((await call("/v1/stream/unreachable-src/a", { method: "PUT", headers: json, body: '{"n":1}' })).status).toBe(201);
    await eventually(async () => expect((await stateOf()).attempts).toBe(1));

    const view = await (await call(`/v1/stream/__ds/subscriptions/${id}`)).json<{ status: string; last_error: string }>();
    expect(view).toMatchObject({ status: "failed", last_error: DNS_CAUSE });
    vi.useFakeTimers({ toFake: ["Date"] });
    for (let attempt = 0; attempt < 4; attempt++) {
      vi.setSystemTime(((await stateOf()).deliveryDueAt ?? 0) + 1);
      await runDurableObjectAlarm(stub);
    }
    vi.useRealTimers();
    expect(receiver.count).toBe(5);
    expect((await stateOf()).status).toBe("active");

    const lines = linesAbout(`subscription ${id}`, spies);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toContain(DNS_CAUSE);
    expect(lines[1]).toContain("delivering again after 4 failed attempts");
  });
});
