// Shared by the identity tests: the app with auth on (as in production) and an admin API, a socket
// client that awaits frames and its close, and the users kept in a stream's socket attachments.
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { expect } from "vitest";
import { buildApp } from "../../src/app";
import type { StreamDO } from "../../src/stream/stream-do";
import { streamObject } from "./worker";

export const ADMIN_TOKEN = "identity-test-admin-token";
export const authOn = { ...env, AUTH_MODE: "on", ADMIN_TOKEN, WEBHOOK_ALLOW_LOOPBACK: "off" };
const app = buildApp();

/** A request to the app with auth on. */
export function request(path: string, init?: RequestInit, bindings: object = authOn): Promise<Response> {
  return Promise.resolve(app.request(path, init, bindings));
}

export async function admin(method: string, path: string, body?: unknown): Promise<Response> {
  const headers: Record<string, string> = { Authorization: `Bearer ${ADMIN_TOKEN}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  return request(`/v1/admin${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
}

export async function createProject(project: string): Promise<void> {
  expect((await admin("POST", "/projects", { project, corsOrigins: [] })).status).toBe(201);
}

export async function mint(project: string, body: Record<string, unknown>): Promise<{ token: string; expiresAt: string; jti: string }> {
  const minted = await admin("POST", `/projects/${project}/tokens`, body);
  expect(minted.status).toBe(201);
  return minted.json();
}

/** Creates a JSON stream with a manage token of the project. */
export async function createStream(project: string, stream: string): Promise<void> {
  const { token } = await mint(project, { scope: ["manage"] });
  const created = await request(`/v1/stream/${project}/${stream}`, { method: "PUT", headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" } });
  expect(created.status).toBe(201);
}

export class SocketClient {
  readonly received: unknown[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  private wake: (() => void) | null = null;

  constructor(readonly ws: WebSocket) {
    ws.accept();
    ws.addEventListener("message", (event) => {
      this.received.push(JSON.parse(typeof event.data === "string" ? event.data : "null"));
      this.wake?.();
    });
    this.closed = new Promise((resolve) => ws.addEventListener("close", (event) => resolve({ code: event.code, reason: event.reason })));
  }

  /** The next message not yet taken. */
  async next(): Promise<unknown> {
    while (this.received.length === 0) await new Promise<void>((resolve) => (this.wake = resolve));
    return this.received.shift();
  }
}

/** Opens a live=ws read; `path` carries its query. */
export async function openSocket(path: string, bindings: object = authOn, headers: Record<string, string> = {}): Promise<SocketClient> {
  const response = await request(path, { headers: { Upgrade: "websocket", ...headers } }, bindings);
  if (response.status !== 101 || !response.webSocket) throw new Error(`expected 101, got ${response.status}: ${await response.text()}`);
  const client = new SocketClient(response.webSocket);
  await client.next(); // The first frame: the socket is live.
  return client;
}

/** What each open socket of a stream keeps in its attachment. */
export function attachments(key: string): Promise<{ user: string | null; jti: string | null; kid: string | null; expiresAt: number | null }[]> {
  return runInDurableObject(streamObject(key), (instance: StreamDO, state) =>
    state.getWebSockets().map((ws) => ws.deserializeAttachment() as { user: string | null; jti: string | null; kid: string | null; expiresAt: number | null }),
  );
}
