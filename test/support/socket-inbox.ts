// What a test's WebSocket client received, kept in order so a test can read messages one by one or
// wait for a state: shared by the clients over Node's global WebSocket and over the ws package.
import type { StreamFrame } from "../../src/protocol/ws-frames";

export interface Closed {
  code: number;
  reason: string;
}

/** Long enough for a close under wrangler dev, which can take about 10 s to complete. */
const WAIT_MS = 20_000;

export class SocketInbox {
  /** Every message received, in order; binary ones (never sent by the server) as a marker. */
  readonly received: string[] = [];
  closedWith: Closed | null = null;
  readonly closed: Promise<Closed>;
  private settleClosed: (closed: Closed) => void = () => undefined;
  private read = 0;
  private readonly watchers = new Set<() => void>();

  constructor() {
    this.closed = new Promise((resolve) => (this.settleClosed = resolve));
  }

  /** For the client: a message arrived. */
  protected receive(text: string): void {
    this.received.push(text);
    this.notify();
  }

  /** For the client: the socket closed. */
  protected closedBy(code: number, reason: string): void {
    this.closedWith = { code, reason };
    this.settleClosed(this.closedWith);
    this.notify();
  }

  protected notify(): void {
    for (const watcher of this.watchers) watcher();
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
      const timer = setTimeout(() => finish(new Error(`timed out after ${timeoutMs} ms waiting for ${description}; ${this.describe()}`)), timeoutMs);
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
  async frame(timeoutMs = WAIT_MS): Promise<StreamFrame> {
    const text = await this.next(timeoutMs);
    const frame = JSON.parse(text) as StreamFrame;
    if (typeof frame !== "object" || frame === null || typeof frame.streamNextOffset !== "string") {
      throw new Error(`expected a data frame, got ${text.slice(0, 200)}`);
    }
    return frame;
  }

  /**
   * Waits for the close and returns its code with any messages still unread. A close the server
   * starts completes (TCP and all) only when the object lets go of the socket: under wrangler dev
   * that can take about 10 s, so tests wait for several closes at once.
   */
  async closeCode(timeoutMs = WAIT_MS): Promise<{ code: number; unread: string[] }> {
    await this.until("the close", () => this.closedWith !== null, timeoutMs);
    return { code: (await this.closed).code, unread: this.unread() };
  }

  private describe(): string {
    const last = this.received.at(-1);
    return `${this.received.length} messages received, ${this.read} read, last ${last === undefined ? "none" : last.slice(0, 200)}`;
  }
}
