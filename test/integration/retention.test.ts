// Retention (Stream-Retention): the policy on PUT and HEAD, trims by messages, bytes and age in
// bounded steps of whole rows, 410 Gone for every read mode below the earliest, -1 from the
// earliest, producer retries after a trim, forks of trimmed sources, and storage full.
import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { buildApp } from "../../src/app";
import { fanoutStub } from "../../src/fanout/stub";
import { formatOffset } from "../../src/protocol/offsets";
import { advanceClock, appendEach, createWithPolicy, expectTrimmed, storedRows, text, trimFully } from "./retention-support";
import { sendSettled } from "./settled-request";
import { call, expectError, streamObject } from "./worker";

afterEach(() => {
  vi.useRealTimers();
});

/** Thirty 10-byte messages: "message-00" ... "message-29", one row each. */
const MESSAGES = Array.from({ length: 30 }, (_, index) => `message-${String(index).padStart(2, "0")}`);

describe("Stream-Retention on PUT and HEAD", () => {
  it("is validated: junk answers 400 with a JSON body naming the fault", async () => {
    for (const junk of ["", "max-age", "max-age=0", "max-age=01", "max-age=-5", "max-size=10", "max-age=1, max-age=2", "max-bytes=1.5"]) {
      const response = await call("/v1/stream/retention-junk", { method: "PUT", headers: { ...text, "Stream-Retention": junk } });
      const message = await expectError(response, 400, "bad_request");
      expect(message).toContain("Stream-Retention");
    }
    await expectError(await call("/v1/stream/retention-junk"), 404, "not_found");
  });

  it("is echoed canonically on PUT and HEAD, with the earliest offset", async () => {
    const put = await call("/v1/stream/retention-echo", { method: "PUT", headers: { ...text, "Stream-Retention": "max-messages=5,max-age=60" } });
    expect(put.status).toBe(201);
    expect(put.headers.get("Stream-Retention")).toBe("max-age=60, max-messages=5");
    const head = await call("/v1/stream/retention-echo", { method: "HEAD" });
    expect(head.headers.get("Stream-Retention")).toBe("max-age=60, max-messages=5");
    expect(head.headers.get("Stream-Earliest-Offset")).toBe(formatOffset(0));
  });

  it("compares like Stream-TTL on a repeated PUT: the same policy 200, another or none 409", async () => {
    const path = "/v1/stream/retention-idempotent";
    await createWithPolicy("retention-idempotent", "max-bytes=1000, max-age=60");
    expect((await call(path, { method: "PUT", headers: { ...text, "Stream-Retention": "max-age=60, max-bytes=1000" } })).status).toBe(200);
    await expectError(await call(path, { method: "PUT", headers: { ...text, "Stream-Retention": "max-age=61, max-bytes=1000" } }), 409, "conflict");
    await expectError(await call(path, { method: "PUT", headers: text }), 409, "conflict");
    expect((await call("/v1/stream/retention-none", { method: "PUT", headers: text })).status).toBe(201);
    await expectError(await call("/v1/stream/retention-none", { method: "PUT", headers: { ...text, "Stream-Retention": "max-age=60" } }), 409, "conflict");
  });

  it("keeps everything without a policy: the alarm trims nothing", async () => {
    expect((await call("/v1/stream/retention-keep", { method: "PUT", headers: text })).status).toBe(201);
    await appendEach("/v1/stream/retention-keep", MESSAGES);
    const stub = streamObject("default/retention-keep");
    await runDurableObjectAlarm(stub);
    expect(await storedRows(stub)).toEqual({ rows: 30, first: 0, earliest: 0 });
    expect(await (await call("/v1/stream/retention-keep?offset=-1")).text()).toBe(MESSAGES.join(""));
  });
});

describe("trimming", () => {
  it("by messages, in steps of at most RETENTION_TRIM_ROWS rows, leaves the newest max-messages", async () => {
    const { path, stub } = await createWithPolicy("retention-messages", "max-messages=5");
    await appendEach(path, MESSAGES);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    // One step deletes at most 16 rows (the test configuration), however far behind the policy it is.
    expect(await storedRows(stub)).toEqual({ rows: 14, first: 160, earliest: 160 });
    await trimFully(stub);
    expect(await storedRows(stub)).toEqual({ rows: 5, first: 250, earliest: 250 });
    expect(await (await call(`${path}?offset=-1`)).text()).toBe(MESSAGES.slice(25).join(""));
    expect((await call(path, { method: "HEAD" })).headers.get("Stream-Earliest-Offset")).toBe(formatOffset(250));
    // The status route shows the policy and what the trims did (each deleted row is one billed write, plus the stream row).
    const status = await (await call("/v1/estuary/subscribers/default/retention-messages")).json<{ retention: { trimmed: { runs: number; rowsWritten: number } } }>();
    expect(status.retention).toMatchObject({ policy: "max-messages=5", earliestOffset: formatOffset(250), trimmed: { rows: 25, bytes: 250 } });
    expect(status.retention.trimmed.rowsWritten).toBeGreaterThanOrEqual(25 + status.retention.trimmed.runs);
  });

  it("by bytes, in whole rows: keeps at most one row more than max-bytes", async () => {
    const { path, stub } = await createWithPolicy("retention-bytes", "max-bytes=25");
    await appendEach(path, MESSAGES.slice(0, 10));
    await trimFully(stub);
    // 100 bytes stored; everything ending at or below 75 goes, the row [70, 80) straddles the bound and stays.
    expect(await storedRows(stub)).toEqual({ rows: 3, first: 70, earliest: 70 });
    expect(await (await call(`${path}?offset=-1`)).text()).toBe(MESSAGES.slice(7, 10).join(""));
  });

  it("by age, from each row's stored append time", async () => {
    const { path, stub } = await createWithPolicy("retention-age", "max-age=60");
    await appendEach(path, MESSAGES.slice(0, 3));
    advanceClock(45_000);
    await appendEach(path, MESSAGES.slice(3, 5));
    advanceClock(20_000);
    await trimFully(stub);
    expect(await storedRows(stub)).toEqual({ rows: 2, first: 30, earliest: 30 });
    advanceClock(60_000);
    await trimFully(stub);
    // Everything is older than the policy: the stream is empty, its earliest at its tail, and still appendable.
    expect(await storedRows(stub)).toEqual({ rows: 0, first: null, earliest: 50 });
    expect(await (await call(`${path}?offset=-1`)).text()).toBe("");
    await appendEach(path, ["after"]);
    expect(await (await call(`${path}?offset=-1`)).text()).toBe("after");
  });

  it("schedules its own alarm after appends, and by age without any append", async () => {
    const { path, stub } = await createWithPolicy("retention-alarm", "max-age=60");
    await appendEach(path, MESSAGES.slice(0, 2));
    const alarm = await runInDurableObject(stub, (_instance, state) => state.storage.getAlarm());
    expect(alarm).not.toBeNull();
    advanceClock(61_000);
    await trimFully(stub);
    expect((await storedRows(stub)).rows).toBe(0);
  });
});

describe("reads of trimmed offsets", () => {
  async function trimmedStream(name: string): Promise<{ path: string; old: string }> {
    const { path, stub } = await createWithPolicy(name, "max-messages=2");
    await appendEach(path, MESSAGES.slice(0, 6));
    await trimFully(stub);
    return { path, old: formatOffset(10) };
  }

  it("answer 410 with Stream-Earliest-Offset on catch-up, long-poll and SSE", async () => {
    const { path, old } = await trimmedStream("retention-410");
    await expectTrimmed(await call(`${path}?offset=${old}`), 40, 60);
    await expectTrimmed(await call(`${path}?offset=${old}&live=long-poll`), 40, 60);
    await expectTrimmed(await call(`${path}?offset=${old}&live=sse`), 40, 60);
    await expectTrimmed(await call(`${path}?offset=${old}&live=ws`, { headers: { Upgrade: "websocket" } }), 40, 60);
    // The earliest itself, and -1, read what is kept.
    expect(await (await call(`${path}?offset=${formatOffset(40)}`)).text()).toBe(MESSAGES.slice(4, 6).join(""));
    expect(await (await call(`${path}?offset=-1`)).text()).toBe(MESSAGES.slice(4, 6).join(""));
  });

  it("close an open WebSocket whose next position was trimmed, with code 4410", async () => {
    const { path, stub } = await createWithPolicy("retention-ws", "max-messages=1");
    const response = await call(`${path}?offset=-1&live=ws`, { headers: { Upgrade: "websocket" } });
    const ws = response.webSocket;
    if (!ws) throw new Error("no WebSocket in the 101");
    const closed = new Promise<number>((resolve) => ws.addEventListener("close", (event) => resolve(event.code)));
    ws.accept();
    // The socket is sent each append at once, so it stands at the tail; a trim cannot pass it...
    await appendEach(path, MESSAGES.slice(0, 3));
    await trimFully(stub);
    expect(ws.readyState).toBe(WebSocket.OPEN);
    // ...unless its position is moved behind the earliest, as for a socket that fell behind. The
    // object reads attachments once per instance, so it hibernates to read the moved one.
    await runInDurableObject(stub, (_instance, state) => {
      for (const socket of state.getWebSockets()) socket.serializeAttachment({ ...(socket.deserializeAttachment() as object), position: 0, mark: undefined });
    });
    await evictDurableObject(stub, { webSockets: "hibernate" });
    await appendEach(path, ["more"]);
    expect(await closed).toBe(4410);
  });
});

describe("producers after a trim", () => {
  it("still answer a retry of a trimmed append as a duplicate", async () => {
    const { path, stub } = await createWithPolicy("retention-producer", "max-messages=1");
    const produce = (seq: number) =>
      call(path, { method: "POST", headers: { ...text, "Producer-Id": "p", "Producer-Epoch": "0", "Producer-Seq": String(seq) }, body: `seq-${seq}` });
    for (let seq = 0; seq < 3; seq++) expect((await produce(seq)).status).toBe(200);
    await trimFully(stub);
    expect((await storedRows(stub)).rows).toBe(1);
    const retry = await produce(0);
    expect(retry.status).toBe(204);
    expect(retry.headers.get("Producer-Seq")).toBe("2");
    expect(await (await call(`${path}?offset=-1`)).text()).toBe("seq-2");
  });
});

describe("forks of a trimmed source", () => {
  it("answer 410 below what the source still holds, read their own data, and -1 starts there", async () => {
    const { path, stub } = await createWithPolicy("retention-fork-source", "max-messages=2");
    await appendEach(path, MESSAGES.slice(0, 4));
    const fork = await call("/v1/stream/retention-fork", {
      method: "PUT",
      headers: { ...text, "Stream-Forked-From": path, "Stream-Fork-Offset": formatOffset(30) },
    });
    expect(fork.status).toBe(201);
    await appendEach("/v1/stream/retention-fork", ["fork-own-1"]);
    await appendEach(path, MESSAGES.slice(4, 8));
    await trimFully(stub);
    // The source kept [60, 80); the fork inherited [0, 30), all of it trimmed at the source.
    await expectTrimmed(await call(`/v1/stream/retention-fork?offset=${formatOffset(0)}`), 30, 40);
    expect(await (await call("/v1/stream/retention-fork?offset=-1")).text()).toBe("fork-own-1");
    expect(await (await call(`/v1/stream/retention-fork?offset=${formatOffset(30)}`)).text()).toBe("fork-own-1");
  });

  it("read the inherited range the source still holds", async () => {
    const { path, stub } = await createWithPolicy("retention-fork-kept-source", "max-messages=3");
    await appendEach(path, MESSAGES.slice(0, 4));
    expect((await call("/v1/stream/retention-fork-kept", { method: "PUT", headers: { ...text, "Stream-Forked-From": path, "Stream-Fork-Offset": formatOffset(30) } })).status).toBe(201);
    await trimFully(stub);
    await expectTrimmed(await call(`/v1/stream/retention-fork-kept?offset=${formatOffset(0)}`), 10, 30);
    expect(await (await call("/v1/stream/retention-fork-kept?offset=-1")).text()).toBe(MESSAGES.slice(1, 3).join(""));
  });
});

describe("storage full", () => {
  it("answers 507 storage_full with what to do, never a 500, and keeps producer retries working", async () => {
    const path = "/v1/stream/retention-full";
    expect((await call(path, { method: "PUT", headers: text })).status).toBe(201);
    const stub = streamObject("default/retention-full");
    expect((await call(path, { method: "POST", headers: { ...text, "Producer-Id": "p", "Producer-Epoch": "0", "Producer-Seq": "0" }, body: "first" })).status).toBe(200);
    // A cap just above what the object holds now, as if it had grown to the platform's limit.
    await runInDurableObject(stub, (instance, state) => {
      (instance as unknown as { log: { storageLimit: number } }).log.storageLimit = state.storage.sql.databaseSize + 10;
    });
    const refused = await call(path, { method: "POST", headers: text, body: "x".repeat(100) });
    const message = await expectError(refused, 507, "storage_full");
    expect(message).toContain("retention");
    const retry = await call(path, { method: "POST", headers: { ...text, "Producer-Id": "p", "Producer-Epoch": "0", "Producer-Seq": "0" }, body: "first" });
    expect(retry.status).toBe(204);
  });
});

describe("default policies", () => {
  const ADMIN = "retention-test-admin";
  const adminEnv = { ...env, ADMIN_TOKEN: ADMIN };
  const app = buildApp();
  const admin = (path: string, init: RequestInit = {}) =>
    app.request(`https://streams.test${path}`, { ...init, headers: { Authorization: `Bearer ${ADMIN}`, "Content-Type": "application/json", ...init.headers } }, adminEnv);

  it("come from the project (PATCH /v1/admin/projects/{project}), and a re-PUT without the header matches them", async () => {
    expect((await admin("/v1/admin/projects", { method: "POST", body: JSON.stringify({ project: "retention-project" }) })).status).toBe(201);
    await expectError(await admin("/v1/admin/projects/retention-project", { method: "PATCH", body: JSON.stringify({ retention: "max-age=soon" }) }), 400, "bad_request");
    const patched = await admin("/v1/admin/projects/retention-project", { method: "PATCH", body: JSON.stringify({ retention: "max-messages=3" }) });
    expect(await patched.json()).toMatchObject({ retention: "max-messages=3", corsOrigins: [] });

    const path = "/v1/stream/retention-project/inbox";
    const created = await app.request(`https://streams.test${path}`, { method: "PUT", headers: text }, adminEnv);
    expect(created.status).toBe(201);
    expect(created.headers.get("Stream-Retention")).toBe("max-messages=3");
    expect((await app.request(`https://streams.test${path}`, { method: "PUT", headers: text }, adminEnv)).status).toBe(200);
    expect((await app.request(`https://streams.test${path}`, { method: "PUT", headers: { ...text, "Stream-Retention": "max-messages=3" } }, adminEnv)).status).toBe(200);
    await expectError(await app.request(`https://streams.test${path}`, { method: "PUT", headers: { ...text, "Stream-Retention": "max-messages=4" } }, adminEnv), 409, "conflict");
    // A PUT's own header wins over the default.
    const own = await app.request("https://streams.test/v1/stream/retention-project/own", { method: "PUT", headers: { ...text, "Stream-Retention": "max-age=60" } }, adminEnv);
    expect(own.headers.get("Stream-Retention")).toBe("max-age=60");
  });

  it("come from ESTUARY_RETENTION for a new estuary", async () => {
    expect((await call("/v1/stream/retention-estuary-source", { method: "PUT", headers: { "Content-Type": "application/json" } })).status).toBe(201);
    const subscribed = await call("/v1/estuary/subscribe/default/retention-estuary-source", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ estuaryId: "retention-estuary" }),
    });
    expect(subscribed.status).toBe(201);
    const head = await call("/v1/stream/retention-estuary", { method: "HEAD" });
    expect(head.headers.get("Stream-Retention")).toBe("max-age=604800, max-bytes=67108864");
  });
});

describe("the Worker's catch-up page cache after a trim", () => {
  const send = (path: string) => sendSettled(path);

  it("never serves a cached page of trimmed data: its offset answers 410, and -1 reads from the earliest", async () => {
    const MiB = 1024 * 1024;
    const { path, stub } = await createWithPolicy("retention-cached", "max-messages=2");
    await appendEach(path, ["a".repeat(MiB), "b".repeat(MiB), "c".repeat(MiB)]);
    // Both pages end before the tail, so both are stored in the cache...
    expect((await send(`${path}?offset=${formatOffset(0)}`)).status).toBe(200);
    expect((await send(`${path}?offset=-1`)).status).toBe(200);
    const hit = await send(`${path}?offset=${formatOffset(0)}`);
    expect(hit.headers.get("Stream-Page-Cache")).toBe("hit");
    await trimFully(stub);
    // ...and after the trim neither is served: the cached offset is gone, and -1 starts at the new earliest.
    await expectTrimmed(await send(`${path}?offset=${formatOffset(0)}`), MiB, 3 * MiB);
    const fromEarliest = await send(`${path}?offset=-1`);
    expect(fromEarliest.headers.get("Stream-Page-Cache")).toBeNull();
    expect((await fromEarliest.text()).slice(0, 3)).toBe("bbb");
  });
});

describe("holds of required subscribers", () => {
  const DAY_MS = 86_400_000;
  const sinkAt = (source: string, position: number) => ({ sinkId: "retention-sink", incarnation: "one", required: true, position });

  /** A source with `max-messages=1` and five 10-byte messages, feeding a required data sink that has delivered up to `position`. */
  async function heldSource(name: string, position: number) {
    const source = await createWithPolicy(name, "max-messages=1");
    await appendEach(source.path, MESSAGES.slice(0, 5));
    expect((await source.stub.linkSink("retention-sink")).ok).toBe(true);
    const fanout = fanoutStub(env, `default/${name}`);
    await fanout.sinkAdded(sinkAt(name, position));
    return { ...source, fanout };
  }

  it("keep what a required data sink has not delivered yet, and let it go once delivered", async () => {
    const { stub, fanout } = await heldSource("retention-held", 20);
    await trimFully(stub);
    expect(await storedRows(stub)).toEqual({ rows: 3, first: 20, earliest: 20 });
    await fanout.sinkDelivered(sinkAt("retention-held", 40));
    await trimFully(stub);
    expect(await storedRows(stub)).toEqual({ rows: 1, first: 40, earliest: 40 });
  });

  it("keep what a __ds subscription has not acked, up to the cap", async () => {
    const path = "/v1/stream/retds/a";
    expect((await call(path, { method: "PUT", headers: { ...text, "Stream-Retention": "max-messages=1" } })).status).toBe(201);
    const stub = streamObject("retds/a");
    // Linked at the stream's tail (0): its acked offset holds everything appended after. (Pull-wake:
    // its wakes are appends to a stream of ours, not webhook calls.)
    expect((await call("/v1/stream/retds/wake", { method: "PUT", headers: { "Content-Type": "application/json" } })).status).toBe(201);
    const subscribed = await call("/v1/stream/__ds/subscriptions/retention-ds", {
      method: "PUT",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ type: "pull-wake", streams: ["retds/a"], wake_stream: "retds/wake" }),
    });
    expect(subscribed.status).toBe(201);
    await appendEach(path, MESSAGES.slice(0, 5));
    await trimFully(stub);
    expect(await storedRows(stub)).toEqual({ rows: 5, first: 0, earliest: 0 });
    advanceClock(8 * DAY_MS);
    await trimFully(stub);
    expect(await storedRows(stub)).toEqual({ rows: 1, first: 40, earliest: 40 });
  });

  it("end at the cap: data older than RETENTION_HOLD_MAX_MS is trimmed past the hold", async () => {
    const { stub } = await heldSource("retention-held-cap", 0);
    await trimFully(stub);
    expect(await storedRows(stub)).toEqual({ rows: 5, first: 0, earliest: 0 });
    advanceClock(8 * DAY_MS);
    await trimFully(stub);
    expect(await storedRows(stub)).toEqual({ rows: 1, first: 40, earliest: 40 });
  });
});

describe("the cost of a policy per append", () => {
  it("plans no alarm for an append that leaves the stream under its byte bound, and one once it passes it", async () => {
    const { path, stub } = await createWithPolicy("retention-no-alarm", "max-bytes=25, max-age=3600");
    await runDurableObjectAlarm(stub); // the new stream's registration call, and the age task's first look
    await appendEach(path, ["0123456789"]);
    const scheduled = () => runInDurableObject(stub, (_instance, state) => state.storage.getAlarm());
    // The age task is due an hour after the first row: nothing sooner.
    expect(await scheduled()).toBeGreaterThan(Date.now() + 3_000_000);
    await appendEach(path, ["0123456789", "0123456789"]);
    expect(await scheduled()).toBeLessThan(Date.now() + 10_000);
  });
});
