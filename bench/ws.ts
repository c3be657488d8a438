// WebSocket live reads (live=ws) from the load generator: open a socket, take its frames as they
// arrive, and count which numbered messages each of many sockets holds.
import { performance } from "node:perf_hooks";
import type { StreamFrame } from "../src/protocol/ws-frames.ts";

/** One text frame of a live=ws read. */
export type Frame = StreamFrame;

export interface Received {
  frame: Frame;
  /** performance.now() when the frame's message event ran. */
  at: number;
}

/** The ws:// address of a live=ws read of `path` (a /v1/stream/... path) at `offset`. */
export function wsUrl(baseUrl: string, path: string, offset: string): string {
  return `${baseUrl.replace(/^http/, "ws")}${path}?offset=${encodeURIComponent(offset)}&live=ws`;
}

/**
 * A client socket (Node 22's global WebSocket). Frames queue up for `next`, or after `listen` go
 * to its callback as they arrive. `closedEarly` is set when the server or the network closed it.
 */
export class LiveSocket {
  private onFrame: ((received: Received) => void) | null = null;
  closedEarly: { code: number; reason: string } | null = null;
  /** A frame that was not one JSON object of the expected shape, or an error frame. */
  badFrame: string | null = null;
  private readonly queue: Received[] = [];
  private wake: (() => void) | null = null;
  private closing = false;
  private readonly closed: Promise<void>;
  private readonly ws: WebSocket;

  /** The upgrade was answered 101 (the open event ran). */
  upgraded = false;

  private constructor(ws: WebSocket) {
    this.ws = ws;
    ws.addEventListener("open", () => {
      this.upgraded = true;
    });
    ws.addEventListener("message", (event) => {
      const at = performance.now();
      const text = typeof event.data === "string" ? event.data : "";
      let frame: Frame;
      try {
        frame = JSON.parse(text) as Frame;
      } catch {
        this.badFrame ??= text.slice(0, 200) || "(a binary frame)";
        return;
      }
      if (frame.error || typeof frame.streamNextOffset !== "string") {
        this.badFrame ??= text.slice(0, 200);
        return;
      }
      const received = { frame, at };
      if (this.onFrame) this.onFrame(received);
      else this.queue.push(received);
      this.notify();
    });
    this.closed = new Promise((resolve) => {
      ws.addEventListener("close", (event) => {
        if (!this.closing) this.closedEarly = { code: event.code, reason: event.reason };
        this.notify();
        resolve();
      });
    });
  }

  /** Opens a live read and waits for its first frame (sent at once, possibly with empty data). */
  static async open(url: string, timeoutMs: number): Promise<{ socket: LiveSocket; first: Received }> {
    const ws = new WebSocket(url);
    const socket = new LiveSocket(ws);
    try {
      const first = await socket.next(timeoutMs);
      return { socket, first };
    } catch (error) {
      await socket.close(1_000);
      throw error;
    }
  }

  /** From now on every frame goes to `onFrame`, starting with any still queued. */
  listen(onFrame: (received: Received) => void): void {
    this.onFrame = onFrame;
    for (let received = this.queue.shift(); received; received = this.queue.shift()) onFrame(received);
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }

  /** The next frame (when no `onFrame` is set). */
  async next(timeoutMs: number): Promise<Received> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const received = this.queue.shift();
      if (received) return received;
      if (this.badFrame) throw new Error(`unexpected frame: ${this.badFrame}`);
      if (this.closedEarly) throw new Error(`socket closed (${this.closedEarly.code} ${this.closedEarly.reason})`);
      const left = deadline - performance.now();
      if (left <= 0) throw new Error(`no WebSocket frame within ${timeoutMs} ms (${this.upgraded ? "after the 101" : "no 101 either"})`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  /** Closes with 1000 and waits (at most `timeoutMs`) for the close handshake; false if it did not complete. */
  async close(timeoutMs: number): Promise<boolean> {
    this.closing = true;
    if (this.ws.readyState === WebSocket.CONNECTING || this.ws.readyState === WebSocket.OPEN) {
      try {
        this.ws.close(1000, "done");
      } catch {
        // Already closing.
      }
    }
    if (this.ws.readyState === WebSocket.CLOSED) return true;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.closed, new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
    clearTimeout(timer);
    return this.ws.readyState === WebSocket.CLOSED;
  }
}

/** What one socket got wrong: messages it saw twice, messages it never saw. */
export interface SocketProblems {
  duplicates: number;
  missing: number;
  first: string | null;
}

export interface Arrival {
  /** performance.now() when the first socket held the message. */
  firstAt: number;
  /** performance.now() when the last socket held it. */
  allAt: number;
}

/**
 * Counts, over `sockets` sockets, which numbered messages (`{"seq": n, ...}` in each frame's data
 * array) each socket holds. Every socket must see 0, 1, 2, ... once each, in order.
 */
export class SeqTracker {
  private readonly expectedNext: number[];
  private readonly problems: SocketProblems[];
  private readonly holders = new Map<number, { count: number; firstAt: number; lastAt: number }>();
  private readonly waiters = new Map<number, (arrival: Arrival) => void>();
  private readonly sockets: number;

  constructor(sockets: number) {
    this.sockets = sockets;
    this.expectedNext = Array.from({ length: sockets }, () => 0);
    this.problems = Array.from({ length: sockets }, () => ({ duplicates: 0, missing: 0, first: null }));
  }

  /** Feeds one socket's frame. */
  record(socket: number, received: Received): void {
    const messages = Array.isArray(received.frame.data) ? (received.frame.data as unknown[]) : [];
    for (const message of messages) {
      const seq = (message as { seq?: unknown } | null)?.seq;
      const problems = this.problems[socket];
      const expected = this.expectedNext[socket];
      if (typeof seq !== "number" || problems === undefined || expected === undefined) continue;
      if (seq < expected) {
        problems.duplicates++;
        problems.first ??= `message ${seq} again after ${expected - 1}`;
        continue;
      }
      if (seq > expected) {
        problems.missing += seq - expected;
        problems.first ??= `message ${seq} arrived while ${expected} was expected`;
      }
      this.expectedNext[socket] = seq + 1;
      const holder = this.holders.get(seq) ?? { count: 0, firstAt: received.at, lastAt: received.at };
      holder.count++;
      holder.lastAt = received.at;
      this.holders.set(seq, holder);
      if (holder.count === this.sockets) {
        this.waiters.get(seq)?.({ firstAt: holder.firstAt, allAt: holder.lastAt });
        this.waiters.delete(seq);
      }
    }
  }

  /** Resolves when every socket holds message `seq`; null after `timeoutMs`. */
  arrival(seq: number, timeoutMs: number): Promise<Arrival | null> {
    const holder = this.holders.get(seq);
    if (holder && holder.count === this.sockets) return Promise.resolve({ firstAt: holder.firstAt, allAt: holder.lastAt });
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiters.delete(seq);
        resolve(null);
      }, timeoutMs);
      this.waiters.set(seq, (arrival) => {
        clearTimeout(timer);
        resolve(arrival);
      });
    });
  }

  /** How many sockets hold message `seq` so far. */
  holding(seq: number): number {
    return this.holders.get(seq)?.count ?? 0;
  }

  /** Sockets that did not see exactly 0 .. last, once each and in order. */
  check(last: number): { exact: number; wrong: number; duplicates: number; missing: number; firstProblem: string | null } {
    let exact = 0;
    let duplicates = 0;
    let missing = 0;
    let firstProblem: string | null = null;
    this.problems.forEach((problems, socket) => {
      const short = Math.max(0, last + 1 - (this.expectedNext[socket] ?? 0));
      duplicates += problems.duplicates;
      missing += problems.missing + short;
      if (problems.duplicates === 0 && problems.missing === 0 && short === 0) exact++;
      else firstProblem ??= `socket ${socket}: ${problems.first ?? `has messages up to ${(this.expectedNext[socket] ?? 0) - 1} of ${last}`}`;
    });
    return { exact, wrong: this.sockets - exact, duplicates, missing, firstProblem };
  }
}
