// Shared by the presence tests: presence sockets with auth off, the snapshot, the events log as
// JSON, a clock the Worker and its objects share, and the object's alarm run on demand.
import { runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { expect, vi } from "vitest";
import { openSocket, type SocketClient } from "./identity-support";
import { call, streamObject } from "./worker";

export interface Snapshot {
  users: { user: string; connections: number; since: string }[];
  total: number;
  next?: string;
}

export interface ChangeEvent {
  type: string;
  key: string;
  value: Record<string, unknown>;
  headers: { operation: string; timestamp: string };
}

export async function createStream(name: string): Promise<void> {
  expect((await call(`/v1/stream/${name}`, { method: "PUT", headers: { "Content-Type": "application/json" } })).status).toBe(201);
}

/** Auth off, with room for more sockets per stream than the suite's WS_MAX_PER_STREAM of 3. */
export const roomy = { ...env, WS_MAX_PER_STREAM: "20" };

/** A presence socket of `user` on a default-project stream (auth off), once it has its first frame. */
export function join(stream: string, user: string): Promise<SocketClient> {
  return openSocket(`/v1/stream/${stream}?offset=now&live=ws&presence=true&user=${encodeURIComponent(user)}`, roomy);
}

/** A presence socket without a frame reader, for a test that sends "ping" (answered "pong", not JSON). */
export async function joinRaw(stream: string, user: string): Promise<{ ws: WebSocket; next: () => Promise<string> }> {
  const response = await call(`/v1/stream/${stream}?offset=now&live=ws&presence=true&user=${user}`, { headers: { Upgrade: "websocket" } });
  const ws = response.webSocket;
  if (response.status !== 101 || !ws) throw new Error(`expected 101, got ${response.status}`);
  const queue: string[] = [];
  let wake: (() => void) | null = null;
  ws.accept();
  ws.addEventListener("message", (event) => {
    queue.push(typeof event.data === "string" ? event.data : "");
    wake?.();
  });
  const next = async () => {
    while (queue.length === 0) await new Promise<void>((resolve) => (wake = resolve));
    return queue.shift() ?? "";
  };
  await next(); // The first frame: the socket is live.
  return { ws, next };
}

export async function snapshot(stream: string, query = ""): Promise<Snapshot> {
  const response = await call(`/v1/presence/default/${stream}${query}`);
  expect(response.status).toBe(200);
  return response.json();
}

/** Users and their open connections, as the snapshot shows them. */
export async function present(stream: string): Promise<Record<string, number>> {
  const { users } = await snapshot(stream);
  return Object.fromEntries(users.map((entry) => [entry.user, entry.connections]));
}

/** The whole presence log from the start. */
export async function events(stream: string): Promise<ChangeEvent[]> {
  const response = await call(`/v1/presence/default/${stream}/events?offset=-1`);
  if (response.status === 404) return [];
  expect(response.status).toBe(200);
  return response.json();
}

/** The log's events in a short form: "insert presence alice", "delete occupancy ...". */
export async function eventLines(stream: string): Promise<string[]> {
  return (await events(stream)).map((event) => `${event.headers.operation} ${event.type} ${event.key}`);
}

/** Sets the clock seen by the Worker and its Durable Objects (they share the test isolate). */
export function setClock(at: number): void {
  vi.useFakeTimers({ toFake: ["Date"] });
  vi.setSystemTime(at);
}

/** Runs the stream's alarm now (leaves due, the outbox's appends to the presence log). */
export async function runAlarm(stream: string): Promise<void> {
  await runDurableObjectAlarm(streamObject(`default/${stream}`));
}
