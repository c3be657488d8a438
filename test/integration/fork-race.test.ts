// Concurrent PUTs of the same fork: one creates it, the other is answered as for an existing stream
// (never wiping what the first stored), and the source holds one registration for the fork.
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { RegisterFork, RegisterForkResult } from "../../src/stream/commands";
import type { StreamDO } from "../../src/stream/stream-do";
import { eventually, pendingCallsOf } from "./estuary-support";
import { call, expectError, streamObject } from "./worker";

const text = { "Content-Type": "text/plain" };

/**
 * Holds the source's registerFork calls until the test lets them go one at a time, so concurrent
 * creates of a fork are all waiting on the source at once. Patches the class the runtime really
 * uses (RPC methods live on the prototype), for this one instance only.
 */
async function holdRegistrations(source: DurableObjectStub<StreamDO>) {
  let target: StreamDO | undefined;
  let prototype: StreamDO | undefined;
  await runInDurableObject(source, (instance: StreamDO) => {
    target = instance;
    prototype = Object.getPrototypeOf(instance) as StreamDO;
  });
  if (!prototype) throw new Error("no source instance");
  const patched = prototype;
  const original = patched.registerFork;
  const held: (() => void)[] = [];
  let arrived = 0;
  patched.registerFork = async function (this: StreamDO, input: RegisterFork): Promise<RegisterForkResult> {
    if (this === target) {
      arrived++;
      await new Promise<void>((resolve) => held.push(resolve));
    }
    return original.call(this, input);
  };
  return {
    arrived: () => arrived,
    /** Lets the earliest held call go on (from inside the source, whose I/O the held calls are). */
    async releaseOne(): Promise<void> {
      const next = held.shift();
      if (!next) throw new Error("no registration is held");
      await runInDurableObject(source, () => next());
    },
    async restore(): Promise<void> {
      patched.registerFork = original;
      const rest = held.splice(0);
      await runInDurableObject(source, () => rest.forEach((resolve) => resolve()));
    },
  };
}

/** The fork registrations the source holds, read straight from SQLite. */
function registrations(source: DurableObjectStub<StreamDO>): Promise<{ name: string; generation: number | null }[]> {
  return runInDurableObject(source, (_instance, state) =>
    state.storage.sql.exec<{ name: string; generation: number | null }>("SELECT name, generation FROM forks").toArray(),
  );
}

describe("concurrent creates of one fork", () => {
  it("answer one 201 and one 200, and the fork keeps the inherited data, the body once and what was appended", async () => {
    const source = "/v1/stream/race-src";
    const fork = "/v1/stream/race-fork";
    const sourceStub = streamObject("default/race-src");
    expect((await call(source, { method: "PUT", headers: text, body: "inherited;" })).status).toBe(201);
    const hold = await holdRegistrations(sourceStub);

    const put = () => call(fork, { method: "PUT", headers: { ...text, "Stream-Forked-From": source }, body: "own" });
    const puts = [put(), put()];
    let winner: Response;
    let loser: Response;
    try {
      // Both creates reach the source before either stored anything: the race really happens.
      await eventually(async () => expect(hold.arrived()).toBe(2));
      await hold.releaseOne();
      const first = await Promise.race(puts.map((response, index) => response.then(() => index)));
      winner = await (puts[first] as Promise<Response>);
      // The winner's fork is live and written to before the other create hears back from the source.
      expect(winner.status).toBe(201);
      expect((await call(fork, { method: "POST", headers: text, body: ";appended" })).status).toBe(204);
      await hold.releaseOne();
      loser = await (puts[1 - first] as Promise<Response>);
    } finally {
      await hold.restore();
    }
    // Answered as for an existing stream with the same configuration, not created over it.
    expect(loser.status).toBe(200);
    const head = await call(fork, { method: "HEAD" });
    expect(loser.headers.get("Stream-Next-Offset")).toBe(head.headers.get("Stream-Next-Offset"));
    expect(loser.headers.get("Content-Type")).toBe(winner.headers.get("Content-Type"));

    const read = await call(`${fork}?offset=-1`);
    expect(read.status).toBe(200);
    expect(await read.text()).toBe("inherited;own;appended");
    expect(await registrations(sourceStub)).toEqual([{ name: "default/race-fork", generation: 1 }]);
    expect(await pendingCallsOf(streamObject("default/race-fork"), "releaseFork")).toBe(0);

    // One registration, released by one delete: the source then deletes fully instead of staying 410.
    expect((await call(fork, { method: "DELETE" })).status).toBe(204);
    expect((await call(source, { method: "DELETE" })).status).toBe(204);
    await eventually(async () => {
      await expectError(await call(source), 404, "not_found");
    });
  });
});
