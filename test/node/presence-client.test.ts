// The browser client's presence (public/v1/presence.js, re-exported by client.js) against a fake
// WebSocket and a fake fetch: joining adds presence=true (and ?user= with auth off); following reads
// the log's tail, then every snapshot page, then applies the log's change events from that tail.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { followPresence, openStream } from "../../public/v1/client.js";
import type { Member } from "../../public/v1/presence.js";
import { FakeSocket, latest } from "./fake-socket";

const BASE = "http://streams.test";

/** Answers the client's fetches from a table of path+query -> response, and records them. */
function fakeFetch(answers: Record<string, () => Response>): string[] {
  const asked: string[] = [];
  vi.stubGlobal("fetch", async (input: string) => {
    const url = new URL(input);
    const key = `${url.pathname}${url.search}`;
    asked.push(key);
    const answer = answers[key];
    if (!answer) throw new Error(`unexpected fetch ${key}`);
    return answer();
  });
  return asked;
}

const json = (body: unknown, headers: Record<string, string> = {}) => () => new Response(JSON.stringify(body), { status: 200, headers: { "Content-Type": "application/json", ...headers } });

beforeEach(() => {
  FakeSocket.all = [];
  vi.stubGlobal("WebSocket", FakeSocket);
});

afterEach(() => {
  vi.unstubAllGlobals();
});

describe("presence in public/v1/client.js", () => {
  it("joins with presence=true, and names the user with ?user= when asked (auth off)", () => {
    openStream(`${BASE}/v1/stream/acme/lobby`, { onData: () => {}, offset: "now", presence: true, user: "alice" });
    expect(latest().url).toBe("ws://streams.test/v1/stream/acme/lobby?offset=now&live=ws&presence=true&user=alice");
  });

  it("follows the snapshot, every page of it, then the log's events from the tail taken before it", async () => {
    const asked = fakeFetch({
      "/v1/presence/acme/lobby/events?offset=now": () => new Response(null, { status: 200, headers: { "Stream-Next-Offset": "0000000000000000_0000000000000100" } }),
      "/v1/presence/acme/lobby": json({ users: [{ user: "alice", connections: 2, since: "t1" }], total: 2, next: "alice" }),
      "/v1/presence/acme/lobby?after=alice": json({ users: [{ user: "bob", connections: 1, since: "t2" }], total: 2 }),
    });
    const seen: string[][] = [];
    const follow = await followPresence(`${BASE}/v1/presence/acme/lobby`, { onChange: (users: Map<string, Member>) => seen.push([...users.keys()].sort()) });
    expect(asked).toEqual(["/v1/presence/acme/lobby/events?offset=now", "/v1/presence/acme/lobby", "/v1/presence/acme/lobby?after=alice"]);
    expect(seen).toEqual([["alice", "bob"]]);
    const socket = latest();
    expect(socket.url).toBe("ws://streams.test/v1/presence/acme/lobby/events?offset=0000000000000000_0000000000000100&live=ws");
    socket.open();
    const event = (operation: string, key: string, type = "presence") => ({ type, key, value: { user: key, since: "t3" }, headers: { operation, timestamp: "t3" } });
    socket.frame({ data: [event("insert", "carol"), event("insert", "lobby", "occupancy"), event("delete", "alice")], streamNextOffset: "0000000000000000_0000000000000200" });
    expect(seen.at(-1)).toEqual(["bob", "carol"]);
    expect(follow.users.get("carol")).toEqual({ user: "carol", since: "t3" });
    follow.close();
  });

  it("reads the log from its start when it does not exist yet (nobody joined before the snapshot)", async () => {
    fakeFetch({
      "/v1/presence/acme/empty/events?offset=now": () => new Response('{"error":{"code":"not_found","message":"stream not found"}}', { status: 404 }),
      "/v1/presence/acme/empty": json({ users: [], total: 0 }),
    });
    const follow = await followPresence(`${BASE}/v1/presence/acme/empty`, { onChange: () => {} });
    expect(latest().params.get("offset")).toBe("-1");
    follow.close();
  });
});
