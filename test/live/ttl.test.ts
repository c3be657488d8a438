// A live WebSocket reader keeps a stream with a TTL alive, against a real `wrangler dev` with its
// real clock and alarms: a `Stream-TTL: 3` stream read only over an open socket outlives its TTL
// several times over, and expires a TTL after the socket closes. The waits are the TTL's wall-clock
// passage itself, which is what these tests are about.
/// <reference types="node" />
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Api, sleep, startServer, stopServer, unique } from "../estuary/harness";
import { SocketInbox } from "../support/socket-inbox";
import type { DevServer } from "../support/wrangler-dev";

const PROJECT = "live-ttl";
const TTL_S = 3;
const TTL_MS = TTL_S * 1000;
/** How long the socket alone keeps the stream: several TTLs. */
const HELD_MS = 10_000;
/** Expiry is at most a tenth of the TTL late, plus an alarm's or a poll's lag on a busy machine. */
const LATE_MS = TTL_MS * 0.1 + 2_000;
const POLL_MS = 50;

/** A client over Node 22's global WebSocket (test/live/websocket.test.ts checks that it exists). */
class Socket extends SocketInbox {
  readonly opened: Promise<void>;
  private readonly ws: WebSocket;

  constructor(url: string) {
    super();
    this.ws = new WebSocket(url);
    this.opened = new Promise((resolve, reject) => {
      this.ws.addEventListener("open", () => resolve());
      this.ws.addEventListener("error", () => reject(new Error(`the WebSocket upgrade to ${url} failed`)));
    });
    this.ws.addEventListener("close", (event) => this.closedBy(event.code, event.reason));
    this.ws.addEventListener("message", (event) => this.receive(String(event.data)));
  }

  close(): void {
    this.ws.close(1000);
  }
}

let server: DevServer;
let api: Api;

beforeAll(async () => {
  server = await startServer();
  api = new Api(server.baseUrl);
});

afterAll(async () => {
  await stopServer(server);
});

/** HEAD does not slide a TTL, so polling with it watches the expiry without moving it. */
async function headStatus(stream: string): Promise<number> {
  return (await fetch(api.streamUrl(PROJECT, stream), { method: "HEAD" })).status;
}

describe("a WebSocket reader and a stream's TTL, against wrangler dev", () => {
  it(`keeps a Stream-TTL: ${TTL_S} stream alive for ${HELD_MS / 1000} s, and lets it expire a TTL after the socket closes`, async () => {
    const stream = unique("held");
    const created = await fetch(api.streamUrl(PROJECT, stream), {
      method: "PUT",
      headers: { "Content-Type": "application/json", "Stream-TTL": String(TTL_S) },
    });
    expect(created.status).toBe(201);
    const socket = new Socket(`${server.baseUrl.replace(/^http/, "ws")}/v1/stream/${PROJECT}/${stream}?offset=now&live=ws`);
    await socket.opened;
    expect((await socket.frame()).data).toEqual([]);

    // Nothing but the open socket for several TTLs.
    await sleep(HELD_MS);
    expect(await headStatus(stream)).toBe(200);
    const tail = await api.appendJson(PROJECT, stream, { after: "the wait" });
    expect(await socket.frame()).toEqual({ data: [{ after: "the wait" }], streamNextOffset: tail, upToDate: true });

    // Still open for most of another TTL, then the last reader leaves: the TTL counts from here.
    await sleep(TTL_MS * 0.8);
    socket.close();
    expect(await socket.closeCode(3_000)).toEqual({ code: 1000, unread: [] });
    const closedAt = Date.now();
    let status = 200;
    while (status === 200 && Date.now() < closedAt + TTL_MS + LATE_MS) {
      await sleep(POLL_MS);
      status = await headStatus(stream);
    }
    const expiredAfter = Date.now() - closedAt;
    process.stdout.write(`live ttl: a Stream-TTL: ${TTL_S} stream answered 404 ${expiredAfter} ms after its last socket closed\n`);
    expect(status).toBe(404);
    expect(expiredAfter).toBeGreaterThanOrEqual(TTL_MS - POLL_MS);
  });
});
