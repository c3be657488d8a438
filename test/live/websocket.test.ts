// WebSocket live reads (live=ws) against a real `wrangler dev` (auth off), with Node 22's global
// WebSocket client: 500 sockets on one stream get 20 sequential appends exactly once and in order
// (and the time until all hold the last one is printed), a reconnect from a middle offset gets
// exactly the rest, text/JSON/binary frames, a closed stream's last frame and close code 1000
// (live and on an already-closed stream), 4404 for a deleted stream, a client's close answered at
// once, and ping/pong.
/// <reference types="node" />
import { isDeepStrictEqual } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Api, mapLimit, startServer, stopServer, unique } from "../estuary/harness";
import type { StreamFrame as Frame } from "../../src/protocol/ws-frames";
import { SocketInbox } from "../support/socket-inbox";
import type { DevServer } from "../support/wrangler-dev";

const PROJECT = "live";
const JSON_TYPE = "application/json";
/** The fan-out test: sockets on one stream, appends, and how many sockets open at a time. */
const SOCKETS = 500;
const APPENDS = 20;
const OPEN_CONCURRENCY = 50;

// --- the client ----------------------------------------------------------------------------------

/** The part of the WHATWG WebSocket (Node 22's global, from undici) these tests use. */
interface BrowserSocket {
  binaryType: string;
  send(data: string | Uint8Array): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: "open", listener: () => void): void;
  addEventListener(type: "message", listener: (event: { data: unknown }) => void): void;
  addEventListener(type: "close", listener: (event: { code: number; reason: string }) => void): void;
  addEventListener(type: "error", listener: () => void): void;
}
type SocketConstructor = new (url: string) => BrowserSocket;

/** Node's global WebSocket; undefined below Node 22 (Node 20 has it only behind a flag). */
function globalWebSocket(): SocketConstructor | undefined {
  return (globalThis as { WebSocket?: SocketConstructor }).WebSocket;
}

function requireNodeWebSocket(): SocketConstructor {
  const major = Number(process.versions.node.split(".")[0]);
  const constructor = globalWebSocket();
  if (major < 22 || constructor === undefined) {
    throw new Error(
      `these tests need Node 22's global WebSocket, but run on Node ${process.version}: run them with \`npm run test:live\` ` +
        "(npm scripts put the project's Node 22 from node_modules/.bin first on PATH)",
    );
  }
  return constructor;
}

/** Sockets not yet closed, so a failing test leaves none open behind it. */
const openSockets = new Set<LiveSocket>();

/** A client socket over Node's global WebSocket, keeping what it receives (test/support/socket-inbox.ts). */
class LiveSocket extends SocketInbox {
  readonly opened: Promise<void>;
  private readonly ws: BrowserSocket;

  private constructor(readonly url: string) {
    super();
    const ws = new (requireNodeWebSocket())(url);
    ws.binaryType = "arraybuffer";
    this.ws = ws;
    openSockets.add(this);
    this.opened = new Promise((resolve, reject) => {
      ws.addEventListener("open", () => resolve());
      ws.addEventListener("error", () => reject(new Error(`the WebSocket upgrade to ${url} failed`)));
    });
    this.opened.catch(() => undefined);
    ws.addEventListener("close", (event) => {
      openSockets.delete(this);
      this.closedBy(event.code, event.reason);
    });
    ws.addEventListener("message", (event) => this.receive(typeof event.data === "string" ? event.data : "<binary message>"));
  }

  /** Opens a socket and waits for the 101. */
  static async open(url: string): Promise<LiveSocket> {
    const socket = new LiveSocket(url);
    await socket.opened;
    return socket;
  }

  /** Whether the upgrade is answered 101 (the WHATWG client hides any other status). */
  static async upgrades(url: string): Promise<boolean> {
    const socket = new LiveSocket(url);
    try {
      await socket.opened;
      socket.close();
      return true;
    } catch {
      openSockets.delete(socket);
      return false;
    }
  }

  send(data: string | Uint8Array): void {
    this.ws.send(data);
  }

  close(code = 1000): void {
    this.ws.close(code);
  }
}

// --- the server ----------------------------------------------------------------------------------

let server: DevServer;
let api: Api;

beforeAll(async () => {
  requireNodeWebSocket();
  server = await startServer();
  api = new Api(server.baseUrl);
});

afterAll(async () => {
  for (const socket of openSockets) socket.close();
  await stopServer(server);
});

function wsUrl(stream: string, offset: string): string {
  return `${server.baseUrl.replace(/^http/, "ws")}/v1/stream/${PROJECT}/${stream}?offset=${encodeURIComponent(offset)}&live=ws`;
}

async function createWith(stream: string, contentType: string, body?: string | Uint8Array, headers: Record<string, string> = {}): Promise<void> {
  const response = await fetch(api.streamUrl(PROJECT, stream), { method: "PUT", headers: { "Content-Type": contentType, ...headers }, body });
  expect(response.status, await response.text()).toBe(201);
}

/** Closes the stream (optionally with a last append) and returns its final tail. */
async function closeStream(stream: string, contentType?: string, body?: string): Promise<string> {
  const headers: Record<string, string> = { "Stream-Closed": "true", ...(contentType ? { "Content-Type": contentType } : {}) };
  const response = await fetch(api.streamUrl(PROJECT, stream), { method: "POST", headers, body });
  expect([200, 204], await response.text()).toContain(response.status);
  return response.headers.get("Stream-Next-Offset") ?? "";
}

function fromBase64(frame: Frame): Uint8Array {
  expect(frame.encoding).toBe("base64");
  return new Uint8Array(Buffer.from(frame.data as string, "base64"));
}

// --- the tests -----------------------------------------------------------------------------------

describe("WebSocket live reads against wrangler dev", () => {
  it(`delivers ${APPENDS} sequential appends to ${SOCKETS} sockets on one stream exactly once and in order`, async () => {
    const stream = unique("fan");
    await api.create(PROJECT, stream, JSON_TYPE);
    const start = await api.tail(PROJECT, stream);

    // Every socket is greeted with an empty up-to-date frame before anything is appended.
    const sockets = await mapLimit(Array.from({ length: SOCKETS }), OPEN_CONCURRENCY, async () => {
      const socket = await LiveSocket.open(wsUrl(stream, "-1"));
      expect(await socket.frame()).toEqual({ data: [], streamNextOffset: start, upToDate: true });
      return socket;
    });

    // Each socket reads frames until it holds APPENDS messages, noting when it got there.
    const collecting = sockets.map(async (socket) => {
      const frames: Frame[] = [];
      const messages: unknown[] = [];
      while (messages.length < APPENDS) {
        const frame = await socket.frame();
        frames.push(frame);
        messages.push(...(Array.isArray(frame.data) ? frame.data : [{ notAnArray: frame.data }]));
      }
      return { frames, messages, heldAt: Date.now() };
    });

    const messages = Array.from({ length: APPENDS }, (_, seq) => ({ seq, text: `message ${seq} of ${stream}` }));
    const firstAppendAt = Date.now();
    let tail = start;
    for (const message of messages) tail = await api.appendJson(PROJECT, stream, message);
    const appendedAt = Date.now();
    const results = await Promise.all(collecting);
    const allHeldAt = Math.max(...results.map((result) => result.heldAt));
    process.stdout.write(
      `live ws: all ${SOCKETS} sockets held the last of ${APPENDS} sequential appends ${allHeldAt - firstAppendAt} ms after the first append began ` +
        `(the appends themselves took ${appendedAt - firstAppendAt} ms)\n`,
    );

    // Closing the stream fences the sockets: a duplicate sent after the 20th message would arrive
    // before the closing frame, and after the close nothing can arrive.
    expect(await closeStream(stream)).toBe(tail);
    const problems: string[] = [];
    await Promise.all(sockets.map(async (socket, index) => {
      const { frames, messages: got } = results[index] as (typeof results)[number];
      const last = await socket.frame();
      const { code, unread } = await socket.closeCode();
      if (code !== 1000 || unread.length > 0) problems.push(`socket ${index}: closed ${code} after ${JSON.stringify(unread).slice(0, 300)}`);
      let previous = start;
      for (const frame of frames) {
        if (!(frame.streamNextOffset > previous)) problems.push(`socket ${index}: offset ${frame.streamNextOffset} after ${previous}`);
        previous = frame.streamNextOffset;
      }
      if (previous !== tail) problems.push(`socket ${index}: ended at ${previous}, the tail is ${tail}`);
      if (!isDeepStrictEqual(got, messages)) problems.push(`socket ${index}: got ${JSON.stringify(got).slice(0, 300)}`);
      if (!isDeepStrictEqual(last, { data: [], streamNextOffset: tail, upToDate: true, streamClosed: true })) {
        problems.push(`socket ${index}: closing frame ${JSON.stringify(last)}`);
      }
    }));
    expect(problems.slice(0, 10), `${problems.length} problems`).toEqual([]);
  });

  it("resumes from any streamNextOffset seen earlier with exactly the rest, then live data", async () => {
    const stream = unique("resume");
    await api.create(PROJECT, stream, JSON_TYPE);
    const first = await LiveSocket.open(wsUrl(stream, "-1"));
    expect((await first.frame()).data).toEqual([]);
    const messages = Array.from({ length: 8 }, (_, seq) => ({ seq }));
    const seen: string[] = [];
    for (const message of messages) {
      const tail = await api.appendJson(PROJECT, stream, message);
      expect(await first.frame()).toEqual({ data: [message], streamNextOffset: tail, upToDate: true });
      seen.push(tail);
    }
    first.close();

    // Appended while nobody is connected.
    const missed = { seq: messages.length };
    const tail = await api.appendJson(PROJECT, stream, missed);
    const all = [...messages, missed];
    for (const [index, offset] of seen.entries()) {
      const socket = await LiveSocket.open(wsUrl(stream, offset));
      expect(await socket.frame(), `from ${offset}`).toEqual({ data: all.slice(index + 1), streamNextOffset: tail, upToDate: true });
      socket.close();
    }

    const middle = seen[3] as string;
    const again = await LiveSocket.open(wsUrl(stream, middle));
    expect((await again.frame()).data).toEqual(all.slice(4));
    const live = { seq: all.length };
    const newTail = await api.appendJson(PROJECT, stream, live);
    expect(await again.frame()).toEqual({ data: [live], streamNextOffset: newTail, upToDate: true });
    again.close();
  });

  it("renders a text/plain stream's data as a string, split at any append", async () => {
    const stream = unique("text");
    await createWith(stream, "text/plain", "héllo ");
    const socket = await LiveSocket.open(wsUrl(stream, "-1"));
    const first = await socket.frame();
    expect(first).toEqual({ data: "héllo ", streamNextOffset: first.streamNextOffset, upToDate: true });
    const tail = await api.append(PROJECT, stream, "text/plain", "wörld ✓\n");
    expect(await socket.frame()).toEqual({ data: "wörld ✓\n", streamNextOffset: tail, upToDate: true });

    const resumed = await LiveSocket.open(wsUrl(stream, first.streamNextOffset));
    expect(await resumed.frame()).toEqual({ data: "wörld ✓\n", streamNextOffset: tail, upToDate: true });
  });

  it("renders an application/json stream's data as the array of its messages, whatever their JSON type", async () => {
    const stream = unique("json");
    const seed: unknown[] = [{ a: 1 }, "two", 3, null, [true, { deep: ["x"] }]];
    await createWith(stream, JSON_TYPE, JSON.stringify(seed));
    const socket = await LiveSocket.open(wsUrl(stream, "-1"));
    expect((await socket.frame()).data).toEqual(seed);
    // A single value is one message; an array is several.
    await api.append(PROJECT, stream, JSON_TYPE, '{"nested":{"list":[1,2]}}');
    expect((await socket.frame()).data).toEqual([{ nested: { list: [1, 2] } }]);
    const tail = await api.append(PROJECT, stream, JSON_TYPE, '["é", 4.5]');
    expect(await socket.frame()).toEqual({ data: ["é", 4.5], streamNextOffset: tail, upToDate: true });
  });

  it("renders an application/octet-stream stream's data as base64 with encoding, in several frames when large", async () => {
    const stream = unique("bin");
    const seed = Uint8Array.from({ length: 256 }, (_, index) => index);
    await createWith(stream, "application/octet-stream", seed);
    const socket = await LiveSocket.open(wsUrl(stream, "-1"));
    const first = await socket.frame();
    expect(first.upToDate).toBe(true);
    expect(fromBase64(first)).toEqual(seed);

    // 2 MiB is more than one frame carries (768 KiB of bytes per frame).
    const big = Uint8Array.from({ length: 2 * 1024 * 1024 }, (_, index) => (index * 7919 + (index >> 10)) % 256);
    const tail = await api.append(PROJECT, stream, "application/octet-stream", big);
    const live = await readBytesUntilUpToDate(socket);
    expect(live.frames).toBeGreaterThan(1);
    expect(Buffer.from(live.bytes).equals(Buffer.from(big))).toBe(true);
    expect(live.next).toBe(tail);

    const late = await LiveSocket.open(wsUrl(stream, "-1"));
    const caughtUp = await readBytesUntilUpToDate(late);
    expect(caughtUp.frames).toBeGreaterThan(1);
    expect(Buffer.from(caughtUp.bytes).equals(Buffer.concat([seed, big]))).toBe(true);
  });

  // Each of these waits for a close the server starts, which under wrangler dev completes only
  // when the object lets go of the socket (up to ~10 s): they run concurrently.
  describe.concurrent("close codes", () => {
    it("ends a socket with code 1000 right after the frame marked streamClosed when the writer closes the stream", async ({ expect }) => {
      const stream = unique("closing");
      await createWith(stream, JSON_TYPE, "[1]");
      const socket = await LiveSocket.open(wsUrl(stream, "-1"));
      expect((await socket.frame()).data).toEqual([1]);
      const tail = await closeStream(stream, JSON_TYPE, "[2]");
      expect(await socket.frame()).toEqual({ data: [2], streamNextOffset: tail, upToDate: true, streamClosed: true });
      expect(await socket.closeCode()).toEqual({ code: 1000, unread: [] });
    });

    it("gives a socket opened on an already-closed stream its catch-up marked streamClosed, then 1000", async ({ expect }) => {
      const stream = unique("closed");
      await createWith(stream, "text/plain", "the end", { "Stream-Closed": "true" });
      const tail = await api.tail(PROJECT, stream);
      const fromStart = await LiveSocket.open(wsUrl(stream, "-1"));
      const atTail = await LiveSocket.open(wsUrl(stream, "now"));
      expect(await fromStart.frame()).toEqual({ data: "the end", streamNextOffset: tail, upToDate: true, streamClosed: true });
      expect(await atTail.frame()).toEqual({ data: "", streamNextOffset: tail, upToDate: true, streamClosed: true });
      const [first, second] = await Promise.all([fromStart.closeCode(), atTail.closeCode()]);
      expect(first).toEqual({ code: 1000, unread: [] });
      expect(second).toEqual({ code: 1000, unread: [] });
    });

    it("closes every socket of a deleted stream with 4404, and refuses new upgrades to it", async ({ expect }) => {
      const stream = unique("deleted");
      await createWith(stream, JSON_TYPE, '["kept"]');
      const fromStart = await LiveSocket.open(wsUrl(stream, "-1"));
      const atTail = await LiveSocket.open(wsUrl(stream, "now"));
      expect((await fromStart.frame()).data).toEqual(["kept"]);
      expect((await atTail.frame()).data).toEqual([]);

      const deleted = await fetch(api.streamUrl(PROJECT, stream), { method: "DELETE" });
      expect(deleted.status).toBe(204);
      const [first, second] = await Promise.all([fromStart.closeCode(), atTail.closeCode()]);
      expect(first).toEqual({ code: 4404, unread: [] });
      expect(second).toEqual({ code: 4404, unread: [] });
      // The upgrade is answered 404, not 101.
      expect(await LiveSocket.upgrades(wsUrl(stream, "-1"))).toBe(false);
    });

    // The Hibernation API does not answer a client's Close frame by itself (here
    // web_socket_auto_reply_to_close did not cover hibernatable sockets): without the object's
    // reply a closing client hangs in CLOSING until the object lets go of it, then reports 1006.
    it("answers a client's Close frame at once, so the client's close is clean", async ({ expect }) => {
      const stream = unique("bye");
      await api.create(PROJECT, stream, JSON_TYPE);
      const socket = await LiveSocket.open(wsUrl(stream, "now"));
      expect((await socket.frame()).data).toEqual([]);
      socket.close(1000);
      expect(await socket.closeCode(3_000)).toEqual({ code: 1000, unread: [] });
    });
  });

  it('answers "ping" with "pong" and keeps delivering data on the same socket', async () => {
    const stream = unique("ping");
    await api.create(PROJECT, stream, JSON_TYPE);
    const socket = await LiveSocket.open(wsUrl(stream, "now"));
    expect((await socket.frame()).data).toEqual([]);
    for (let round = 0; round < 3; round++) {
      socket.send("ping");
      expect(await socket.next()).toBe("pong");
    }
    const tail = await api.appendJson(PROJECT, stream, { after: "pings" });
    expect(await socket.frame()).toEqual({ data: [{ after: "pings" }], streamNextOffset: tail, upToDate: true });
    socket.send("ping");
    expect(await socket.next()).toBe("pong");
  });
});

/** Reads base64 frames until one is up to date; returns the bytes, the frame count and the last offset. */
async function readBytesUntilUpToDate(socket: LiveSocket): Promise<{ bytes: Uint8Array; frames: number; next: string }> {
  const parts: Uint8Array[] = [];
  for (let frames = 1; frames <= 100; frames++) {
    const frame = await socket.frame();
    parts.push(fromBase64(frame));
    if (frame.upToDate) return { bytes: Buffer.concat(parts), frames, next: frame.streamNextOffset };
  }
  throw new Error("no up-to-date frame within 100 frames");
}
