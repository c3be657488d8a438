// Calls between objects survive failures: the calls a committed change makes necessary (release a
// fork's source, end a deleted source's subscriptions, leave a deleted estuary's sources, stop
// publishing) are retried by the caller's alarm until they succeed, and no request waits on them.
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { StreamLog } from "../../src/stream/log";
import type { StreamDO } from "../../src/stream/stream-do";
import {
  createSource,
  estuaryObject,
  eventually,
  failOutboxCalls,
  pendingCalls,
  pendingCallsOf,
  publish,
  readJson,
  subscribe,
  subscribersObject,
} from "./estuary-support";
import { call, expectError, streamObject } from "./worker";

const P = "outbox";
const text = { "Content-Type": "text/plain" };
const ESTUARY_TTL_MS = 86_400_000;

afterEach(() => {
  vi.useRealTimers();
});

/** Moves the clock seen by the Worker and its Durable Objects (they share the test isolate). */
function advanceClock(ms: number): void {
  vi.useFakeTimers({ toFake: ["Date"] });
  vi.setSystemTime(Date.now() + ms);
}

/** The stream's log, which the object keeps private. */
function logOf(instance: StreamDO): StreamLog {
  return (instance as unknown as { log: StreamLog }).log;
}

function fanoutFlag(stub: DurableObjectStub<StreamDO>): Promise<boolean | undefined> {
  return runInDurableObject(stub, (instance: StreamDO) => logOf(instance).meta?.fanout);
}

async function sourcesOf(estuaryId: string): Promise<string[] | null> {
  const sources = await estuaryObject(P, estuaryId).estuarySources();
  return sources && sources.map(({ source }) => source);
}

describe("calls between objects survive failures", () => {
  it("a deleted fork releases its source after failed attempts, which finishes the source's soft delete", async () => {
    const source = "/v1/stream/outbox-release-src";
    const fork = "/v1/stream/outbox-release-fork";
    expect((await call(source, { method: "PUT", headers: text, body: "shared" })).status).toBe(201);
    expect((await call(fork, { method: "PUT", headers: { ...text, "Stream-Forked-From": source } })).status).toBe(201);
    expect((await call(source, { method: "DELETE" })).status).toBe(204);
    await expectError(await call(source), 410, "gone");

    const forkStub = streamObject("default/outbox-release-fork");
    const fault = await failOutboxCalls(forkStub, "releaseFork", { times: 3 });
    // Answered at once: the release is the alarm's job, not the request's.
    expect((await call(fork, { method: "DELETE" })).status).toBe(204);
    await expectError(await call(fork), 404, "not_found");

    // While the release keeps failing, the source's data stays pinned (the backoff between the 2nd
    // and the 4th attempt is at least 600 ms, far longer than this check takes).
    await eventually(async () => expect(fault.attempts).toBeGreaterThanOrEqual(2));
    await expectError(await call(source), 410, "gone");

    await eventually(async () => {
      await expectError(await call(source), 404, "not_found");
    });
    expect(fault.refused).toBe(3);
    expect(fault.attempts).toBe(4);
    expect(await pendingCalls(forkStub)).toBe(0);
  });

  it("a deleted source's subscriptions end at every estuary though detaching them fails for a while", async () => {
    await createSource(P, "gone-src");
    for (const id of ["gone-1", "gone-2"]) expect(await subscribe(P, "gone-src", id)).toBe(201);
    await publish(P, "gone-src", [{ n: 1 }]);
    await eventually(async () => {
      expect(await readJson(P, "gone-1")).toEqual([{ n: 1 }]);
      expect(await readJson(P, "gone-2")).toEqual([{ n: 1 }]);
    });
    const subscribers = subscribersObject(P, "gone-src");
    const fault = await failOutboxCalls(subscribers, "detachSource");

    expect((await call(`/v1/stream/${P}/gone-src`, { method: "DELETE" })).status).toBe(204);
    // Both estuaries' detach calls were tried, failed and retried at least once.
    await eventually(async () => expect(fault.refused).toBeGreaterThanOrEqual(4));
    expect(await sourcesOf("gone-1")).toEqual([`${P}/gone-src`]);
    expect(await sourcesOf("gone-2")).toEqual([`${P}/gone-src`]);
    expect(await pendingCalls(subscribers)).toBe(2);

    fault.heal();
    await eventually(async () => {
      expect(await sourcesOf("gone-1")).toEqual([]);
      expect(await sourcesOf("gone-2")).toEqual([]);
      expect(await pendingCalls(subscribers)).toBe(0);
    });
    // Each call succeeded once, and nothing is left to make on either side.
    expect(fault.attempts).toBe(fault.refused + 2);
    expect(await pendingCalls(streamObject(`${P}/gone-src`))).toBe(0);
    expect(await subscribers.status()).toBeNull();
    // The estuaries themselves live on.
    expect(await readJson(P, "gone-1")).toEqual([{ n: 1 }]);
  });

  it("a deleted estuary leaves each of its sources, which then stop publishing, though leaving fails for a while", async () => {
    const sources = ["left-a", "left-b"];
    for (const source of sources) {
      await createSource(P, source);
      expect(await subscribe(P, source, "leaver")).toBe(201);
      expect(await fanoutFlag(streamObject(`${P}/${source}`))).toBe(true);
    }
    const estuary = estuaryObject(P, "leaver");
    const fault = await failOutboxCalls(estuary, "unsubscribe");

    expect((await call(`/v1/estuary/${P}/leaver`, { method: "DELETE" })).status).toBe(204);
    await expectError(await call(`/v1/stream/${P}/leaver`), 404, "not_found");
    await eventually(async () => expect(fault.refused).toBeGreaterThanOrEqual(4));
    for (const source of sources) {
      expect((await subscribersObject(P, source).status())?.subscribers).toBe(1);
      expect(await fanoutFlag(streamObject(`${P}/${source}`))).toBe(true);
    }

    fault.heal();
    for (const source of sources) {
      const subscribers = subscribersObject(P, source);
      await eventually(async () => {
        const status = await subscribers.status();
        expect(status === null || status.subscribers === 0).toBe(true);
        expect(await fanoutFlag(streamObject(`${P}/${source}`))).toBe(false);
        expect(await pendingCalls(subscribers)).toBe(0);
      });
    }
    expect(fault.attempts).toBe(fault.refused + 2);
    expect(await pendingCalls(estuary)).toBe(0);
    // Appends to the sources go nowhere now.
    await publish(P, "left-a", [{ n: 1 }]);
    expect(await subscribersObject(P, "left-a").status()).toBeNull();
  });

  it("a read that finds an estuary expired answers 404 while leaving its source fails, and the estuary leaves later", async () => {
    await createSource(P, "expired-src");
    expect(await subscribe(P, "expired-src", "expired")).toBe(201);
    const estuary = estuaryObject(P, "expired");
    const subscribers = subscribersObject(P, "expired-src");
    const fault = await failOutboxCalls(estuary, "unsubscribe");

    advanceClock(ESTUARY_TTL_MS + 60_000);
    await expectError(await call(`/v1/stream/${P}/expired`), 404, "not_found");
    // The alarm makes the call, which fails: reads and heads still answer 404.
    expect(await runDurableObjectAlarm(estuary)).toBe(true);
    expect(fault.refused).toBe(1);
    await expectError(await call(`/v1/stream/${P}/expired?offset=-1`), 404, "not_found");
    expect((await call(`/v1/stream/${P}/expired`, { method: "HEAD" })).status).toBe(404);
    await expectError(await call(`/v1/estuary/${P}/expired`), 404, "not_found");
    expect((await subscribers.status())?.subscribers).toBe(1);
    expect(await pendingCalls(estuary)).toBe(1);

    // Past the retry backoff, the next alarm makes it; the source's subscribers object then
    // tells the source to stop publishing, from its own alarm.
    fault.heal();
    advanceClock(60_000);
    expect(await runDurableObjectAlarm(estuary)).toBe(true);
    expect(fault.attempts).toBe(2);
    expect(await pendingCalls(estuary)).toBe(0);
    expect(await subscribers.status()).toBeNull();
    expect(await runDurableObjectAlarm(subscribers)).toBe(true);
    expect(await pendingCalls(subscribers)).toBe(0);
    expect(await fanoutFlag(streamObject(`${P}/expired-src`))).toBe(false);
  });

  it("a fork whose creation died after registering with its source releases it once the pending release is due", async () => {
    const source = "/v1/stream/outbox-crash-src";
    const fork = "/v1/stream/outbox-crash-fork";
    const forkStub = streamObject("default/outbox-crash-fork");
    expect((await call(source, { method: "PUT", headers: text, body: "pinned" })).status).toBe(201);
    await runInDurableObject(forkStub, (instance: StreamDO) => {
      const log = logOf(instance);
      const initialize = log.initialize;
      // Dies once between registering with the source and storing the fork, as a crash would.
      log.initialize = () => {
        log.initialize = initialize;
        throw new Error("injected: fork creation died");
      };
    });

    await expectError(await call(fork, { method: "PUT", headers: { ...text, "Stream-Forked-From": source } }), 500, "internal");
    await expectError(await call(fork), 404, "not_found");
    // The source was registered with, so deleting it only soft-deletes it for now.
    expect((await call(source, { method: "DELETE" })).status).toBe(204);
    await expectError(await call(source), 410, "gone");
    expect(await pendingCalls(forkStub)).toBe(1);

    // Nobody touches the fork again: its own alarm, due with the pending release, must make it.
    advanceClock(61_000);
    expect(await runDurableObjectAlarm(forkStub)).toBe(true);
    expect(await pendingCalls(forkStub)).toBe(0);
    await expectError(await call(source), 404, "not_found");
  });

  it("a fork created normally leaves no pending release behind", async () => {
    const source = "/v1/stream/outbox-ok-src";
    const fork = "/v1/stream/outbox-ok-fork";
    expect((await call(source, { method: "PUT", headers: text, body: "base;" })).status).toBe(201);
    expect((await call(fork, { method: "PUT", headers: { ...text, "Stream-Forked-From": source }, body: "more" })).status).toBe(201);

    expect(await pendingCallsOf(streamObject("default/outbox-ok-fork"), "releaseFork")).toBe(0);
    expect(await (await call(`${fork}?offset=-1`)).text()).toBe("base;more");
  });
});
