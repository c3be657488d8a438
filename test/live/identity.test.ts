// Identity from the users' own auth provider, against a real `wrangler dev` with auth on: a
// loopback provider signs RS256 and ES256 tokens and publishes its JWKS; with the provider
// configured as the project's issuer, each user's token reads its own stream (HTTP and WebSocket,
// as that user) and nothing else, refreshes its socket, and the JWKS is fetched once and cached.
/// <reference types="node" />
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServer, stopServer, unique } from "../estuary/harness";
import { bearer, JSON_HEADERS, send } from "../security/auth-support";
import { upgrade } from "../security/ws-support";
import { startProvider, type Provider } from "../support/jwks-server";
import type { DevServer } from "../support/wrangler-dev";

const PROJECT = unique("idp");
let server: DevServer;
let provider: Provider;

const exp = () => Math.floor(Date.now() / 1000) + 600;
const streamUrl = (stream: string, query = "") => `${server.baseUrl}/v1/stream/${PROJECT}/${stream}${query}`;

beforeAll(async () => {
  provider = await startProvider();
  server = await startServer({ env: "production", vars: { ADMIN_TOKEN: "identity-live-admin-token", WEBHOOK_ALLOW_LOOPBACK: "on" } });
  const request = (method: string, path: string, body?: unknown) =>
    send(`${server.baseUrl}/v1/admin${path}`, { method, headers: { ...JSON_HEADERS, Authorization: "Bearer identity-live-admin-token" }, body: body === undefined ? undefined : JSON.stringify(body) });
  expect((await request("POST", "/projects", { project: PROJECT })).status).toBe(201);
  const added = await request("POST", `/projects/${PROJECT}/issuers`, { issuer: provider.issuer, jwksUrl: provider.jwksUrl, audience: "streams" });
  expect(added.status, added.body).toBe(201);
  const minted = await request("POST", `/projects/${PROJECT}/tokens`, { scope: ["write"] });
  const writer = (JSON.parse(minted.body) as { token: string }).token;
  for (const user of ["alice", "bob"]) {
    const created = await send(streamUrl(`user-${user}`), { method: "PUT", headers: { ...JSON_HEADERS, ...bearer(writer) }, body: JSON.stringify([{ for: user }]) });
    expect(created.status, created.body).toBe(201);
  }
});

afterAll(async () => {
  await stopServer(server);
  await provider?.close();
});

describe("an auth provider's tokens (issuer with a loopback JWKS)", () => {
  it("let an RS256 token read its own stream and nothing else, and an ES256 token its own", async () => {
    const alice = await provider.sign("RS256", { iss: provider.issuer, aud: "streams", sub: "alice", exp: exp(), streams: ["user-alice"] });
    const bob = await provider.sign("ES256", { iss: provider.issuer, aud: "streams", sub: "bob", exp: exp(), streams: ["user-bob"] });
    const own = await send(streamUrl("user-alice", "?offset=-1"), { headers: bearer(alice) });
    expect(own.status, own.body).toBe(200);
    expect(JSON.parse(own.body)).toEqual([{ for: "alice" }]);
    expect((await send(streamUrl("user-bob", "?offset=-1"), { headers: bearer(alice) })).status).toBe(403);
    expect((await send(streamUrl("user-alice"), { method: "POST", headers: { ...JSON_HEADERS, ...bearer(alice) }, body: "[1]" })).status).toBe(403);
    expect((await send(streamUrl("user-bob", "?offset=-1"), { headers: bearer(bob) })).status).toBe(200);
    expect((await send(streamUrl("user-alice", "?offset=-1"), { headers: bearer(bob) })).status).toBe(403);
    // A token for another audience is refused.
    const wrongAud = await provider.sign("RS256", { iss: provider.issuer, aud: "other", sub: "alice", exp: exp(), streams: ["user-alice"] });
    expect((await send(streamUrl("user-alice", "?offset=-1"), { headers: bearer(wrongAud) })).status).toBe(401);
    // Fetched once, then served from the Worker's cache.
    expect(provider.fetches()).toBe(1);
  });

  it("open a WebSocket as the token's user, which a refresh with the user's next token keeps open", async () => {
    const token = await provider.sign("ES256", { iss: provider.issuer, aud: "streams", sub: "alice", exp: exp(), streams: ["user-alice"] });
    const outcome = await upgrade(`${streamUrl("user-alice", "?offset=-1&live=ws")}&token=${token}`);
    expect(outcome.status, outcome.body).toBe(101);
    const socket = outcome.socket;
    if (!socket) throw new Error("no socket");
    expect((await socket.frame()).data).toEqual([{ for: "alice" }]);
    const later = exp() + 3600;
    socket.ws.send(JSON.stringify({ type: "auth", token: await provider.sign("RS256", { iss: provider.issuer, aud: "streams", sub: "alice", exp: later, streams: ["user-alice"] }) }));
    expect(JSON.parse(await socket.next())).toEqual({ type: "auth", expiresAt: new Date(later * 1000).toISOString() });
    // ?user= cannot name anyone else with auth on.
    expect((await upgrade(`${streamUrl("user-alice", "?offset=-1&live=ws")}&user=bob&token=${token}`)).status).toBe(400);
    socket.ws.send(JSON.stringify({ type: "auth", token: await provider.sign("RS256", { iss: provider.issuer, aud: "streams", sub: "bob", exp: later, streams: ["user-alice"] }) }));
    expect((await socket.closed).code).toBe(4401);
  });
});
