// Presence against a real `wrangler dev` (auth off, a 1 s grace): three users with two tabs each
// are three users in the snapshot; a user who closes both tabs leaves once after the grace; a tab
// killed without a close (TCP dropped) leaves too; the presence log shows one join per user and
// one leave per user who went, and the stream's occupancy.
/// <reference types="node" />
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pollUntil, startServer, stopServer, unique } from "../estuary/harness";
import { JSON_HEADERS, send } from "../security/auth-support";
import { upgrade, type SocketClient } from "../security/ws-support";
import type { DevServer } from "../support/wrangler-dev";

const PROJECT = unique("presence");
const STREAM = "lobby";
let server: DevServer;

interface Snapshot {
  users: { user: string; connections: number }[];
  total: number;
}

beforeAll(async () => {
  server = await startServer({ vars: { PRESENCE_GRACE_MS: "1000" } });
  const created = await send(`${server.baseUrl}/v1/stream/${PROJECT}/${STREAM}`, { method: "PUT", headers: JSON_HEADERS });
  expect(created.status, created.body).toBe(201);
});

afterAll(async () => {
  await stopServer(server);
});

async function tab(user: string): Promise<SocketClient> {
  const outcome = await upgrade(`${server.baseUrl}/v1/stream/${PROJECT}/${STREAM}?offset=now&live=ws&presence=true&user=${user}`);
  expect(outcome.status, outcome.body).toBe(101);
  if (!outcome.socket) throw new Error("no socket");
  await outcome.socket.frame();
  return outcome.socket;
}

async function present(): Promise<Record<string, number>> {
  const answer = await send(`${server.baseUrl}/v1/presence/${PROJECT}/${STREAM}`);
  expect(answer.status, answer.body).toBe(200);
  const body = JSON.parse(answer.body) as Snapshot;
  return Object.fromEntries(body.users.map((entry) => [entry.user, entry.connections]));
}

async function logLines(): Promise<string[]> {
  const answer = await send(`${server.baseUrl}/v1/presence/${PROJECT}/${STREAM}/events?offset=-1`);
  if (answer.status === 404) return [];
  expect(answer.status, answer.body).toBe(200);
  return (JSON.parse(answer.body) as { type: string; key: string; headers: { operation: string } }[]).map((event) => `${event.headers.operation} ${event.type} ${event.key}`);
}

describe("presence under wrangler dev", () => {
  it("counts users, not tabs, and lets a user leave once after the grace, a killed tab included", async () => {
    const tabs: Record<string, SocketClient[]> = {};
    for (const user of ["alice", "bob", "carol"]) tabs[user] = [await tab(user), await tab(user)];
    expect(await present()).toEqual({ alice: 2, bob: 2, carol: 2 });

    // alice closes both tabs; one of bob's is killed without a close; carol's both are killed.
    for (const socket of tabs.alice ?? []) socket.close(1000);
    tabs.bob?.[0]?.ws.terminate();
    for (const socket of tabs.carol ?? []) socket.ws.terminate();
    const after = await pollUntil("alice and carol to leave", present, (users) => !("alice" in users) && !("carol" in users) && users.bob === 1);
    expect(after).toEqual({ bob: 1 });

    const lines = await pollUntil("the leaves in the presence log", logLines, (found) => found.filter((line) => line.startsWith("delete presence")).length === 2);
    expect(lines.filter((line) => line.startsWith("insert presence")).sort()).toEqual(["insert presence alice", "insert presence bob", "insert presence carol"]);
    expect(lines.filter((line) => line.startsWith("delete presence")).sort()).toEqual(["delete presence alice", "delete presence carol"]);
    expect(lines.filter((line) => line.includes("occupancy"))).toEqual([`insert occupancy ${STREAM}`]);
    tabs.bob?.[1]?.close(1000);
  });
});
