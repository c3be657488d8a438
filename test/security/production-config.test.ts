// The production configuration ([env.production] in wrangler.toml) has auth on: without a valid
// token, every stream, estuary and connection route answers 401 in the error shape, and the public
// routes (the service's description, its health check and its OpenAPI document) still answer.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWranglerDev, type DevServer } from "../support/wrangler-dev";

let server: DevServer;

beforeAll(async () => {
  server = await startWranglerDev({ env: "production" });
});

afterAll(async () => {
  await server?.stop();
});

const json = { "Content-Type": "application/json" };

const ROUTES: { method: string; path: string; body?: string; headers?: Record<string, string> }[] = [
  { method: "PUT", path: "/v1/stream/acme/orders", headers: json },
  { method: "POST", path: "/v1/stream/acme/orders", body: "[1]", headers: json },
  { method: "GET", path: "/v1/stream/acme/orders?offset=-1" },
  { method: "GET", path: "/v1/stream/acme/orders?offset=-1&live=long-poll" },
  { method: "GET", path: "/v1/stream/acme/orders?offset=-1&live=sse" },
  { method: "HEAD", path: "/v1/stream/acme/orders" },
  { method: "DELETE", path: "/v1/stream/acme/orders" },
  { method: "PUT", path: "/v1/stream/orders", headers: json },
  { method: "POST", path: "/v1/estuary/subscribe/acme/orders", body: '{"estuaryId":"alice"}', headers: json },
  { method: "DELETE", path: "/v1/estuary/subscribe/acme/orders", body: '{"estuaryId":"alice"}', headers: json },
  { method: "GET", path: "/v1/estuary/acme/alice" },
  { method: "DELETE", path: "/v1/estuary/acme/alice" },
  { method: "GET", path: "/v1/estuary/subscribers/acme/orders" },
  { method: "PUT", path: "/v1/estuary/policy/acme/orders", body: '{"mode":"all"}', headers: json },
  { method: "POST", path: "/v1/estuary/subscribe/acme/orders", body: '{"estuaryIds":["alice","bob"]}', headers: json },
  { method: "POST", path: "/v1/estuary/subscribe/acme/orders", body: '{"sink":{"id":"wh","url":"https://receiver.example/hook"}}', headers: json },
  { method: "DELETE", path: "/v1/estuary/subscribe/acme/orders", body: '{"sinkId":"wh"}', headers: json },
  { method: "GET", path: "/v1/estuary/sinks/acme/orders/wh" },
  { method: "POST", path: "/v1/estuary/sinks/acme/orders/wh/enable" },
  { method: "GET", path: "/v1/connections/acme/orders" },
  { method: "GET", path: "/v1/connections/acme" },
];

/** The reserved subscription APIs: managing and claiming need a project token (protocol codes). */
const DS_ROUTES: typeof ROUTES = [
  { method: "PUT", path: "/v1/stream/__ds/subscriptions/s-1", body: '{"type":"pull-wake","pattern":"acme/*","wake_stream":"acme/wake"}', headers: json },
  { method: "GET", path: "/v1/stream/__ds/subscriptions/s-1" },
  { method: "DELETE", path: "/v1/stream/__ds/subscriptions/s-1" },
  { method: "POST", path: "/v1/stream/__ds/subscriptions/s-1/streams", body: '{"streams":["acme/orders"]}', headers: json },
  { method: "DELETE", path: "/v1/stream/__ds/subscriptions/s-1/streams/acme%2Forders" },
  { method: "POST", path: "/v1/stream/__ds/subscriptions/s-1/claim", body: '{"worker":"w"}', headers: json },
];

/** Callbacks, acks and releases are authorized by a wake's callback token, never by a project token. */
const CALLBACK_ROUTES = ["callback", "ack", "release"].map((action) => `/v1/stream/__ds/subscriptions/s-1/${action}`);

/** Routes anyone may read, auth on or not. */
const PUBLIC_ROUTES = ["/", "/health", "/v1/openapi.json", "/v1/stream/__ds/jwks.json"];

const CREDENTIALS: Record<string, Record<string, string>> = {
  "no token": {},
  "junk token": { Authorization: "Bearer junk" },
  "forged token": {
    // HS256 over {"sub":"acme","scope":"manage","exp":9999999999} with a key the service never issued.
    Authorization:
      "Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhY21lIiwic2NvcGUiOiJtYW5hZ2UiLCJleHAiOjk5OTk5OTk5OTl9.QmF6eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHg",
  },
};

describe("the production configuration", () => {
  for (const [credential, auth] of Object.entries(CREDENTIALS)) {
    it(`answers every route with 401 for a request with ${credential}`, async () => {
      for (const route of ROUTES) {
        const response = await fetch(`${server.baseUrl}${route.path}`, {
          method: route.method,
          headers: { ...route.headers, ...auth },
          body: route.body,
        });
        expect(response.status, `${route.method} ${route.path}`).toBe(401);
        if (route.method !== "HEAD") {
          expect(await response.json()).toEqual({ error: { code: "unauthorized", message: expect.any(String) } });
        }
      }
    });
  }

  for (const [credential, auth] of Object.entries(CREDENTIALS)) {
    it(`answers every subscription management route with 401 for a request with ${credential}`, async () => {
      for (const route of DS_ROUTES) {
        const response = await fetch(`${server.baseUrl}${route.path}`, { method: route.method, headers: { ...route.headers, ...auth }, body: route.body });
        expect(response.status, `${route.method} ${route.path}`).toBe(401);
        expect(await response.json()).toEqual({ error: { code: "UNAUTHORIZED", message: expect.any(String) } });
      }
    });
  }

  it("refuses callbacks, acks and releases without a callback token, and finds no wake with a made-up one", async () => {
    for (const path of CALLBACK_ROUTES) {
      const body = JSON.stringify({ wake_id: "w_x", generation: 1, done: true });
      const bare = await fetch(`${server.baseUrl}${path}`, { method: "POST", headers: json, body });
      expect(bare.status, path).toBe(401);
      expect(await bare.json()).toEqual({ error: { code: "TOKEN_INVALID", message: expect.any(String) } });
      for (const auth of Object.values(CREDENTIALS).slice(1)) {
        const response = await fetch(`${server.baseUrl}${path}`, { method: "POST", headers: { ...json, ...auth }, body });
        expect(response.status, path).toBe(404);
        expect(await response.json()).toEqual({ error: { code: "SUBSCRIPTION_NOT_FOUND", message: expect.any(String) } });
      }
    }
  });

  for (const [credential, auth] of Object.entries(CREDENTIALS)) {
    it(`answers the public routes with 200 for a request with ${credential}`, async () => {
      for (const path of PUBLIC_ROUTES) {
        const response = await fetch(`${server.baseUrl}${path}`, { headers: auth });
        expect(response.status, path).toBe(200);
        expect(response.headers.get("Content-Type"), path).toMatch(/^application\/(jwk-set\+)?json/);
        await response.body?.cancel();
      }
    });
  }
});
