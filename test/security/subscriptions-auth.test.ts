// The reserved subscription APIs with auth on (the production config): managing needs `manage` in
// the caller's project, a subscription covers only streams its token could read, it belongs to the
// project that made it, and webhooks may not target loopback (WEBHOOK_ALLOW_LOOPBACK is off).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stopServer, unique } from "../estuary/harness";
import type { DevServer } from "../support/wrangler-dev";
import { Admin, bearer, JSON_HEADERS, parseJson, send, startProductionServer, type Outcome } from "./auth-support";

const P = unique("subs");
const Q = unique("other");

let server: DevServer;
let admin: Admin;
const tokens: Record<string, string> = {};

const subUrl = (id: string, action = "") => `${server.baseUrl}/v1/stream/__ds/subscriptions/${id}${action}`;

function request(method: string, url: string, token: string | null, body?: unknown): Promise<Outcome> {
  return send(url, { method, headers: { ...JSON_HEADERS, ...(token ? bearer(token) : {}) }, body: body === undefined ? undefined : JSON.stringify(body) });
}

function expectCode(outcome: Outcome, status: number, code: string): void {
  expect(outcome.status, outcome.body).toBe(status);
  expect((parseJson(outcome.body) as { error: { code: string } }).error.code).toBe(code);
}

const pullWake = (pattern: string, wake = `${P}/wake`) => ({ type: "pull-wake", pattern, wake_stream: wake });

beforeAll(async () => {
  server = await startProductionServer();
  admin = new Admin(server.baseUrl);
  await admin.createProject(P);
  await admin.createProject(Q);
  tokens.read = await admin.mint(P, ["read"]);
  tokens.write = await admin.mint(P, ["write"]);
  tokens.manage = await admin.mint(P, ["manage"]);
  tokens.limited = await admin.mint(P, ["manage"], ["orders", "wake"]);
  tokens.other = await admin.mint(Q, ["manage"]);
});

afterAll(async () => {
  await stopServer(server);
});

describe("subscriptions with auth on", () => {
  it("need manage in the project; read and write tokens are refused", async () => {
    expectCode(await request("PUT", subUrl("s-scope"), tokens.write ?? "", pullWake(`${P}/*`)), 403, "FORBIDDEN");
    expectCode(await request("PUT", subUrl("s-scope"), tokens.read ?? "", pullWake(`${P}/*`)), 403, "FORBIDDEN");
    expect((await request("PUT", subUrl("s-scope"), tokens.manage ?? "", pullWake(`${P}/*`))).status).toBe(201);
    expectCode(await request("GET", subUrl("s-scope"), tokens.write ?? ""), 403, "FORBIDDEN");
  });

  it("cover only streams the token could read, and wake only streams it could write", async () => {
    expectCode(await request("PUT", subUrl("s-cover-1"), tokens.manage ?? "", pullWake(`${Q}/*`)), 403, "FORBIDDEN");
    expectCode(await request("PUT", subUrl("s-cover-2"), tokens.manage ?? "", { type: "pull-wake", streams: [`${Q}/x`], wake_stream: `${P}/wake` }), 403, "FORBIDDEN");
    expectCode(await request("PUT", subUrl("s-cover-3"), tokens.manage ?? "", pullWake(`${P}/*`, `${Q}/wake`)), 403, "FORBIDDEN");
    // A token limited to some streams: no glob over all of them, only what it names.
    expectCode(await request("PUT", subUrl("s-cover-4"), tokens.limited ?? "", pullWake(`${P}/*`)), 403, "FORBIDDEN");
    expectCode(await request("PUT", subUrl("s-cover-5"), tokens.limited ?? "", pullWake(`${P}/secret`)), 403, "FORBIDDEN");
    expect((await request("PUT", subUrl("s-cover-6"), tokens.limited ?? "", pullWake(`${P}/orders`))).status).toBe(201);
    expectCode(await request("POST", subUrl("s-cover-6", "/streams"), tokens.limited ?? "", { streams: [`${P}/secret`] }), 403, "FORBIDDEN");
  });

  it("belong to the project that made them: other projects see nothing and cannot take the id", async () => {
    expect((await request("PUT", subUrl("s-owned"), tokens.manage ?? "", pullWake(`${P}/*`))).status).toBe(201);
    expectCode(await request("GET", subUrl("s-owned"), tokens.other ?? ""), 404, "SUBSCRIPTION_NOT_FOUND");
    expectCode(await request("DELETE", subUrl("s-owned"), tokens.other ?? ""), 404, "SUBSCRIPTION_NOT_FOUND");
    expectCode(await request("POST", subUrl("s-owned", "/claim"), tokens.other ?? "", { worker: "w" }), 404, "SUBSCRIPTION_NOT_FOUND");
    expectCode(await request("PUT", subUrl("s-owned"), tokens.other ?? "", pullWake(`${Q}/*`, `${Q}/wake`)), 409, "SUBSCRIPTION_ALREADY_EXISTS");
    expect((await request("GET", subUrl("s-owned"), tokens.manage ?? "")).status).toBe(200);
    // Claims need read in the project.
    expectCode(await request("POST", subUrl("s-owned", "/claim"), tokens.read ?? "", { worker: "w" }), 409, "NO_PENDING_WORK");
  });

  it("stay inside a stream-limited token's streams: claiming, reading, changing and deleting need one that covers every stream", async () => {
    expect((await request("PUT", subUrl("s-reach"), tokens.manage ?? "", pullWake(`${P}/*`))).status).toBe(201);
    // What README tells people to give a browser, and a manage token limited the same way.
    const browser = await admin.mint(P, ["read"], ["user-42"]);
    const limited = await admin.mint(P, ["manage"], ["user-42", "wake"]);
    expectCode(await request("POST", subUrl("s-reach", "/claim"), browser, { worker: "w" }), 403, "FORBIDDEN");
    expectCode(await request("POST", subUrl("s-reach", "/claim"), limited, { worker: "w" }), 403, "FORBIDDEN");
    expectCode(await request("GET", subUrl("s-reach"), limited), 403, "FORBIDDEN");
    expectCode(await request("POST", subUrl("s-reach", "/streams"), limited, { streams: [`${P}/user-42`] }), 403, "FORBIDDEN");
    expectCode(await request("DELETE", subUrl("s-reach", `/streams/${encodeURIComponent(`${P}/user-42`)}`), limited), 403, "FORBIDDEN");
    expectCode(await request("DELETE", subUrl("s-reach"), limited), 403, "FORBIDDEN");
    expect((await request("GET", subUrl("s-reach"), tokens.manage ?? "")).status).toBe(200);

    // Explicit streams: a token must reach each of them and the wake stream.
    const explicit = { type: "pull-wake", streams: [`${P}/orders`, `${P}/audit`], wake_stream: `${P}/wake` };
    expect((await request("PUT", subUrl("s-reach-2"), tokens.manage ?? "", explicit)).status).toBe(201);
    const oneOfTwo = await admin.mint(P, ["manage"], ["orders", "wake"]);
    const noWake = await admin.mint(P, ["manage"], ["orders", "audit"]);
    const both = await admin.mint(P, ["manage"], ["orders", "audit", "wake"]);
    const bothByPrefix = await admin.mint(P, ["read"], ["orders", "audit", "wa*"]);
    expectCode(await request("GET", subUrl("s-reach-2"), oneOfTwo), 403, "FORBIDDEN");
    expectCode(await request("GET", subUrl("s-reach-2"), noWake), 403, "FORBIDDEN");
    expectCode(await request("POST", subUrl("s-reach-2", "/claim"), oneOfTwo, { worker: "w" }), 403, "FORBIDDEN");
    expect((await request("GET", subUrl("s-reach-2"), both)).status).toBe(200);
    expectCode(await request("POST", subUrl("s-reach-2", "/claim"), bothByPrefix, { worker: "w" }), 409, "NO_PENDING_WORK");
    // A stream linked later counts too.
    expect((await request("POST", subUrl("s-reach-2", "/streams"), tokens.manage ?? "", { streams: [`${P}/ledger`] })).status).toBe(204);
    expectCode(await request("GET", subUrl("s-reach-2"), both), 403, "FORBIDDEN");
    // The same configuration again would answer the subscription, its new link included.
    expectCode(await request("PUT", subUrl("s-reach-2"), both, explicit), 403, "FORBIDDEN");
    expect((await request("DELETE", subUrl("s-reach-2"), both)).status).toBe(403);
    expect((await request("GET", subUrl("s-reach-2"), tokens.manage ?? "")).status).toBe(200);
  });

  it("refuse loopback webhooks in production", async () => {
    for (const url of ["http://127.0.0.1:9/hook", "http://localhost:9/hook", "https://127.0.0.1/hook", "http://[::1]:9/hook"]) {
      expectCode(await request("PUT", subUrl("s-loop"), tokens.manage ?? "", { type: "webhook", pattern: `${P}/*`, webhook: { url } }), 400, "WEBHOOK_URL_REJECTED");
    }
  });

  it("serve the JWKS to anyone", async () => {
    const outcome = await send(`${server.baseUrl}/v1/stream/__ds/jwks.json`);
    expect(outcome.status).toBe(200);
    expect(outcome.headers.get("Content-Type")).toBe("application/jwk-set+json");
    const { keys } = JSON.parse(outcome.body) as { keys: { kty: string; crv: string; kid: string; alg: string; d?: string }[] };
    expect(keys).toEqual([expect.objectContaining({ kty: "OKP", crv: "Ed25519", alg: "EdDSA", kid: expect.stringMatching(/^ds_/) })]);
    expect(keys[0]?.d).toBeUndefined();
  });
});
