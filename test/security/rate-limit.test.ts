// With the production limits: a project's subscribes past 100 in a 10 s window get 429 with
// Retry-After, other projects are unaffected; a token's WebSocket upgrades past 100 in a window get
// 429 before any 101, other tokens are unaffected.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sleep, stopServer, unique } from "../estuary/harness";
import type { DevServer } from "../support/wrangler-dev";
import { Admin, bearer, JSON_HEADERS, parseJson, send, startProductionServer, type Outcome } from "./auth-support";
import { upgrade, type UpgradeOutcome } from "./ws-support";

/** SUBSCRIBE_LIMITER in [env.production]: 100 per project per 10 s window. */
const SUBSCRIBE_LIMIT = 100;
/** UPGRADE_LIMITER in [env.production]: 100 WebSocket upgrades per token per 10 s window. */
const UPGRADE_LIMIT = 100;
const PERIOD_MS = 10_000;
/** The burst gives up here: a limit that is not enforced fails the test instead of running on. */
const MAX_REQUESTS = 150;
/** A burst starts only with at least this much of its window left, so it fits in one window. */
const BURST_ROOM_MS = 7_000;

const LIMITED = unique("busy");
const NEIGHBOUR = unique("calm");
const SOURCE = "events";

let server: DevServer;
let admin: Admin;
const tokens = { limited: "", neighbour: "" };

const windowOf = (time: number) => Math.floor(time / PERIOD_MS);

function subscribe(project: string, token: string, estuaryId: string): Promise<Outcome> {
  return send(`${server.baseUrl}/v1/estuary/subscribe/${project}/${SOURCE}`, {
    method: "POST",
    headers: { ...JSON_HEADERS, ...bearer(token) },
    body: JSON.stringify({ estuaryId }),
  });
}

beforeAll(async () => {
  server = await startProductionServer();
  admin = new Admin(server.baseUrl);
  for (const project of [LIMITED, NEIGHBOUR]) {
    await admin.createProject(project);
    const token = await admin.mint(project, ["manage"]);
    const created = await send(`${server.baseUrl}/v1/stream/${project}/${SOURCE}`, { method: "PUT", headers: { ...JSON_HEADERS, ...bearer(token) } });
    expect(created.status, created.body).toBe(201);
    tokens[project === LIMITED ? "limited" : "neighbour"] = token;
  }
});

afterAll(async () => {
  await stopServer(server);
});

describe("the subscribe rate limit", () => {
  let refusedInWindow = 0;

  it("refuses a project's 101st subscribe in a window with 429, Retry-After and the error shape", async () => {
    const left = PERIOD_MS - (Date.now() % PERIOD_MS);
    if (left < BURST_ROOM_MS) await sleep(left + 50);
    const startedIn = windowOf(Date.now());

    let accepted = 0;
    let refusal: Outcome | undefined;
    for (let sent = 0; sent < MAX_REQUESTS && !refusal; sent++) {
      const outcome = await subscribe(LIMITED, tokens.limited, "feed");
      if (outcome.status === 429) refusal = outcome;
      else {
        expect([200, 201], outcome.body).toContain(outcome.status);
        accepted++;
      }
    }
    refusedInWindow = startedIn;
    expect(windowOf(Date.now()), "the burst outlasted its window").toBe(startedIn);
    expect(refusal, `no 429 within ${MAX_REQUESTS} subscribes`).toBeDefined();
    expect(accepted).toBe(SUBSCRIBE_LIMIT);
    expect(refusal?.headers.get("Retry-After")).toBe("10");
    expect(parseJson(refusal?.body ?? "")).toEqual({ error: { code: "rate_limited", message: expect.any(String) } });

    // At the same moment: the limit is the project's (a fresh token of it is refused too), it
    // creates nothing when it refuses, and it leaves other projects, reads and appends alone.
    const fresh = await admin.mint(LIMITED, ["manage"]);
    expect((await subscribe(LIMITED, fresh, "late-feed")).status).toBe(429);
    const late = await send(`${server.baseUrl}/v1/estuary/${LIMITED}/late-feed`, { headers: bearer(tokens.limited) });
    expect(late.status).toBe(404);
    const neighbour = await subscribe(NEIGHBOUR, tokens.neighbour, "feed");
    expect(neighbour.status, neighbour.body).toBe(201);
    const read = await send(`${server.baseUrl}/v1/stream/${LIMITED}/${SOURCE}?offset=-1`, { headers: bearer(tokens.limited) });
    expect(read.status).toBe(200);
    const append = await send(`${server.baseUrl}/v1/stream/${LIMITED}/${SOURCE}`, {
      method: "POST",
      headers: { ...JSON_HEADERS, ...bearer(tokens.limited) },
      body: '[{"still":"writable"}]',
    });
    expect(append.status).toBe(204);
    expect(windowOf(Date.now()), "the checks outlasted the refusing window").toBe(startedIn);
  });

  it("lets the project subscribe again once the window has passed", async () => {
    expect(refusedInWindow).toBeGreaterThan(0);
    const nextWindow = (refusedInWindow + 1) * PERIOD_MS;
    await sleep(Math.max(0, nextWindow - Date.now()) + 100);
    const outcome = await subscribe(LIMITED, tokens.limited, "feed");
    expect(outcome.status, outcome.body).toBe(200);
  });
});

describe("the WebSocket upgrade rate limit", () => {
  it("refuses a token's 101st upgrade in a window with 429 and no 101, and leaves other tokens alone", async () => {
    // Tokens minted alike in the same second are the same JWT: the other one differs in scope.
    const busy = await admin.mint(NEIGHBOUR, ["read"]);
    const other = await admin.mint(NEIGHBOUR, ["write"]);
    const url = `${server.baseUrl}/v1/stream/${NEIGHBOUR}/${SOURCE}?offset=now&live=ws`;
    const left = PERIOD_MS - (Date.now() % PERIOD_MS);
    if (left < BURST_ROOM_MS) await sleep(left + 50);
    const startedIn = windowOf(Date.now());

    const opened: UpgradeOutcome[] = [];
    let refusal: UpgradeOutcome | undefined;
    try {
      for (let sent = 0; sent < MAX_REQUESTS && !refusal; sent++) {
        const outcome = await upgrade(url, bearer(busy));
        if (outcome.status === 429) refusal = outcome;
        else {
          expect(outcome.status, outcome.body).toBe(101);
          opened.push(outcome);
        }
      }
      expect(refusal, `no 429 within ${MAX_REQUESTS} upgrades`).toBeDefined();
      expect(opened).toHaveLength(UPGRADE_LIMIT);
      expect(refusal?.socket).toBeNull();
      expect(refusal?.headers.get("retry-after")).toBe("10");
      expect(parseJson(refusal?.body ?? "")).toEqual({ error: { code: "rate_limited", message: expect.any(String) } });
      // The limit is the token's: another token of the same project still upgrades.
      const neighbour = await upgrade(url, bearer(other));
      expect(neighbour.status, neighbour.body).toBe(101);
      opened.push(neighbour);
      expect(windowOf(Date.now()), "the burst outlasted its window").toBe(startedIn);
    } finally {
      for (const outcome of opened) outcome.socket?.close();
    }
  });
});
