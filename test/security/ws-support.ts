// WebSocket helpers of the security tests: upgrades with any headers (the `ws` package: Node's
// global WebSocket cannot set Origin or Authorization), the status and JSON body of a refused
// upgrade, and an open socket's messages and close.
/// <reference types="node" />
import type { IncomingMessage } from "node:http";
import WebSocket from "ws";

const UPGRADE_TIMEOUT_MS = 10_000;
/** Longest wait for one event on an open socket (a message, a close) before failing with what it saw. */
const WAIT_MS = 20_000;

/** The answer to an upgrade: 101 with the open socket, or the refusal read to its end. */
export interface UpgradeOutcome {
  status: number;
  headers: Headers;
  /** The refusal's body ("" for a 101). */
  body: string;
  socket: SocketClient | null;
}

function toHeaders(response: IncomingMessage): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(response.headers)) {
    for (const one of Array.isArray(value) ? value : [value ?? ""]) headers.append(name, one);
  }
  return headers;
}

/** ws://... for an http://... address. */
export function socketUrl(url: string): string {
  return url.replace(/^http/, "ws");
}

/**
 * Sends a WebSocket upgrade (a valid handshake, plus `headers`) and waits for the answer. A refusal
 * is read to its end and its connection dropped; a 101 yields the open socket, whose messages are
 * kept from the first one on.
 */
export function upgrade(url: string, headers: Record<string, string> = {}, timeoutMs = UPGRADE_TIMEOUT_MS): Promise<UpgradeOutcome> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const settle = (finish: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      finish();
    };
    const ws = new WebSocket(socketUrl(url), { headers, handshakeTimeout: timeoutMs });
    const client = new SocketClient(ws);
    let answered = new Headers();
    ws.on("upgrade", (response) => (answered = toHeaders(response)));
    ws.on("open", () => settle(() => resolve({ status: 101, headers: answered, body: "", socket: client })));
    ws.on("unexpected-response", (_request, response) => {
      const chunks: Buffer[] = [];
      const done = () => {
        settle(() => resolve({ status: response.statusCode ?? 0, headers: toHeaders(response), body: Buffer.concat(chunks).toString("utf8"), socket: null }));
        ws.terminate();
      };
      // An event stream (an upgrade header on an SSE read) never ends: its first chunk will do.
      const eventStream = (response.headers["content-type"] ?? "").startsWith("text/event-stream");
      response.on("data", (chunk: Buffer) => {
        chunks.push(chunk);
        if (eventStream) done();
      });
      response.on("end", done);
      response.on("error", (error) => settle(() => reject(error)));
    });
    // After a refusal, terminate() reports an error of its own: only errors before an answer count.
    ws.on("error", (error) => settle(() => reject(error)));
    const timer = setTimeout(() => {
      settle(() => reject(new Error(`no answer to the upgrade of ${url} within ${timeoutMs} ms`)));
      ws.terminate();
    }, timeoutMs);
  });
}

export interface Frame {
  data: unknown;
  streamNextOffset: string;
  upToDate: boolean;
  streamClosed?: true;
  encoding?: "base64";
}

export interface Closed {
  code: number;
  reason: string;
}

/** An open socket (ws package) that keeps every message it receives, to be read in order or waited on. */
export class SocketClient {
  /** Every message received, in order; binary ones (never sent by the server) as a marker. */
  readonly received: string[] = [];
  /** Control-frame pongs received (answers to ping control frames). */
  readonly pongs: string[] = [];
  closedWith: Closed | null = null;
  readonly closed: Promise<Closed>;
  private read = 0;
  private readonly watchers = new Set<() => void>();

  constructor(readonly ws: WebSocket) {
    ws.on("message", (data, isBinary) => {
      const bytes = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
      this.received.push(isBinary ? "<binary message>" : bytes.toString("utf8"));
      this.notify();
    });
    ws.on("pong", (data) => {
      this.pongs.push(data.toString("utf8"));
      this.notify();
    });
    this.closed = new Promise((resolve) => {
      ws.on("close", (code, reason) => {
        this.closedWith = { code, reason: reason.toString("utf8") };
        resolve(this.closedWith);
        this.notify();
      });
    });
    // Errors end in a close, which is what the tests look at.
    ws.on("error", () => undefined);
  }

  get open(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  /** Messages received but not yet read with next(). */
  unread(): string[] {
    return this.received.slice(this.read);
  }

  /** Marks every message received so far as read. */
  skip(): void {
    this.read = this.received.length;
  }

  /** Waits until `done()` holds; fails after `timeoutMs`, or at once if the socket closes first. */
  until(description: string, done: () => boolean, timeoutMs = WAIT_MS): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (done()) finish();
        else if (this.closedWith) finish(new Error(`socket closed (${this.closedWith.code} ${this.closedWith.reason}) before ${description}`));
      };
      const timer = setTimeout(() => finish(new Error(`timed out after ${timeoutMs} ms waiting for ${description}; ${this.received.length} messages, ${this.read} read`)), timeoutMs);
      const finish = (error?: Error) => {
        clearTimeout(timer);
        this.watchers.delete(check);
        if (error) reject(error);
        else resolve();
      };
      this.watchers.add(check);
      check();
    });
  }

  /** The next message, in order. */
  async next(timeoutMs = WAIT_MS): Promise<string> {
    await this.until("the next message", () => this.read < this.received.length, timeoutMs);
    return this.received[this.read++] as string;
  }

  /** The next message, which must be a data frame. */
  async frame(timeoutMs = WAIT_MS): Promise<Frame> {
    const text = await this.next(timeoutMs);
    const frame = JSON.parse(text) as Frame;
    if (typeof frame !== "object" || frame === null || typeof frame.streamNextOffset !== "string") {
      throw new Error(`expected a data frame, got ${text.slice(0, 200)}`);
    }
    return frame;
  }

  /**
   * Waits for the close and returns its code with any messages still unread. A close the server
   * starts may complete (TCP and all) only when the object lets go of the socket: under wrangler
   * dev that can take about 10 s, so wait for several closes at once.
   */
  async closeCode(timeoutMs = WAIT_MS): Promise<{ code: number; unread: string[] }> {
    await this.until("the close", () => this.closedWith !== null, timeoutMs);
    return { code: (await this.closed).code, unread: this.unread() };
  }

  close(code = 1000): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.close(code);
  }

  private notify(): void {
    for (const watcher of this.watchers) watcher();
  }
}
