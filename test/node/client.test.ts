// The browser client (public/v1/client.js) against a fake WebSocket with fake timers: the URL it
// builds, resuming from the last offset it handed over, backoff with jitter, keepalive, and which
// close codes end it.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { openStream, type Status } from "../../public/v1/client.js";
import { FakeSocket, latest } from "./fake-socket";

const URL_ = "http://streams.test/v1/stream/acme/orders";

function start(options: Partial<Parameters<typeof openStream>[1]> = {}) {
  const data: unknown[] = [];
  const statuses: Status[] = [];
  const handle = openStream(URL_, {
    onData: (value) => data.push(value),
    onStatus: (status) => statuses.push(status),
    ...options,
  });
  return { handle, data, statuses, delays: () => statuses.flatMap((s) => (s.delayMs === undefined ? [] : [s.delayMs])) };
}

beforeEach(() => {
  FakeSocket.all = [];
  vi.useFakeTimers();
  vi.stubGlobal("WebSocket", FakeSocket);
});

afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
});

describe("public/v1/client.js", () => {
  it("builds the ws:// or wss:// URL with offset, live=ws and token, keeping other parameters", () => {
    start({ token: "t0k" });
    expect(latest().url).toBe("ws://streams.test/v1/stream/acme/orders?offset=-1&live=ws&token=t0k");
    openStream("https://streams.test/v1/stream/a/b?x=1", { onData: () => {}, offset: "now" });
    expect(latest().url).toBe("wss://streams.test/v1/stream/a/b?x=1&offset=now&live=ws");
  });

  it("hands over each frame's data in order, and reconnects from the last streamNextOffset it handed over", async () => {
    vi.spyOn(Math, "random").mockReturnValue(1);
    const { handle, data, statuses } = start();
    const first = latest();
    first.open();
    first.frame({ data: [1, 2], streamNextOffset: "o2" });
    first.frame({ data: [3], streamNextOffset: "o3" });
    expect(handle.offset).toBe("o3");
    first.end(1006);
    expect(handle.state).toBe("reconnecting");

    await vi.advanceTimersByTimeAsync(500);
    const second = latest();
    expect(second).not.toBe(first);
    expect(second.params.get("offset")).toBe("o3");
    second.open();
    second.frame({ data: [4], streamNextOffset: "o4" });
    expect(data).toEqual([[1, 2], [3], [4]]);
    expect(statuses.map((s) => s.state)).toEqual(["connecting", "open", "reconnecting", "connecting", "open"]);
  });

  it("backs off exponentially with jitter up to maxBackoffMs, and starts over once a frame arrives", async () => {
    const random = vi.spyOn(Math, "random").mockReturnValue(1);
    const { delays } = start({ initialBackoffMs: 100, maxBackoffMs: 1_000 });
    for (let i = 0; i < 6; i++) {
      latest().end(1006);
      const delay = delays().at(-1) ?? 0;
      const before = FakeSocket.all.length;
      await vi.advanceTimersByTimeAsync(delay - 1);
      expect(FakeSocket.all.length, "no reconnect before the delay").toBe(before);
      await vi.advanceTimersByTimeAsync(1);
      expect(FakeSocket.all.length).toBe(before + 1);
    }
    expect(delays()).toEqual([100, 200, 400, 800, 1_000, 1_000]);

    // A frame proves the server took the connection: the next drop backs off from the start.
    latest().open();
    latest().frame({ streamNextOffset: "o1" });
    random.mockReturnValue(0);
    latest().end(1006);
    expect(delays().at(-1)).toBe(50); // half the first step: the fixed half of the jitter
  });

  it("stops for good on 1000 (stream closed) and 4404 (stream gone)", async () => {
    for (const [code, state] of [
      [1000, "closed"],
      [4404, "gone"],
    ] as const) {
      FakeSocket.all = [];
      const { handle } = start();
      latest().open();
      latest().frame({ data: [1], streamNextOffset: "o1", streamClosed: code === 1000 ? true : undefined });
      latest().end(code);
      expect(handle.state).toBe(state);
      await vi.advanceTimersByTimeAsync(120_000);
      expect(FakeSocket.all).toHaveLength(1);
    }
  });

  it("reconnects after ordinary closes: 1000 without a streamClosed frame, 1001, 1011, 1006", async () => {
    vi.spyOn(Math, "random").mockReturnValue(1);
    const { handle, data } = start();
    let offset = 0;
    for (const code of [1000, 1001, 1011, 1006]) {
      const socket = latest();
      socket.open();
      socket.frame({ data: [offset], streamNextOffset: `o${++offset}` });
      socket.end(code, "an intermediary or the runtime let go");
      expect(handle.state, `after ${code}`).toBe("reconnecting");
      await vi.advanceTimersByTimeAsync(500);
      expect(latest(), `after ${code}`).not.toBe(socket);
      expect(latest().params.get("offset")).toBe(`o${offset}`);
    }
    expect(data).toEqual([[0], [1], [2], [3]]);
  });

  it("retries a connection that fails with only an error event, as Node 22 reports a refused upgrade, without closing it", async () => {
    vi.spyOn(Math, "random").mockReturnValue(1);
    const { handle, statuses } = start();
    const refused = latest();
    refused.fail();
    expect(handle.state).toBe("reconnecting");
    expect(statuses.at(-1)).toMatchObject({ state: "reconnecting", code: 1006, attempt: 1, delayMs: 500 });
    // Node's close() on a socket that failed while CONNECTING fires error again, synchronously.
    expect(refused.closedWith).toBeNull();
    await vi.advanceTimersByTimeAsync(500);
    expect(FakeSocket.all).toHaveLength(2);
    latest().fail();
    expect(statuses.at(-1)).toMatchObject({ state: "reconnecting", attempt: 2, delayMs: 1_000 });
  });

  it("handles a failure once when error and close both fire (browsers)", async () => {
    vi.spyOn(Math, "random").mockReturnValue(1);
    const { statuses } = start();
    latest().fail();
    latest().end(1006);
    expect(statuses.filter((s) => s.state === "reconnecting")).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(120_000);
    // One retry timer only: the next connection is opened once, and waits to be played.
    expect(FakeSocket.all).toHaveLength(2);
  });

  it("reports 4401 as token-expired without getToken, and with getToken reconnects with a fresh token", async () => {
    const without = start({ token: "old" });
    latest().end(4401, "token expired");
    expect(without.handle.state).toBe("token-expired");
    await vi.advanceTimersByTimeAsync(120_000);
    expect(FakeSocket.all).toHaveLength(1);

    FakeSocket.all = [];
    const tokens = ["t1", "t2"];
    const getToken = vi.fn(async () => tokens.shift() ?? "none");
    const withToken = start({ getToken });
    await vi.advanceTimersByTimeAsync(0);
    expect(latest().params.get("token")).toBe("t1");
    latest().open();
    latest().frame({ data: [1], streamNextOffset: "o1" });
    latest().end(4401, "token expired");
    expect(withToken.handle.state).toBe("reconnecting");
    await vi.advanceTimersByTimeAsync(500);
    expect(getToken).toHaveBeenCalledTimes(2);
    expect(latest().params.get("token")).toBe("t2");
    expect(latest().params.get("offset")).toBe("o1");
  });

  it("refreshes the token on the open socket ahead of its expiry, again after each answer, and reconnects if it is refused", async () => {
    vi.spyOn(Math, "random").mockReturnValue(1);
    /** An unsigned stand-in for a JWT: the client reads only its exp. */
    const jwt = (expMs: number, id: string) => `h.${btoa(JSON.stringify({ exp: expMs / 1000, id })).replace(/=+$/, "")}.${id}`;
    const now = Date.now();
    const tokens = [jwt(now + 600_000, "a"), jwt(now + 1_200_000, "b"), jwt(now + 1_800_000, "c"), jwt(now + 2_400_000, "d")];
    const getToken = vi.fn(async () => tokens.shift() ?? "none");
    const { handle } = start({ getToken, refreshAheadMs: 60_000, pingIntervalMs: 10_000_000 });
    await vi.advanceTimersByTimeAsync(0);
    const socket = latest();
    socket.open();
    socket.frame({ streamNextOffset: "o1" });
    const refreshes = () => socket.sent.filter((text) => text.startsWith("{")).map((text) => JSON.parse(text) as { type: string; token: string });

    // A minute before the first token's exp, its successor goes out on the same socket.
    await vi.advanceTimersByTimeAsync(540_000 - 1);
    expect(refreshes()).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(refreshes()).toEqual([{ type: "auth", token: expect.stringMatching(/\.b$/) }]);
    // The server's answer schedules the next refresh, a minute before the second token's exp.
    socket.text(JSON.stringify({ type: "auth", expiresAt: new Date(now + 1_200_000).toISOString() }));
    await vi.advanceTimersByTimeAsync(600_000);
    expect(refreshes()).toHaveLength(2);
    expect(FakeSocket.all).toHaveLength(1);
    expect(handle.state).toBe("open");

    // A refused refresh closes with 4401: the client reconnects with a fresh token, from where it was.
    socket.end(4401, "refresh refused: the new token is for another user");
    await vi.advanceTimersByTimeAsync(500);
    expect(FakeSocket.all).toHaveLength(2);
    expect(latest().params.get("token")).toMatch(/\.d$/);
    expect(latest().params.get("offset")).toBe("o1");
  });

  it("retries with backoff when getToken fails", async () => {
    vi.spyOn(Math, "random").mockReturnValue(1);
    let fail = true;
    const { statuses } = start({ getToken: async () => (fail ? Promise.reject(new Error("auth down")) : "fresh") });
    await vi.advanceTimersByTimeAsync(0);
    expect(FakeSocket.all).toHaveLength(0);
    expect(statuses.at(-1)).toMatchObject({ state: "reconnecting", delayMs: 500, error: new Error("auth down") });
    fail = false;
    await vi.advanceTimersByTimeAsync(500);
    expect(latest().params.get("token")).toBe("fresh");
  });

  it("pings on an interval, and treats a missing pong as a dead connection: drops it, reconnects from the last offset", async () => {
    vi.spyOn(Math, "random").mockReturnValue(1);
    const { handle, data } = start({ pingIntervalMs: 1_000, pongTimeoutMs: 300 });
    const first = latest();
    first.open();
    first.frame({ data: ["a"], streamNextOffset: "o1" });
    await vi.advanceTimersByTimeAsync(1_000);
    expect(first.sent).toEqual(["ping"]);
    first.text("pong");
    await vi.advanceTimersByTimeAsync(1_000);
    expect(first.sent).toEqual(["ping", "ping"]);
    expect(handle.state).toBe("open");

    // No answer to the second ping: the client gives up on the socket itself.
    await vi.advanceTimersByTimeAsync(300);
    expect(first.closedWith).toBe(1000);
    expect(handle.state).toBe("reconnecting");
    // Anything the dead socket still delivers is ignored: the new one re-reads it from o1.
    first.frame({ data: ["late"], streamNextOffset: "o2" });
    first.end(1006);
    await vi.advanceTimersByTimeAsync(500);
    const second = latest();
    expect(second.params.get("offset")).toBe("o1");
    second.open();
    second.frame({ data: ["late"], streamNextOffset: "o2" });
    expect(data).toEqual([["a"], ["late"]]);
  });

  it("keeps an unanswered ping's deadline when the next ping goes out first (pong timeout >= ping interval)", async () => {
    const { handle } = start({ pingIntervalMs: 500, pongTimeoutMs: 500 });
    latest().open();
    await vi.advanceTimersByTimeAsync(999);
    expect(handle.state).toBe("open");
    await vi.advanceTimersByTimeAsync(1);
    expect(latest().sent).toEqual(["ping", "ping"]);
    expect(handle.state).toBe("reconnecting");
  });

  it("close() closes the socket with 1000 and never reconnects", async () => {
    const { handle, statuses } = start();
    latest().open();
    handle.close();
    expect(latest().closedWith).toBe(1000);
    expect(handle.state).toBe("stopped");
    await vi.advanceTimersByTimeAsync(120_000);
    expect(FakeSocket.all).toHaveLength(1);
    expect(statuses.at(-1)?.state).toBe("stopped");
  });

  it("decodes base64 frames to bytes and reports error frames without handing them over", () => {
    const { data, statuses } = start();
    latest().open();
    latest().frame({ data: btoa("\u0000\u00ff"), encoding: "base64", streamNextOffset: "o1" });
    latest().text('{"error":{"code":"bad_request","message":"no"}}');
    expect(data).toEqual([new Uint8Array([0, 255])]);
    expect(statuses.at(-1)).toMatchObject({ state: "open", error: expect.stringContaining("bad_request") });
  });
});
