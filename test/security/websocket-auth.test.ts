// With auth on, WebSocket live reads (live=ws): upgrades without a valid token, with another
// project's or an expired one, or from an Origin outside corsOrigins are refused with the usual JSON
// errors and never get a 101; a read token in ?token= (browsers) or Authorization works with an
// allowed Origin or none; public streams need no token; a socket is closed with 4401 when its token
// expires or the secret that signed it is revoked; and fuzzed client frames (token refreshes
// included) get only "pong", error frames, a refresh's answer or a 1009/4401 close, never a crash.
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stopServer, unique } from "../estuary/harness";
import type { DevServer } from "../support/wrangler-dev";
import { Admin, bearer, epochIn, expectRefusal, JSON_HEADERS, parseJson, send, signToken, startProductionServer } from "./auth-support";
import { upgrade, type SocketClient, type UpgradeOutcome } from "./ws-support";

const P = unique("wsa");
const Q = unique("wsq");
const APP = "https://app.example.com";
const Q_APP = "https://q.example.com";
const EVIL = "https://evil.example.com";
const PRIVATE = "diary";
const LIVE = "feed";
const PUBLIC = "news";
const EXPIRING = "short";
const FUZZED = "chatter";

/** Client messages the server reads are at most this many bytes (src/protocol/ws-frames.ts). */
const MAX_CLIENT_MESSAGE_BYTES = 1024;
/** A token refresh may be this large (MAX_AUTH_FRAME_BYTES), its token at most 4,096 characters. */
const MAX_AUTH_FRAME_BYTES = 4096 + 64;
const MAX_TOKEN_LENGTH = 4096;
/** Stands for a valid read token of the project in a fuzzed refresh (replaced when sent). */
const VALID_TOKEN = "<valid token>";
const FUZZ_RUNS = 300;
/** Sockets the fuzzed messages are spread over (one closed by an oversized message is replaced). */
const FUZZ_SOCKETS = 4;
/** Longest wait for the answer to one client message. */
const REPLY_MS = 5_000;

let server: DevServer;
let admin: Admin;
let secret: string;
const tokens = { read: "", write: "", otherProject: "", limited: "", fuzz: [] as string[] };

const streamUrl = (stream: string, query = "") => `${server.baseUrl}/v1/stream/${P}/${stream}${query}`;
/** A live=ws read from the start of `stream`, with `extra` query parameters. */
const wsUrl = (stream: string, extra = "") => streamUrl(stream, `?offset=-1&live=ws${extra}`);

async function create(stream: string, body: string, isPublic = false): Promise<void> {
  const headers = { ...JSON_HEADERS, ...bearer(tokens.write), ...(isPublic ? { "Stream-Public": "true" } : {}) };
  const outcome = await send(streamUrl(stream), { method: "PUT", headers, body });
  expect(outcome.status, outcome.body).toBe(201);
}

async function append(stream: string, message: unknown): Promise<string> {
  const outcome = await send(streamUrl(stream), { method: "POST", headers: { ...JSON_HEADERS, ...bearer(tokens.write) }, body: JSON.stringify([message]) });
  expect(outcome.status, outcome.body).toBe(204);
  return outcome.headers.get("Stream-Next-Offset") ?? "";
}

/** The open socket of a 101, which the upgrade must have got. */
function opened(outcome: UpgradeOutcome, label: string): SocketClient {
  expect(outcome.status, `${label}: ${outcome.body.slice(0, 200)}`).toBe(101);
  if (!outcome.socket) throw new Error(`${label}: no socket`);
  return outcome.socket;
}

beforeAll(async () => {
  server = await startProductionServer();
  admin = new Admin(server.baseUrl);
  secret = (await admin.createProject(P, [APP])).secret;
  await admin.createProject(Q, [Q_APP]);
  tokens.read = await admin.mint(P, ["read"]);
  tokens.write = await admin.mint(P, ["write"]);
  tokens.otherProject = await admin.mint(Q, ["manage"]);
  tokens.limited = await admin.mint(P, ["read"], ["elsewhere", "other-*"]);
  // Upgrades are limited per token (100 per 10 s): the fuzzing's replacement sockets spread over three.
  tokens.fuzz = [await admin.mint(P, ["read"]), await admin.mint(P, ["read"]), await admin.mint(P, ["read"])];
  await create(PRIVATE, '[{"secret":1}]');
  await create(LIVE, '[{"live":0}]');
  await create(EXPIRING, "[]");
  await create(FUZZED, "[]");
  await create(PUBLIC, '[{"n":1}]', true);
});

afterAll(async () => {
  await stopServer(server);
});

describe("refused upgrades", () => {
  it("answer a missing, junk, expired or foreign token, or a foreign Origin, with the JSON error and no 101", async () => {
    const expired = await signToken({ sub: P, scope: "read", exp: epochIn(-60) }, secret);
    const cases: [string, string, Record<string, string>, 401 | 403][] = [
      ["no token", wsUrl(PRIVATE), {}, 401],
      ["no token, from an allowed Origin", wsUrl(PRIVATE), { Origin: APP }, 401],
      ["a junk ?token=", wsUrl(PRIVATE, "&token=junk"), {}, 401],
      ["a JWT-shaped junk ?token=", wsUrl(PRIVATE, "&token=q83v.3q2-7w.AAAA"), {}, 401],
      ["an empty ?token=", wsUrl(PRIVATE, "&token="), {}, 401],
      ["a junk Bearer", wsUrl(PRIVATE), { Authorization: "Bearer junk" }, 401],
      ["a junk Bearer beside a valid ?token= (the header wins)", wsUrl(PRIVATE, `&token=${tokens.read}`), { Authorization: "Bearer junk" }, 401],
      ["a tampered ?token=", wsUrl(PRIVATE, `&token=${tokens.read.slice(0, -2)}AA`), {}, 401],
      ["an expired ?token=", wsUrl(PRIVATE, `&token=${expired}`), {}, 401],
      ["an expired Bearer", wsUrl(PRIVATE), bearer(expired), 401],
      ["another project's ?token=", wsUrl(PRIVATE, `&token=${tokens.otherProject}`), {}, 403],
      ["another project's Bearer", wsUrl(PRIVATE), bearer(tokens.otherProject), 403],
      ["a token limited to other streams", wsUrl(PRIVATE, `&token=${tokens.limited}`), {}, 403],
      ["a valid ?token= from an Origin not in corsOrigins", wsUrl(PRIVATE, `&token=${tokens.read}`), { Origin: EVIL }, 403],
      ["a valid Bearer from another project's Origin", wsUrl(PRIVATE), { ...bearer(tokens.read), Origin: Q_APP }, 403],
      ["a valid ?token= from Origin null", wsUrl(PRIVATE, `&token=${tokens.read}`), { Origin: "null" }, 403],
      ["a valid ?token= from the allowed Origin with a trailing slash", wsUrl(PRIVATE, `&token=${tokens.read}`), { Origin: `${APP}/` }, 403],
    ];
    for (const [label, url, headers, status] of cases) {
      const outcome = await upgrade(url, headers);
      expect.soft(outcome.socket, label).toBeNull();
      expectRefusal(outcome, "GET", status, label);
    }
  });

  it("do not tell a private stream from a missing one", async () => {
    const look = async (stream: string, headers: Record<string, string>) => {
      const outcome = await upgrade(wsUrl(stream), headers);
      return { status: outcome.status, body: outcome.body, challenge: outcome.headers.get("WWW-Authenticate") };
    };
    const missing = unique("missing");
    expect(await look(missing, {})).toEqual(await look(PRIVATE, {}));
    expect((await look(PRIVATE, {})).status).toBe(401);
    expect(await look(missing, bearer(tokens.otherProject))).toEqual(await look(PRIVATE, bearer(tokens.otherProject)));
    expect((await look(PRIVATE, bearer(tokens.otherProject))).status).toBe(403);
  });

  it("take ?token= only on a WebSocket upgrade: other reads with it are anonymous", async () => {
    for (const query of [`?offset=-1&token=${tokens.read}`, `?offset=-1&live=long-poll&token=${tokens.read}`, `?offset=-1&live=sse&token=${tokens.read}`]) {
      expectRefusal(await send(streamUrl(PRIVATE, query)), "GET", 401, query.replace(tokens.read, "<token>"));
    }
    expectRefusal(await send(streamUrl(PRIVATE, `?token=${tokens.read}`), { method: "HEAD" }), "HEAD", 401, "HEAD with ?token=");
  });
});

describe("accepted upgrades", () => {
  it("take a read token in ?token= from an allowed Origin or none, or in Authorization, and deliver catch-up and live data", async () => {
    const sockets = [
      opened(await upgrade(wsUrl(LIVE, `&token=${tokens.read}`), { Origin: APP }), "?token= from the allowed Origin"),
      opened(await upgrade(wsUrl(LIVE, `&token=${tokens.read}`)), "?token= without an Origin"),
      opened(await upgrade(wsUrl(LIVE), bearer(tokens.read)), "Authorization without an Origin"),
      opened(await upgrade(wsUrl(LIVE), { ...bearer(tokens.read), Origin: APP }), "Authorization from the allowed Origin"),
    ];
    for (const socket of sockets) expect((await socket.frame()).data).toEqual([{ live: 0 }]);
    const tail = await append(LIVE, { live: 1 });
    for (const socket of sockets) expect(await socket.frame()).toEqual({ data: [{ live: 1 }], streamNextOffset: tail, upToDate: true });
    for (const socket of sockets) socket.close();
  });

  it("read a public stream without a token, or with a token for something else, but not from a foreign Origin", async () => {
    const anonymous = opened(await upgrade(`${streamUrl(PUBLIC)}?offset=-1&live=ws`), "anonymous");
    const fromApp = opened(await upgrade(`${streamUrl(PUBLIC)}?offset=-1&live=ws`, { Origin: APP }), "anonymous from the allowed Origin");
    const foreignToken = opened(await upgrade(`${streamUrl(PUBLIC)}?offset=-1&live=ws`, bearer(tokens.otherProject)), "another project's token");
    for (const socket of [anonymous, fromApp, foreignToken]) {
      expect((await socket.frame()).data).toEqual([{ n: 1 }]);
      socket.close();
    }
    // The Origin check is the project's, public stream or not (as CORS is for its HTTP reads).
    const foreign = await upgrade(`${streamUrl(PUBLIC)}?offset=-1&live=ws`, { Origin: EVIL });
    expect(foreign.socket).toBeNull();
    expectRefusal(foreign, "GET", 403, "public stream from a foreign Origin");
  });

  it("close with 4401 once the token they were opened with expires", async () => {
    const minted = await admin.request("POST", `/projects/${P}/tokens`, { scope: ["read"], ttlSeconds: 3 });
    expect(minted.status, minted.body).toBe(201);
    const { token, expiresAt } = JSON.parse(minted.body) as { token: string; expiresAt: string };
    const socket = opened(await upgrade(wsUrl(EXPIRING, `&token=${token}`)), "short-lived token");
    expect((await socket.frame()).data).toEqual([]);
    // Still delivering while the token is valid.
    const tail = await append(EXPIRING, { before: "expiry" });
    expect(await socket.frame()).toEqual({ data: [{ before: "expiry" }], streamNextOffset: tail, upToDate: true });
    expect(Date.now()).toBeLessThan(Date.parse(expiresAt));

    expect(await socket.closeCode(30_000)).toEqual({ code: 4401, unread: [] });
    expect(Date.now()).toBeGreaterThanOrEqual(Date.parse(expiresAt));
    expect(socket.closedWith?.reason).toBe("token expired");
    expectRefusal(await upgrade(wsUrl(EXPIRING, `&token=${token}`)), "GET", 401, "the expired token");
  });

  it("close with 4401 when the secret that signed their token is revoked; sockets of other secrets stay", async () => {
    const R = unique("wsr");
    const first = await admin.createProject(R);
    const byFirst = await admin.mint(R, ["read"]);
    const byFirstWithoutKid = await signToken({ sub: R, scope: "read", exp: epochIn(3600) }, first.secret);
    await admin.addSecret(R);
    const bySecond = await admin.mint(R, ["read"]);
    const writer = await admin.mint(R, ["write"]);
    const url = `${server.baseUrl}/v1/stream/${R}/${LIVE}`;
    expect((await send(url, { method: "PUT", headers: { ...JSON_HEADERS, ...bearer(writer) }, body: "[]" })).status).toBe(201);
    const live = `${url}?offset=-1&live=ws`;
    const revoked = [opened(await upgrade(`${live}&token=${byFirst}`), "first secret, ?token="), opened(await upgrade(live, bearer(byFirstWithoutKid)), "first secret, no kid")];
    const kept = opened(await upgrade(`${live}&token=${bySecond}`), "second secret");
    for (const socket of [...revoked, kept]) expect((await socket.frame()).data).toEqual([]);

    await admin.revokeSecret(R, first.kid);
    for (const socket of revoked) {
      expect(await socket.closeCode(30_000)).toEqual({ code: 4401, unread: [] });
      expect(socket.closedWith?.reason).toBe("token revoked");
    }
    const appended = await send(url, { method: "POST", headers: { ...JSON_HEADERS, ...bearer(writer) }, body: '[{"after":"revocation"}]' });
    expect(appended.status, appended.body).toBe(204);
    expect(await kept.frame()).toEqual({ data: [{ after: "revocation" }], streamNextOffset: appended.headers.get("Stream-Next-Offset"), upToDate: true });
    expectRefusal(await upgrade(`${live}&token=${byFirst}`), "GET", 401, "the revoked token");
    kept.close();
  });
});

// --- fuzzed client messages ----------------------------------------------------------------------

type ClientMessage =
  | { kind: "text"; text: string; fragments: number }
  | { kind: "binary"; bytes: Uint8Array; fragments: number }
  /** A text frame whose payload is not UTF-8. */
  | { kind: "invalid-utf8"; bytes: Uint8Array }
  /** A ping control frame (not the "ping" text message). */
  | { kind: "ping-frame"; payload: Uint8Array }
  /** A token refresh, {"type":"auth","token"}, with a fuzzed token (or VALID_TOKEN). */
  | { kind: "auth"; token: string };

/**
 * The expected answer: "pong", an error frame, a close with 1009, a control-frame pong, a refresh's
 * answer ("auth"), or a refused refresh's close with 4401.
 */
type Expected = "pong" | "error" | "close" | "control-pong" | "auth" | "refused";

function authText(message: { token: string }): string {
  return JSON.stringify({ type: "auth", token: message.token === VALID_TOKEN ? (tokens.fuzz[0] as string) : message.token });
}

function expected(message: ClientMessage): Expected {
  switch (message.kind) {
    case "auth": {
      const bytes = Buffer.byteLength(authText(message), "utf8");
      if (bytes <= MAX_AUTH_FRAME_BYTES && message.token.length >= 1 && message.token.length <= MAX_TOKEN_LENGTH) return message.token === VALID_TOKEN ? "auth" : "refused";
      return bytes > MAX_CLIENT_MESSAGE_BYTES ? "close" : "error";
    }
    case "text":
      if (message.text === "ping") return "pong";
      return Buffer.byteLength(message.text, "utf8") > MAX_CLIENT_MESSAGE_BYTES ? "close" : "error";
    case "binary":
      return message.bytes.length > MAX_CLIENT_MESSAGE_BYTES ? "close" : "error";
    case "invalid-utf8":
      return "error";
    case "ping-frame":
      return "control-pong";
  }
}

const fragments = fc.integer({ min: 1, max: 3 });
/** Sizes near the limit are the interesting ones. */
const size = fc.oneof(fc.integer({ min: 0, max: 64 }), fc.integer({ min: 1_000, max: 1_050 }), fc.integer({ min: 0, max: 2_100 }), fc.constantFrom(1_023, 1_024, 1_025, 4_096, 70_000));

const clientMessage: fc.Arbitrary<ClientMessage> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc
      .tuple(fc.oneof(fc.constant("ping"), fc.constantFrom("PING", " ping", "ping\n", "pong", "", "null", "{}", '{"offset":"-1"}', "ping ping"), fc.json({ maxDepth: 2 })), fragments)
      .map(([text, parts]): ClientMessage => ({ kind: "text", text, fragments: parts })),
  },
  // Any code points; bytes differ from UTF-16 length for the non-ASCII ones.
  {
    weight: 2,
    arbitrary: fc.tuple(fc.string({ unit: "binary", maxLength: 700 }), fragments).map(([text, parts]): ClientMessage => ({ kind: "text", text, fragments: parts })),
  },
  // Sizes around the limit in bytes, with 1- to 4-byte characters.
  {
    weight: 2,
    arbitrary: fc
      .tuple(fc.constantFrom("x", "é", "€", "😀"), size, fragments)
      .map(([char, length, parts]): ClientMessage => ({ kind: "text", text: char.repeat(Math.ceil(length / Buffer.byteLength(char))), fragments: parts })),
  },
  {
    weight: 2,
    arbitrary: fc
      .tuple(fc.oneof(fc.uint8Array({ maxLength: 1_100 }), size.map((length) => new Uint8Array(length).fill(0x61)), fc.constant(new TextEncoder().encode("ping"))), fragments)
      .map(([bytes, parts]): ClientMessage => ({ kind: "binary", bytes, fragments: parts })),
  },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.uint8Array({ maxLength: 150 }), fc.constantFrom([0xff], [0xc0, 0x80], [0x80], [0xe2, 0x82], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80]), fc.uint8Array({ maxLength: 100 }))
      .map(([before, bad, after]) => Uint8Array.from([...before, ...bad, ...after]))
      .filter((bytes) => !isUtf8(bytes))
      .map((bytes): ClientMessage => ({ kind: "invalid-utf8", bytes })),
  },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 125 }).map((payload): ClientMessage => ({ kind: "ping-frame", payload })) },
  {
    weight: 2,
    arbitrary: fc
      .oneof(
        fc.constant(VALID_TOKEN),
        fc.string({ maxLength: 300 }),
        fc.tuple(fc.base64String({ maxLength: 200 }), fc.base64String({ maxLength: 200 }), fc.base64String({ maxLength: 100 })).map((parts) => parts.join(".")),
        fc.constantFrom("", "x".repeat(4_096), "x".repeat(4_097), "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."),
      )
      .map((token): ClientMessage => ({ kind: "auth", token })),
  },
);

function isUtf8(bytes: Uint8Array): boolean {
  try {
    new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes);
    return true;
  } catch {
    return false;
  }
}

function describeMessage(message: ClientMessage): string {
  if (message.kind === "auth") return `auth frame with a ${message.token === VALID_TOKEN ? "valid" : `${message.token.length}-character`} token`;
  const body = message.kind === "text" ? `${Buffer.byteLength(message.text)} bytes ${JSON.stringify(message.text.slice(0, 40))}` : message.kind === "ping-frame" ? `${message.payload.length} bytes` : `${message.bytes.length} bytes`;
  return `${message.kind} ${body}${"fragments" in message && message.fragments > 1 ? ` in ${message.fragments} fragments` : ""}`;
}

/** Sends `bytes` as one message, in `count` frames when it is long enough. */
function sendFragments(socket: SocketClient, bytes: Buffer, binary: boolean, count: number): void {
  if (count <= 1 || bytes.length < count) {
    socket.ws.send(bytes, { binary });
    return;
  }
  const step = Math.ceil(bytes.length / count);
  for (let at = 0; at < bytes.length; at += step) socket.ws.send(bytes.subarray(at, at + step), { binary, fin: at + step >= bytes.length });
}

function sendMessage(socket: SocketClient, message: ClientMessage): void {
  switch (message.kind) {
    case "text":
      return sendFragments(socket, Buffer.from(message.text, "utf8"), false, message.fragments);
    case "binary":
      return sendFragments(socket, Buffer.from(message.bytes), true, message.fragments);
    case "invalid-utf8":
      return socket.ws.send(Buffer.from(message.bytes), { binary: false });
    case "ping-frame":
      return socket.ws.ping(Buffer.from(message.payload));
    case "auth":
      return socket.ws.send(Buffer.from(authText(message), "utf8"), { binary: false });
  }
}

/** What a reply is: the server may send only "pong", error frames, refresh answers and data frames. */
function classify(text: string): "pong" | "error" | "data" | "auth" | "other" {
  if (text === "pong") return "pong";
  const value = parseJson(text);
  if (typeof value !== "object" || value === null) return "other";
  const keys = Object.keys(value).sort().join(",");
  const error = (value as { error?: { code?: unknown; message?: unknown } }).error;
  if (keys === "error" && error && Object.keys(error).sort().join(",") === "code,message" && error.code === "bad_request" && typeof error.message === "string") return "error";
  if (keys === "expiresAt,type" && (value as { type?: unknown }).type === "auth") return "auth";
  if (["data,streamNextOffset,upToDate", "data,streamClosed,streamNextOffset,upToDate", "data,encoding,streamNextOffset,upToDate"].includes(keys)) return "data";
  return "other";
}

describe("fuzzed client messages", () => {
  it(`get only "pong", error frames, refresh answers or a 1009/4401 close, and leave the server serving (${FUZZ_RUNS} messages)`, async () => {
    let upgrades = 0;
    const openOne = async (): Promise<SocketClient> => {
      const token = tokens.fuzz[upgrades++ % tokens.fuzz.length] as string;
      const socket = opened(await upgrade(wsUrl(FUZZED), bearer(token)), "a fuzzing socket");
      expect(classify(await socket.next())).toBe("data");
      return socket;
    };
    const pool: SocketClient[] = [];
    for (let i = 0; i < FUZZ_SOCKETS; i++) pool.push(await openOne());
    /** Sockets sent an oversized message (1009) or a bad refresh (4401): each must close so (checked at the end, together). */
    const doomed: { socket: SocketClient; what: string; code: number }[] = [];
    const tally = { pong: 0, error: 0, close: 0, "control-pong": 0, auth: 0, refused: 0 };

    await fc.assert(
      fc.asyncProperty(clientMessage, fc.nat(), async (message, pick) => {
        const index = pick % pool.length;
        const socket = pool[index] as SocketClient;
        const what = describeMessage(message);
        const want = expected(message);
        tally[want]++;
        const pongs = socket.pongs.length;
        sendMessage(socket, message);
        if (want === "close" || want === "refused") {
          doomed.push({ socket, what, code: want === "close" ? 1009 : 4401 });
          pool[index] = await openOne();
          return;
        }
        if (want === "control-pong") {
          await socket.until(`a control pong after ${what}`, () => socket.pongs.length > pongs, REPLY_MS);
          expect(socket.pongs.at(-1)).toBe(Buffer.from(message.kind === "ping-frame" ? message.payload : []).toString("utf8"));
          return;
        }
        const reply = await socket.next(REPLY_MS);
        expect(classify(reply), `${what} was answered ${reply.slice(0, 200)}`).toBe(want);
      }),
      // Each run changes the sockets, so a failure is reported as found rather than shrunk.
      { numRuns: FUZZ_RUNS, endOnFailure: true },
    );

    // The server still accepts upgrades and delivers appends to every surviving socket.
    const fresh = await openOne();
    for (const socket of pool) expect(socket.unread(), "unanswered extra messages").toEqual([]);
    const tail = await append(FUZZED, { after: "fuzzing" });
    for (const socket of [...pool, fresh]) {
      expect(await socket.frame()).toEqual({ data: [{ after: "fuzzing" }], streamNextOffset: tail, upToDate: true });
      socket.close();
    }
    // Every oversized message closed its socket with 1009, every bad refresh with 4401, after nothing but the frames before it.
    const closes = await Promise.all(
      doomed.map(async ({ socket, what, code }) => {
        // An answer instead of the close fails at once rather than after the wait.
        await socket.until(`the close after ${what}`, () => socket.closedWith !== null || socket.unread().length > 0);
        return { what, code: socket.closedWith?.code, want: code, unread: socket.unread() };
      }),
    );
    for (const close of closes) expect(close, close.what).toEqual({ what: close.what, code: close.want, want: close.want, unread: [] });
    process.stdout.write(
      `websocket fuzz: ${FUZZ_RUNS} client messages (${tally.pong} pong, ${tally.error} error frames, ${tally.close} closed 1009, ${tally["control-pong"]} ping frames, ${tally.auth} refreshes accepted, ${tally.refused} refused 4401), ${upgrades} upgrades, no 5xx\n`,
    );
  });
});
