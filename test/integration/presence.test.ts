// Presence on hibernating WebSockets: readers that ask for it (presence=true) are present as their
// user while any of their sockets is open; a user leaves once, a grace period after their last
// socket closed, so a reload is neither a leave nor a join; membership holds across hibernation
// and eviction, and a restart (no close events) starts everyone's grace.
import { evictDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { eventually } from "./estuary-support";
import { openSocket } from "./identity-support";
import { createStream, eventLines, join, joinRaw, present, roomy, runAlarm, setClock, snapshot } from "./presence-support";
import { call, expectError, streamObject } from "./worker";

const GRACE_MS = 5_000; // PRESENCE_GRACE_MS's default
const LIVENESS_MS = 90_000; // PRESENCE_LIVENESS_MS's default

afterEach(() => {
  vi.useRealTimers();
});

describe("presence", () => {
  it("counts three users with two sockets each as three users, each with two connections", async () => {
    await createStream("presence-three");
    for (const user of ["alice", "bob", "carol"]) for (let tab = 0; tab < 2; tab++) await join("presence-three", user);
    // A reader naming itself without asking for presence is not present.
    await openSocket("/v1/stream/presence-three?offset=now&live=ws&user=erin", roomy);
    const body = await snapshot("presence-three");
    expect(body.total).toBe(3);
    expect(body.users.map((entry) => [entry.user, entry.connections])).toEqual([["alice", 2], ["bob", 2], ["carol", 2]]);
    expect(Date.parse(body.users[0]?.since ?? "")).not.toBeNaN();
  });

  it("refuses presence without a user, a malformed presence value, and a snapshot of a missing stream", async () => {
    await createStream("presence-refusals");
    const upgrade = { headers: { Upgrade: "websocket" } };
    await expectError(await call("/v1/stream/presence-refusals?offset=now&live=ws&presence=true", upgrade), 400, "bad_request");
    await expectError(await call("/v1/stream/presence-refusals?offset=now&live=ws&presence=yes&user=a", upgrade), 400, "bad_request");
    await expectError(await call("/v1/presence/default/presence-missing"), 404, "not_found");
    await expectError(await call("/v1/presence/default/presence-refusals?limit=0"), 400, "bad_request");
    await expectError(await call("/v1/presence/default/presence-refusals", { method: "POST" }), 405, "method_not_allowed");
    await expectError(await call("/v1/presence/default"), 400, "bad_request");
  });

  it("keeps a user whose sockets all closed until the grace ends, then they leave once", async () => {
    await createStream("presence-grace");
    const tabs = [await join("presence-grace", "alice"), await join("presence-grace", "alice")];
    await join("presence-grace", "bob");
    // The grace starts when the object sees the last close: after `closing`, before `closed`.
    const closing = Date.now();
    for (const tab of tabs) tab.ws.close(1000);
    await eventually(async () => expect(await present("presence-grace")).toEqual({ alice: 0, bob: 1 }));
    const closed = Date.now();
    setClock(closing + GRACE_MS - 100);
    await runAlarm("presence-grace");
    expect(await present("presence-grace")).toEqual({ alice: 0, bob: 1 });
    setClock(closed + GRACE_MS + 1_000);
    await runAlarm("presence-grace");
    expect(await present("presence-grace")).toEqual({ bob: 1 });
    await runAlarm("presence-grace");
    expect(await eventLines("presence-grace")).toEqual([
      "insert presence alice",
      "insert occupancy presence-grace",
      "insert presence bob",
      "delete presence alice",
    ]);
  });

  it("treats a reload (a new socket within the grace) as neither a leave nor a join", async () => {
    await createStream("presence-reload");
    const first = await join("presence-reload", "alice");
    first.ws.close(1000);
    await eventually(async () => expect(await present("presence-reload")).toEqual({ alice: 0 }));
    await join("presence-reload", "alice");
    expect(await present("presence-reload")).toEqual({ alice: 1 });
    setClock(Date.now() + GRACE_MS * 3);
    await runAlarm("presence-reload");
    expect(await present("presence-reload")).toEqual({ alice: 1 });
    expect(await eventLines("presence-reload")).toEqual(["insert presence alice", "insert occupancy presence-reload"]);
  });

  it("holds across hibernation with eviction: the sockets' tags still name their users, and a close after it still leaves", async () => {
    await createStream("presence-hibernate");
    const alice = await join("presence-hibernate", "alice");
    await join("presence-hibernate", "bob");
    await evictDurableObject(streamObject("default/presence-hibernate"), { webSockets: "hibernate" });
    expect(await present("presence-hibernate")).toEqual({ alice: 1, bob: 1 });
    await evictDurableObject(streamObject("default/presence-hibernate"), { webSockets: "hibernate" });
    alice.ws.close(1000);
    await eventually(async () => expect(await present("presence-hibernate")).toEqual({ alice: 0, bob: 1 }));
    setClock(Date.now() + GRACE_MS + 1_000);
    await runAlarm("presence-hibernate");
    expect(await present("presence-hibernate")).toEqual({ bob: 1 });
  });

  it("after a restart, which drops sockets without close events, everyone leaves after the grace and the stream is vacated", async () => {
    await createStream("presence-restart");
    await join("presence-restart", "alice");
    await join("presence-restart", "bob");
    await evictDurableObject(streamObject("default/presence-restart"), { webSockets: "close" });
    expect(await present("presence-restart")).toEqual({ alice: 0, bob: 0 });
    // The new instance started their grace before this point.
    setClock(Date.now() + GRACE_MS + 1_000);
    await runAlarm("presence-restart");
    expect(await snapshot("presence-restart")).toEqual({ users: [], total: 0 });
    await runAlarm("presence-restart");
    expect(await eventLines("presence-restart")).toEqual([
      "insert presence alice",
      "insert occupancy presence-restart",
      "insert presence bob",
      "delete presence alice",
      "delete presence bob",
      "delete occupancy presence-restart",
    ]);
  });

  it("closes a presence socket that stopped pinging (4408) and its user leaves after the grace; one that pings stays", async () => {
    await createStream("presence-silent");
    // Both are accepted "long ago" (their accept time is all a socket that never pinged shows).
    const realNow = Date.now();
    setClock(realNow - LIVENESS_MS - 10_000);
    const silent = await join("presence-silent", "alice");
    const pinging = await joinRaw("presence-silent", "bob");
    vi.useRealTimers();
    pinging.ws.send("ping");
    expect(await pinging.next()).toBe("pong");
    await runAlarm("presence-silent");
    expect((await silent.closed).code).toBe(4408);
    await eventually(async () => expect(await present("presence-silent")).toEqual({ alice: 0, bob: 1 }));
    setClock(Date.now() + GRACE_MS + 1_000);
    await runAlarm("presence-silent");
    expect(await present("presence-silent")).toEqual({ bob: 1 });
  });

  it("a deleted stream's users leave after the grace, and the log says so", async () => {
    await createStream("presence-deleted");
    const alice = await join("presence-deleted", "alice");
    expect((await call("/v1/stream/presence-deleted", { method: "DELETE" })).status).toBe(204);
    expect((await alice.closed).code).toBe(4404);
    await expectError(await call("/v1/presence/default/presence-deleted"), 404, "not_found");
    setClock(Date.now() + GRACE_MS + 1_000);
    await runAlarm("presence-deleted");
    await runAlarm("presence-deleted");
    expect(await eventLines("presence-deleted")).toEqual([
      "insert presence alice",
      "insert occupancy presence-deleted",
      "delete presence alice",
      "delete occupancy presence-deleted",
    ]);
  });

  it("pages the snapshot in user order with next", async () => {
    await createStream("presence-pages");
    for (const user of ["u1", "u2", "u3"]) await join("presence-pages", user);
    const first = await snapshot("presence-pages", "?limit=2");
    expect(first).toMatchObject({ users: [{ user: "u1" }, { user: "u2" }], total: 3, next: "u2" });
    const second = await snapshot("presence-pages", `?limit=2&after=${first.next}`);
    expect(second.users.map((entry) => entry.user)).toEqual(["u3"]);
    expect(second.next).toBeUndefined();
  });
});
