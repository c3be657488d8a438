// A WebSocket live-read client for tests in the Workers runtime, and the HTTP calls they make.
import { expect } from "vitest";
import type { StreamFrame as Frame } from "../../src/protocol/ws-frames";
import { call } from "./worker";

/** A client socket that queues what it receives, so a test can await frames one by one. */
export class Client {
  private readonly queue: (Frame | string)[] = [];
  private waiting: (() => void) | null = null;
  readonly closed: Promise<{ code: number; reason: string }>;

  constructor(readonly ws: WebSocket) {
    ws.accept();
    ws.addEventListener("message", (event) => {
      const text = typeof event.data === "string" ? event.data : "";
      this.queue.push(text === "pong" ? text : (JSON.parse(text) as Frame));
      this.waiting?.();
    });
    this.closed = new Promise((resolve) => ws.addEventListener("close", (event) => resolve({ code: event.code, reason: event.reason })));
  }

  /** Frames and pongs received and not yet taken. */
  get pending(): number {
    return this.queue.length;
  }

  async next(): Promise<Frame | string> {
    while (this.queue.length === 0) await new Promise<void>((resolve) => (this.waiting = resolve));
    return this.queue.shift() as Frame | string;
  }

  async frame(): Promise<Frame> {
    const next = await this.next();
    if (typeof next === "string") throw new Error(`expected a frame, got ${next}`);
    return next;
  }

  /**
   * Nothing else arrives before a marker appended now: frames come in order, so a duplicate of
   * anything sent earlier would be here first.
   */
  async expectOnlyMarker(name: string, marker: unknown): Promise<void> {
    const tail = await append(name, "application/json", JSON.stringify(marker));
    expect(await this.frame()).toEqual({ data: [marker], streamNextOffset: tail, upToDate: true });
  }
}

export async function open(path: string): Promise<Client> {
  const response = await call(path, { headers: { Upgrade: "websocket" } });
  expect(response.status).toBe(101);
  if (!response.webSocket) throw new Error("no WebSocket in the 101");
  return new Client(response.webSocket);
}

export async function create(name: string, contentType: string, body?: string): Promise<void> {
  expect((await call(`/v1/stream/${name}`, { method: "PUT", headers: { "Content-Type": contentType }, body })).status).toBe(201);
}

export async function append(name: string, contentType: string, body: string): Promise<string> {
  const response = await call(`/v1/stream/${name}`, { method: "POST", headers: { "Content-Type": contentType }, body });
  expect(response.status).toBe(204);
  return response.headers.get("Stream-Next-Offset") ?? "";
}
