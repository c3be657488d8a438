// The reserved subscription APIs inside the Workers runtime, for what the conformance suite does
// not reach: SSRF refusals, fencing of stale wakes and leases, webhook retry state that survives an
// eviction, and what an append to a watched or unwatched stream costs.
import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { subscriptionStub, webhookKeyStub } from "../../src/subscriptions/stub";
import { STREAM_MIGRATIONS } from "../../src/stream/schema";
import { applyMigrations } from "../../src/storage/migrations";
import { signatureHeader } from "../../src/subscriptions/signing";
import type { SubscriptionDO } from "../../src/subscriptions/subscription-do";
import type { SubscriptionState } from "../../src/subscriptions/repository";
import { eventually } from "./estuary-support";
import { call, streamObject } from "./worker";

const json = { "Content-Type": "application/json" };
const sub = (id: string, action = "") => `/v1/stream/__ds/subscriptions/${id}${action}`;

function put(id: string, body: unknown): Promise<Response> {
  return call(sub(id), { method: "PUT", headers: json, body: JSON.stringify(body) });
}

function post(id: string, action: string, body: unknown, token?: string): Promise<Response> {
  return call(sub(id, action), { method: "POST", headers: { ...json, ...(token ? { Authorization: `Bearer ${token}` } : {}) }, body: JSON.stringify(body) });
}

async function expectDsError(response: Response, status: number, code: string): Promise<Record<string, unknown>> {
  expect(response.status).toBe(status);
  expect(response.headers.get("Content-Type")).toBe("application/json");
  const body = await response.json<{ error: Record<string, unknown> }>();
  expect(body.error.code).toBe(code);
  return body.error;
}

/** The subscription's stored state, read by a fresh look at its object. */
function stateOf(id: string): Promise<SubscriptionState | null> {
  return runInDurableObject(subscriptionStub(env, id), (instance: SubscriptionDO) => (instance as unknown as { wakes: { state: SubscriptionState | null } }).wakes.state);
}

async function createStream(path: string, body: string): Promise<void> {
  expect((await call(`/v1/stream/${path}`, { method: "PUT", headers: json, body })).status).toBe(201);
}

afterEach(() => {
  vi.useRealTimers();
});

describe("webhook URLs", () => {
  const unsafe = [
    "http://10.0.0.1/hook",
    "https://10.1.2.3/hook",
    "https://169.254.169.254/latest/meta-data/",
    "https://0xa9fea9fe/",
    "https://2130706433/",
    "https://0x7f.1/",
    "https://[::1]/hook",
    "https://[fc00::1]/hook",
    "https://[fd12::1]/hook",
    "https://[::ffff:10.0.0.1]/hook",
    "https://localhost/hook",
    "https://metadata.google.internal/computeMetadata/v1/",
    "http://example.com/hook",
    "ftp://example.com/hook",
  ];
  for (const url of unsafe) {
    it(`refuses ${url} with 400 WEBHOOK_URL_REJECTED and creates nothing`, async () => {
      const id = `ssrf-${unsafe.indexOf(url)}`;
      await expectDsError(await put(id, { type: "webhook", pattern: "events/*", webhook: { url } }), 400, "WEBHOOK_URL_REJECTED");
      await expectDsError(await call(sub(id)), 404, "SUBSCRIPTION_NOT_FOUND");
    });
  }

  it("accepts loopback http only because this configuration allows it (WEBHOOK_ALLOW_LOOPBACK)", async () => {
    expect(env.WEBHOOK_ALLOW_LOOPBACK).toBe("on");
    expect((await put("ssrf-loopback", { type: "webhook", pattern: "events/*", webhook: { url: "http://127.0.0.1:9/hook" } })).status).toBe(201);
  });
});

describe("bad input", () => {
  it("answers 400 INVALID_REQUEST with the protocol's codes, 404 and 405 on other paths", async () => {
    await expectDsError(await put("bad-1", { type: "webhook", pattern: "events/*" }), 400, "INVALID_REQUEST");
    await expectDsError(await put("bad-2", { type: "pull-wake", pattern: "events/*" }), 400, "INVALID_REQUEST");
    await expectDsError(await put("bad-3", { type: "pull-wake", wake_stream: "w/x" }), 400, "INVALID_REQUEST");
    await expectDsError(await put("bad-4", { type: "pull-wake", pattern: "*/x", wake_stream: "w/x" }), 400, "INVALID_REQUEST");
    await expectDsError(await put("bad-5", { type: "pull-wake", pattern: "a/*", wake_stream: "w/x", lease_ttl_ms: 999 }), 400, "INVALID_REQUEST");
    await expectDsError(await call(sub("bad-6"), { method: "PUT", headers: json, body: "{" }), 400, "INVALID_REQUEST");
    await expectDsError(await call("/v1/stream/__ds/nothing"), 404, "SUBSCRIPTION_NOT_FOUND");
    await expectDsError(await call("/v1/stream/__ds/jwks.json", { method: "POST" }), 405, "METHOD_NOT_ALLOWED");
    await expectDsError(await call(sub("bad-7"), { method: "PATCH" }), 405, "METHOD_NOT_ALLOWED");
    const long = "s".repeat(201);
    await expectDsError(await put(long, { type: "pull-wake", pattern: "a/*", wake_stream: "w/x" }), 400, "INVALID_REQUEST");
    await expectDsError(await post(long, "/claim", { worker: "w" }), 400, "INVALID_REQUEST");
    // `__ds` is reserved: it names no project.
    expect((await call("/v1/stream/__ds/x", { method: "PUT", headers: json })).status).toBe(404);
    expect((await call("/v1/stream/__ds/x/y", { method: "PUT", headers: json })).status).toBe(404);
  });
});

describe("pull-wake fencing", () => {
  it("fences stale generations, wake ids and tokens; one holder at a time; leases expire by themselves", async () => {
    await createStream("fence-wake/pool", "[]");
    const created = await put("fence", { type: "pull-wake", pattern: "fence-src/*", wake_stream: "fence-wake/pool", lease_ttl_ms: 1_000 });
    expect(created.status).toBe(201);
    await createStream("fence-src/a", '{"n":1}');

    // The wake event lands in the wake stream.
    await eventually(async () => {
      const events = await (await call("/v1/stream/fence-wake/pool?offset=-1")).json<{ subscription_id: string; generation: number }[]>();
      expect(events.some((event) => event.subscription_id === "fence" && event.generation === 1)).toBe(true);
    });

    const claim = await post("fence", "/claim", { worker: "w1" });
    expect(claim.status).toBe(200);
    const claimed = await claim.json<{ wake_id: string; generation: number; token: string; streams: { path: string; tail_offset: string }[] }>();
    expect(claimed.generation).toBe(1);
    const tail = claimed.streams.find((stream) => stream.path === "fence-src/a")?.tail_offset ?? "";

    const busy = await expectDsError(await post("fence", "/claim", { worker: "w2" }), 409, "ALREADY_CLAIMED");
    expect(busy).toMatchObject({ current_holder: "w1", generation: 1 });
    // The claim is stored: a new instance still knows its holder, lease and token secret.
    await evictDurableObject(subscriptionStub(env, "fence"));
    expect(await stateOf("fence")).toMatchObject({ holder: "w1", generation: 1, wakeId: claimed.wake_id, leaseExpiresAt: expect.any(Number) });
    await expectDsError(await post("fence", "/claim", { worker: "w2" }), 409, "ALREADY_CLAIMED");

    // Wrong generation, wrong wake id, a forged token, no token.
    await expectDsError(await post("fence", "/ack", { wake_id: claimed.wake_id, generation: 0 }, claimed.token), 409, "FENCED");
    await expectDsError(await post("fence", "/ack", { wake_id: "w_other", generation: 1 }, claimed.token), 409, "FENCED");
    await expectDsError(await post("fence", "/ack", { wake_id: claimed.wake_id, generation: 1 }, `${claimed.token}x`), 401, "TOKEN_INVALID");
    await expectDsError(await post("fence", "/ack", { wake_id: claimed.wake_id, generation: 1 }), 401, "TOKEN_INVALID");
    // Bad acks: unknown stream, -1, beyond the tail.
    const ack = (offset: string, stream = "fence-src/a") => post("fence", "/ack", { wake_id: claimed.wake_id, generation: 1, acks: [{ stream, offset }] }, claimed.token);
    await expectDsError(await ack(tail, "fence-src/other"), 409, "INVALID_OFFSET");
    await expectDsError(await ack("-1"), 409, "INVALID_OFFSET");
    await expectDsError(await ack("0000000000000000_0000000000099999"), 409, "INVALID_OFFSET");
    // A good ack keeps the claim.
    const good = await ack(tail);
    expect(good.status).toBe(200);
    expect(await good.json()).toEqual({ ok: true, next_wake: false });

    // More data, then the lease runs out: the wake ends by itself and a new generation starts.
    expect((await call("/v1/stream/fence-src/a", { method: "POST", headers: json, body: '{"n":2}' })).status).toBe(204);
    // Past the lease on the clock the Worker and its objects see (they share the test isolate).
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(Date.now() + 1_100);
    await runDurableObjectAlarm(subscriptionStub(env, "fence"));
    vi.useRealTimers();
    expect((await stateOf("fence"))?.holder).toBeNull();
    await expectDsError(await post("fence", "/ack", { wake_id: claimed.wake_id, generation: 1, done: true }, claimed.token), 409, "FENCED");

    const again = await post("fence", "/claim", { worker: "w2" });
    expect(again.status).toBe(200);
    const reclaimed = await again.json<{ wake_id: string; generation: number; token: string }>();
    expect(reclaimed.generation).toBe(2);
    // The old token is of another generation, even with the new wake's id.
    await expectDsError(await post("fence", "/ack", { wake_id: reclaimed.wake_id, generation: 2 }, claimed.token), 409, "FENCED");
    expect((await post("fence", "/release", { wake_id: reclaimed.wake_id, generation: 2 }, reclaimed.token)).status).toBe(204);
    // Released with work still pending: the next wake starts at once; a replay of the release is fenced.
    await expectDsError(await post("fence", "/release", { wake_id: reclaimed.wake_id, generation: 2 }, reclaimed.token), 409, "FENCED");
    expect((await stateOf("fence"))?.generation).toBe(3);
  });

  it("answers NO_PENDING_WORK when every linked stream is acked, and links existing streams at their tails", async () => {
    await createStream("idle-src/old", '{"n":1}');
    // Its registration in the project's registry is done (a stream still registering counts as new).
    await runDurableObjectAlarm(streamObject("idle-src/old"));
    await createStream("idle-wake/pool", "[]");
    expect((await put("idle", { type: "pull-wake", pattern: "idle-src/*", wake_stream: "idle-wake/pool" })).status).toBe(201);
    await eventually(async () => {
      const body = await (await call(sub("idle"))).json<{ streams: { path: string; acked_offset: string }[] }>();
      expect(body.streams).toEqual([{ path: "idle-src/old", link_type: "glob", acked_offset: "0000000000000000_0000000000000007" }]);
    });
    await expectDsError(await post("idle", "/claim", { worker: "w1" }), 409, "NO_PENDING_WORK");
  });
});

describe("links", () => {
  it("follow streams: a deleted stream leaves a glob link, an explicit link is kept at zero", async () => {
    await createStream("links-src/g", '{"n":1}');
    await runDurableObjectAlarm(streamObject("links-src/g"));
    await createStream("links-src/e", '{"n":1}');
    await runDurableObjectAlarm(streamObject("links-src/e"));
    expect((await put("links", { type: "webhook", pattern: "links-src/g", streams: ["links-src/e"], webhook: { url: "https://hooks.example.com/x" } })).status).toBe(201);
    const links = async () => (await (await call(sub("links"))).json<{ streams: { path: string; link_type: string; acked_offset: string }[] }>()).streams;
    await eventually(async () => {
      expect(await links()).toEqual([
        { path: "links-src/e", link_type: "explicit", acked_offset: "0000000000000000_0000000000000007" },
        { path: "links-src/g", link_type: "glob", acked_offset: "0000000000000000_0000000000000007" },
      ]);
    });
    for (const path of ["links-src/e", "links-src/g"]) expect((await call(`/v1/stream/${path}`, { method: "DELETE" })).status).toBe(204);
    await eventually(async () => {
      expect(await links()).toEqual([{ path: "links-src/e", link_type: "explicit", acked_offset: "0000000000000000_0000000000000000" }]);
    });
  });

  it("covered by both the pattern and an explicit entry stay linked when the explicit entry goes", async () => {
    await createStream("both-src/a", '{"n":1}');
    await runDurableObjectAlarm(streamObject("both-src/a"));
    expect((await put("both", { type: "webhook", pattern: "both-src/*", streams: ["both-src/a", "both-src/b"], webhook: { url: "https://hooks.example.com/b" } })).status).toBe(201);
    const paths = async () => (await (await call(sub("both"))).json<{ streams: { path: string; link_type: string }[] }>()).streams;
    await eventually(async () => {
      expect(await runInDurableObject(subscriptionStub(env, "both"), (_instance, state) => state.storage.sql.exec("SELECT path, glob FROM links ORDER BY path").toArray())).toEqual([
        { path: "both-src/a", glob: 1 },
        { path: "both-src/b", glob: 0 },
      ]);
    });
    for (const path of ["both-src%2Fa", "both-src%2Fb"]) expect((await call(sub("both", `/streams/${path}`), { method: "DELETE" })).status).toBe(204);
    expect(await paths()).toEqual([{ path: "both-src/a", link_type: "glob", acked_offset: "0000000000000000_0000000000000007" }]);
  });

  it("belong to one incarnation: a subscription created again under the same id is not told about the old one's streams", async () => {
    await createStream("again-src/a", '{"n":1}');
    expect((await put("again", { type: "webhook", streams: ["again-src/a"], webhook: { url: "https://hooks.example.com/1" } })).status).toBe(201);
    const first = (await stateOf("again"))?.incarnation;
    expect((await call(sub("again"), { method: "DELETE" })).status).toBe(204);
    expect((await put("again", { type: "webhook", streams: ["again-src/b"], webhook: { url: "https://hooks.example.com/2" } })).status).toBe(201);
    expect((await stateOf("again"))?.incarnation).not.toBe(first);
    await eventually(async () => {
      const watchers = await runInDurableObject(streamObject("again-src/a"), (_instance, state) => state.storage.sql.exec("SELECT subscription FROM watchers").toArray());
      expect(watchers).toEqual([]);
    });
    expect((await call("/v1/stream/again-src/a", { method: "POST", headers: json, body: '{"n":2}' })).status).toBe(204);
    const body = await (await call(sub("again"))).json<{ streams: { path: string }[] }>();
    expect(body.streams.map((stream) => stream.path)).toEqual(["again-src/b"]);
  });
});

describe("streams made before the registry", () => {
  it("join their project's registry when they first load, so a glob finds them", async () => {
    const stub = streamObject("legacy/old");
    // A stream as the previous schema (before watchers and the registry) stored it.
    await runInDurableObject(stub, (_instance, state) => {
      applyMigrations(state.storage, STREAM_MIGRATIONS.filter((migration) => migration.id <= 6));
      state.storage.sql.exec(
        `INSERT INTO stream (id, generation, status, name, content_type, last_access, tail, closed)
         VALUES (1, 1, 'active', 'legacy/old', 'application/json', ?, 0, 0)`,
        Date.now(),
      );
    });
    await evictDurableObject(stub);
    const queued = await runInDurableObject(stub, async (_instance, state) => ({
      calls: state.storage.sql.exec<{ call: string }>("SELECT call FROM outbox").toArray().map((row) => JSON.parse(row.call)),
      alarm: await state.storage.getAlarm(),
    }));
    expect(queued.calls).toEqual([{ kind: "registerStream", stream: "legacy/old", generation: 1 }]);
    expect(queued.alarm).not.toBeNull();
    await runDurableObjectAlarm(stub);

    expect((await put("legacy", { type: "webhook", pattern: "legacy/*", webhook: { url: "https://hooks.example.com/legacy" } })).status).toBe(201);
    await eventually(async () => {
      const body = await (await call(sub("legacy"))).json<{ streams: { path: string; acked_offset: string }[] }>();
      expect(body.streams).toEqual([{ path: "legacy/old", link_type: "glob", acked_offset: "0000000000000000_0000000000000000" }]);
    });
  });
});

describe("webhook signatures", () => {
  it("verify with the published JWKS, and the key outlives its object's eviction", async () => {
    const body = JSON.stringify({ subscription_id: "sig", streams: [] });
    const now = Date.now();
    const header = await signatureHeader(env, body, now);
    const match = /^t=(\d+),kid=(ds_[A-Za-z0-9_-]+),ed25519=([A-Za-z0-9_-]+)$/.exec(header);
    if (!match) throw new Error(`malformed signature header ${header}`);
    const [, t, kid, signature] = match;
    expect(Number(t)).toBe(Math.floor(now / 1000));

    const jwks = await call("/v1/stream/__ds/jwks.json");
    expect(jwks.headers.get("Content-Type")).toBe("application/jwk-set+json");
    const { keys } = await jwks.json<{ keys: (JsonWebKey & { kid: string })[] }>();
    const jwk = keys.find((key) => key.kid === kid);
    if (!jwk) throw new Error("the signing key is not in the JWKS");
    expect(jwk).toMatchObject({ kty: "OKP", crv: "Ed25519", use: "sig", alg: "EdDSA" });
    expect("d" in jwk).toBe(false);
    const key = await crypto.subtle.importKey("jwk", { kty: jwk.kty, crv: jwk.crv, x: jwk.x }, { name: "Ed25519" }, false, ["verify"]);
    const bytes = Uint8Array.from(atob((signature ?? "").replaceAll("-", "+").replaceAll("_", "/")), (char) => char.charCodeAt(0));
    expect(await crypto.subtle.verify("Ed25519", key, bytes, new TextEncoder().encode(`${t}.${body}`))).toBe(true);
    expect(await crypto.subtle.verify("Ed25519", key, bytes, new TextEncoder().encode(`${t}.${body} `))).toBe(false);

    await evictDurableObject(webhookKeyStub(env));
    expect((await webhookKeyStub(env).jwks()).keys.map((published) => published.kid)).toEqual([kid]);
  });
});

describe("webhook answers", () => {
  it("a receiver answering done acks the wake's snapshot and ends the wake", async () => {
    expect((await put("done", { type: "webhook", pattern: "done-src/*", webhook: { url: "https://hooks.example.com/done" } })).status).toBe(201);
    const posted: string[] = [];
    await runInDurableObject(subscriptionStub(env, "done"), (instance: SubscriptionDO) => {
      const wakes = (instance as unknown as { wakes: { post: (env: unknown, url: string, body: string) => Promise<{ ok: true; done: boolean }> } }).wakes;
      wakes.post = async (_env, _url, body) => {
        posted.push(body);
        return { ok: true, done: true };
      };
    });
    await createStream("done-src/a", '{"n":1}');
    await eventually(async () => {
      expect((await stateOf("done"))?.generation).toBe(1);
      expect((await stateOf("done"))?.wakeId).toBeNull();
    });
    const wake = JSON.parse(posted[0] ?? "{}") as { generation: number; callback_url: string; streams: { path: string; tail_offset: string; has_pending: boolean }[] };
    expect(wake.generation).toBe(1);
    expect(wake.callback_url).toBe("https://streams.test/v1/stream/__ds/subscriptions/done/callback");
    expect(wake.streams).toEqual([{ path: "done-src/a", link_type: "glob", acked_offset: "-1", tail_offset: "0000000000000000_0000000000000007", has_pending: true }]);
    const body = await (await call(sub("done"))).json<{ streams: { path: string; acked_offset: string }[]; status: string; last_error: string | null }>();
    expect(body.last_error).toBeNull();
    expect(body.streams).toEqual([{ path: "done-src/a", link_type: "glob", acked_offset: "0000000000000000_0000000000000007" }]);
    expect(body.status).toBe("active");
    expect(posted).toHaveLength(1);
  });
});

describe("webhook retries", () => {
  /** Makes the object's webhook POSTs fail at once, as an unreachable receiver would (counting them). */
  function failPosts(id: string): Promise<void> {
    return runInDurableObject(subscriptionStub(env, id), (instance: SubscriptionDO) => {
      const wakes = (instance as unknown as { wakes: { post: () => Promise<{ ok: false; error: string }> } }).wakes;
      wakes.post = async () => ({ ok: false, error: "injected: receiver unreachable" });
    });
  }

  it("keeps the attempt count, the wake and the next attempt in SQLite across an eviction, and backs off", async () => {
    expect((await put("retry", { type: "webhook", pattern: "retry-src/*", webhook: { url: "https://hooks.example.com/retry" } })).status).toBe(201);
    await failPosts("retry");
    await createStream("retry-src/a", '{"n":1}');
    await eventually(async () => {
      expect((await stateOf("retry"))?.attempts).toBe(1);
    });
    const before = await stateOf("retry");
    if (!before?.deliveryDueAt || !before.wakeId) throw new Error("a retry of a wake should be planned");
    expect(before).toMatchObject({ status: "failed", lastError: "injected: receiver unreachable", generation: 1 });
    // Backoff with jitter: about a second after the first failure.
    expect(before.deliveryDueAt - Date.now()).toBeGreaterThan(500);

    const stub = subscriptionStub(env, "retry");
    await evictDurableObject(stub);
    const after = await stateOf("retry");
    expect(after).toMatchObject({ wakeId: before.wakeId, generation: 1, attempts: 1, deliveryDueAt: before.deliveryDueAt, status: "failed" });
    expect(await runInDurableObject(stub, (_instance, state) => state.storage.getAlarm())).toBe(before.deliveryDueAt);

    // The new instance's alarm makes the next attempt when it is due: one more failure, a longer
    // wait, the same wake. (Run early, the alarm finds nothing due and plans again.)
    await failPosts("retry");
    await runDurableObjectAlarm(stub);
    expect((await stateOf("retry"))?.attempts).toBe(1);
    await eventually(async () => {
      expect((await stateOf("retry"))?.attempts).toBe(2);
    });
    const next = await stateOf("retry");
    expect(next).toMatchObject({ wakeId: before.wakeId, generation: 1, attempts: 2 });
    expect((next?.deliveryDueAt ?? 0) - Date.now()).toBeGreaterThan(1_000);
    const body = await (await call(sub("retry"))).json<{ status: string; last_error: string | null }>();
    expect(body).toMatchObject({ status: "failed", last_error: "injected: receiver unreachable" });
  });
});

describe("what an append costs", () => {
  it("an unwatched stream: no watchers, no alarm, no call; a watched one arms its safety net", async () => {
    await createStream("cost/plain", '{"n":1}');
    const plain = streamObject("cost/plain");
    await runDurableObjectAlarm(plain); // its registration in the project's registry
    expect((await call("/v1/stream/cost/plain", { method: "POST", headers: json, body: '{"n":2}' })).status).toBe(204);
    expect(await runInDurableObject(plain, (_instance, state) => state.storage.getAlarm())).toBeNull();

    await createStream("cost/watched", '{"n":1}');
    const watched = streamObject("cost/watched");
    await runDurableObjectAlarm(watched);
    expect((await put("cost", { type: "webhook", streams: ["cost/watched"], webhook: { url: "http://127.0.0.1:9/hook" } })).status).toBe(201);
    await eventually(async () => {
      const watchers = await runInDurableObject(watched, (_instance, state) => state.storage.sql.exec("SELECT subscription FROM watchers").toArray());
      expect(watchers).toEqual([{ subscription: "cost" }]);
    });
    expect((await call("/v1/stream/cost/watched", { method: "POST", headers: json, body: '{"n":2}' })).status).toBe(204);
    expect(await runInDurableObject(watched, (_instance, state) => state.storage.getAlarm())).not.toBeNull();

    // Deleting the subscription removes its watch.
    expect((await call(sub("cost"), { method: "DELETE" })).status).toBe(204);
    await eventually(async () => {
      const watchers = await runInDurableObject(watched, (_instance, state) => state.storage.sql.exec("SELECT subscription FROM watchers").toArray());
      expect(watchers).toEqual([]);
    });
  });
});
