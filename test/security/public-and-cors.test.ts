// With auth on, public streams are readable by anyone and writable by no one anonymous, and CORS answers only a project's own origins.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pollUntil, stopServer, unique } from "../estuary/harness";
import type { DevServer } from "../support/wrangler-dev";
import { Admin, ADMIN_TOKEN, bearer, expectRefusal, JSON_HEADERS, LONG_POLL_TIMEOUT_MS, parseJson, send, startProductionServer, type Outcome } from "./auth-support";

const P = unique("pub");
const Q = unique("other");
const APP = "https://app.example.com";
const Q_APP = "https://q.example.com";
const EVIL = "https://evil.example.com";
const PUBLIC = "news";
const PRIVATE = "diary";

let server: DevServer;
let admin: Admin;
let write: string;
let manage: string;

const streamUrl = (project: string, stream: string, query = "") => `${server.baseUrl}/v1/stream/${project}/${stream}${query}`;

async function create(project: string, stream: string, token: string, body: string, isPublic: boolean): Promise<void> {
  const headers = { ...JSON_HEADERS, ...bearer(token), ...(isPublic ? { "Stream-Public": "true" } : {}) };
  const outcome = await send(streamUrl(project, stream), { method: "PUT", headers, body });
  expect(outcome.status, outcome.body).toBe(201);
}

async function subscribe(estuaryId: string, isPublic?: boolean): Promise<void> {
  const body = isPublic === undefined ? { estuaryId, from: "-1" } : { estuaryId, from: "-1", public: isPublic };
  const outcome = await send(`${server.baseUrl}/v1/estuary/subscribe/${P}/${PUBLIC}`, {
    method: "POST",
    headers: { ...JSON_HEADERS, ...bearer(manage) },
    body: JSON.stringify(body),
  });
  expect(outcome.status, outcome.body).toBe(201);
}

/** The anonymous read modes. */
const READS: { name: string; method: string; query: string }[] = [
  { name: "catch-up", method: "GET", query: "?offset=-1" },
  { name: "long-poll", method: "GET", query: "?offset=-1&live=long-poll" },
  { name: "SSE", method: "GET", query: "?offset=-1&live=sse" },
  { name: "HEAD", method: "HEAD", query: "" },
];

const preflight = (path: string, origin: string) =>
  send(`${server.baseUrl}${path}`, {
    method: "OPTIONS",
    headers: { Origin: origin, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type,producer-id,authorization" },
  });

beforeAll(async () => {
  server = await startProductionServer();
  admin = new Admin(server.baseUrl);
  await admin.createProject(P, [APP]);
  await admin.createProject(Q, [Q_APP]);
  write = await admin.mint(P, ["write"]);
  manage = await admin.mint(P, ["manage"]);
  await create(P, PUBLIC, write, '[{"n":1}]', true);
  await create(P, PRIVATE, write, '[{"secret":1}]', false);
});

afterAll(async () => {
  await stopServer(server);
});

describe("a public stream", () => {
  it("is readable without a token by catch-up, long-poll, SSE and HEAD", async () => {
    const catchUp = await send(streamUrl(P, PUBLIC, "?offset=-1"));
    expect(catchUp.status).toBe(200);
    expect(parseJson(catchUp.body)).toEqual([{ n: 1 }]);
    const tail = catchUp.headers.get("Stream-Next-Offset");

    const head = await send(streamUrl(P, PUBLIC), { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(head.headers.get("Stream-Next-Offset")).toBe(tail);

    const longPoll = await send(streamUrl(P, PUBLIC, "?offset=-1&live=long-poll"));
    expect(longPoll.status).toBe(200);
    expect(parseJson(longPoll.body)).toEqual([{ n: 1 }]);

    const sse = await send(streamUrl(P, PUBLIC, "?offset=-1&live=sse"));
    expect(sse.status).toBe(200);
    expect(sse.headers.get("Content-Type")).toContain("text/event-stream");
    expect(sse.body).toContain('event: data\ndata:[{"n":1}]');
    expect(sse.body).toContain(`"streamNextOffset":"${tail}"`);
  });

  it("wakes an anonymous long-poll at its tail when a writer appends, well before its timeout", async () => {
    const read = await admin.mint(P, ["read"]);
    const parked = async () => parseJson((await send(`${server.baseUrl}/v1/connections/${P}/${PUBLIC}`, { headers: bearer(read) })).body);
    const tail = (await send(streamUrl(P, PUBLIC), { method: "HEAD" })).headers.get("Stream-Next-Offset") ?? "";
    const waiting = send(streamUrl(P, PUBLIC, `?offset=${tail}&live=long-poll`));
    await pollUntil("the anonymous long-poll to wait at the tail", parked, (counts) => (counts as { longPoll: number }).longPoll === 1);
    const appendedAt = Date.now();
    const append = await send(streamUrl(P, PUBLIC), { method: "POST", headers: { ...JSON_HEADERS, ...bearer(write) }, body: '[{"n":2}]' });
    expect(append.status).toBe(204);
    const woken = await waiting;
    // A poll that times out re-reads and answers with the data too: only a wake answers this soon.
    expect(Date.now() - appendedAt).toBeLessThan(LONG_POLL_TIMEOUT_MS / 2);
    expect(woken.status).toBe(200);
    expect(parseJson(woken.body)).toEqual([{ n: 2 }]);
  });

  it("cannot be appended to, re-created, closed or deleted without a token", async () => {
    const before = await send(streamUrl(P, PUBLIC, "?offset=-1"));
    const writes: [string, RequestInit][] = [
      ["POST", { method: "POST", headers: JSON_HEADERS, body: '[{"anonymous":true}]' }],
      ["POST closing", { method: "POST", headers: { ...JSON_HEADERS, "Stream-Closed": "true" } }],
      ["PUT with the same configuration", { method: "PUT", headers: { ...JSON_HEADERS, "Stream-Public": "true" } }],
      ["DELETE", { method: "DELETE" }],
    ];
    for (const [name, init] of writes) {
      expectRefusal(await send(streamUrl(P, PUBLIC), init), init.method ?? "GET", 401, name);
    }
    const after = await send(streamUrl(P, PUBLIC, "?offset=-1"));
    expect(after.body).toBe(before.body);
    expect(after.headers.get("Stream-Next-Offset")).toBe(before.headers.get("Stream-Next-Offset"));
    expect(after.headers.get("Stream-Closed")).toBeNull();
  });
});

describe("a reader holding a token for another project", () => {
  it("reads a public stream, and gets 403 (not 401) for a private one", async () => {
    const otherProject = await admin.mint(Q, ["read"]);
    const read = await send(streamUrl(P, PUBLIC, "?offset=-1"), { headers: bearer(otherProject) });
    expect(read.status, read.body).toBe(200);
    expect(parseJson(read.body)).toEqual(expect.arrayContaining([{ n: 1 }]));
    expectRefusal(await send(streamUrl(P, PRIVATE, "?offset=-1"), { headers: bearer(otherProject) }), "GET", 403, "private");
    expectRefusal(
      await send(streamUrl(P, PUBLIC), { method: "POST", headers: { ...JSON_HEADERS, ...bearer(otherProject) }, body: "[2]" }),
      "POST",
      403,
      "append to public",
    );
  });
});

describe("an anonymous reader", () => {
  /** Status, body and auth challenge: what would tell a private stream from a missing one. */
  const visible = (outcome: Outcome) => ({
    status: outcome.status,
    body: outcome.body,
    challenge: outcome.headers.get("WWW-Authenticate"),
    contentType: outcome.headers.get("Content-Type"),
  });

  it("gets the same 401 for a private stream as for a missing stream or project", async () => {
    for (const read of READS) {
      const answers: ReturnType<typeof visible>[] = [];
      for (const [project, stream] of [
        [P, PRIVATE],
        [P, unique("missing")],
        [unique("no-project"), PRIVATE],
      ] as const) {
        const outcome = await send(streamUrl(project, stream, read.query), { method: read.method });
        expectRefusal(outcome, read.method, 401, `${read.name} of ${project}/${stream}`);
        answers.push(visible(outcome));
      }
      expect(answers[1], read.name).toEqual(answers[0]);
      expect(answers[2], read.name).toEqual(answers[0]);
    }
  });

  it("reads an estuary stream only if it was subscribed with public: true", async () => {
    await subscribe("private-feed");
    await subscribe("explicitly-private-feed", false);
    await subscribe("public-feed", true);
    const published = await pollUntil(
      "the public estuary to receive the source's messages",
      () => send(streamUrl(P, "public-feed", "?offset=-1")),
      (outcome) => outcome.status === 200 && JSON.stringify(parseJson(outcome.body)) === '[{"n":1},{"n":2}]',
    );
    expect(published.status).toBe(200);
    const head = await send(streamUrl(P, "public-feed"), { method: "HEAD" });
    expect(head.status).toBe(200);

    const missing = visible(await send(streamUrl(P, unique("missing"), "?offset=-1")));
    for (const estuary of ["private-feed", "explicitly-private-feed"]) {
      const outcome = await send(streamUrl(P, estuary, "?offset=-1"));
      expectRefusal(outcome, "GET", 401, estuary);
      expect(visible(outcome), estuary).toEqual(missing);
      const withToken = await send(streamUrl(P, estuary, "?offset=-1"), { headers: bearer(manage) });
      expect(withToken.status, estuary).toBe(200);
    }
  });

  it("cannot describe, subscribe to or append to a public estuary", async () => {
    const attempts: [string, string, RequestInit][] = [
      ["describe", `/v1/estuary/${P}/public-feed`, {}],
      ["status", `/v1/estuary/subscribers/${P}/${PUBLIC}`, {}],
      ["subscribe", `/v1/estuary/subscribe/${P}/${PUBLIC}`, { method: "POST", headers: JSON_HEADERS, body: '{"estuaryId":"public-feed"}' }],
      ["append", `/v1/stream/${P}/public-feed`, { method: "POST", headers: JSON_HEADERS, body: '[{"anonymous":true}]' }],
    ];
    for (const [name, path, init] of attempts) {
      expectRefusal(await send(`${server.baseUrl}${path}`, init), init.method ?? "GET", 401, name);
    }
  });
});

describe("CORS", () => {
  const PROTOCOL_HEADERS = [
    "Content-Type",
    "Authorization",
    "If-None-Match",
    "Stream-TTL",
    "Stream-Expires-At",
    "Stream-Seq",
    "Stream-Closed",
    "Stream-Public",
    "Stream-Forked-From",
    "Stream-Fork-Offset",
    "Producer-Id",
    "Producer-Epoch",
    "Producer-Seq",
  ];
  const listed = (outcome: Outcome, header: string) =>
    (outcome.headers.get(header) ?? "").split(",").map((name) => name.trim().toLowerCase());

  it("answers a preflight from one of the project's origins with that origin and the protocol headers", async () => {
    for (const path of [`/v1/stream/${P}/${PUBLIC}`, `/v1/estuary/subscribe/${P}/${PUBLIC}`, `/v1/estuary/${P}/public-feed`]) {
      const outcome = await preflight(path, APP);
      expect(outcome.status, path).toBe(204);
      expect(outcome.headers.get("Access-Control-Allow-Origin"), path).toBe(APP);
      expect(listed(outcome, "Access-Control-Allow-Headers"), path).toEqual(expect.arrayContaining(PROTOCOL_HEADERS.map((name) => name.toLowerCase())));
      expect(listed(outcome, "Access-Control-Allow-Methods"), path).toEqual(expect.arrayContaining(["get", "head", "put", "post", "delete"]));
      expect(outcome.headers.get("Vary") ?? "", path).toContain("Origin");
    }
  });

  it("lets an allowed origin read the protocol's response headers, and its 401s", async () => {
    const read = await send(streamUrl(P, PUBLIC, "?offset=-1"), { headers: { Origin: APP } });
    expect(read.status).toBe(200);
    expect(read.headers.get("Access-Control-Allow-Origin")).toBe(APP);
    expect(listed(read, "Access-Control-Expose-Headers")).toEqual(
      expect.arrayContaining(["stream-next-offset", "stream-up-to-date", "stream-cursor", "stream-closed", "etag"]),
    );
    const refused = await send(streamUrl(P, PRIVATE, "?offset=-1"), { headers: { Origin: APP } });
    expect(refused.status).toBe(401);
    expect(refused.headers.get("Access-Control-Allow-Origin")).toBe(APP);
  });

  it("gives no Access-Control-Allow-Origin to other origins, including another project's", async () => {
    for (const origin of [EVIL, Q_APP, "null"]) {
      const pre = await preflight(`/v1/stream/${P}/${PUBLIC}`, origin);
      expect(pre.headers.get("Access-Control-Allow-Origin"), origin).toBeNull();
      const read = await send(streamUrl(P, PUBLIC, "?offset=-1"), { headers: { Origin: origin } });
      expect(read.status, origin).toBe(200);
      expect(read.headers.get("Access-Control-Allow-Origin"), origin).toBeNull();
    }
    const reverse = await preflight(`/v1/stream/${Q}/anything`, APP);
    expect(reverse.headers.get("Access-Control-Allow-Origin")).toBeNull();
    const own = await preflight(`/v1/stream/${Q}/anything`, Q_APP);
    expect(own.headers.get("Access-Control-Allow-Origin")).toBe(Q_APP);
  });

  it("gives the admin API no Access-Control-Allow-Origin, even for origins of projects named like its path", async () => {
    await admin.createProject("projects", [EVIL]);
    await admin.createProject("default", [EVIL]);
    for (const path of [`/v1/admin/projects/${P}/tokens`, "/v1/admin/projects", "/"]) {
      const pre = await preflight(path, EVIL);
      expect(pre.headers.get("Access-Control-Allow-Origin"), path).toBeNull();
    }
    const described = await send(`${server.baseUrl}/v1/admin/projects/${P}`, { headers: { Origin: EVIL, ...bearer(ADMIN_TOKEN) } });
    expect(described.status).toBe(200);
    expect(described.headers.get("Access-Control-Allow-Origin")).toBeNull();
  });

  it("follows a PATCH of the project's corsOrigins at once", async () => {
    const NEW = "https://new.example.com";
    const view = await admin.setCorsOrigins(P, [NEW]);
    expect(view.corsOrigins).toEqual([NEW]);
    expect((await preflight(`/v1/stream/${P}/${PUBLIC}`, NEW)).headers.get("Access-Control-Allow-Origin")).toBe(NEW);
    expect((await preflight(`/v1/stream/${P}/${PUBLIC}`, APP)).headers.get("Access-Control-Allow-Origin")).toBeNull();

    await admin.setCorsOrigins(P, []);
    expect((await preflight(`/v1/stream/${P}/${PUBLIC}`, NEW)).headers.get("Access-Control-Allow-Origin")).toBeNull();
  });
});
