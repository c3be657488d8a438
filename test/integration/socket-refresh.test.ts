// Token refresh on open WebSockets: {"type":"auth","token"} with a token of the same project and
// user that still covers the stream moves the socket's expiry (it outlives the first token); any
// other token closes the socket with 4401.
import { runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { streamObject } from "./worker";
import { admin, attachments, createProject, createStream, mint, openSocket, type SocketClient } from "./identity-support";
import { JwksServer, nowSeconds, signingKey, signToken } from "./issuer-keys";

afterEach(() => {
  vi.useRealTimers();
});

const auth = (client: SocketClient, token: string) => client.ws.send(JSON.stringify({ type: "auth", token }));

describe("refreshing a socket's token", () => {
  it("moves the expiry to the new token's: the socket outlives the token it was opened with", async () => {
    await createProject("rf-good");
    await createStream("rf-good", "room");
    const first = await mint("rf-good", { scope: ["read"], ttlSeconds: 60, user: "alice", streams: ["room"] });
    const refreshed = await openSocket(`/v1/stream/rf-good/room?offset=now&live=ws&token=${first.token}`);
    const stale = await openSocket(`/v1/stream/rf-good/room?offset=now&live=ws&token=${first.token}`);
    const next = await mint("rf-good", { scope: ["read"], ttlSeconds: 3600, user: "alice", streams: ["room", "other"] });
    auth(refreshed, next.token);
    const answer = (await refreshed.next()) as { type: string; expiresAt: string };
    expect(answer).toEqual({ type: "auth", expiresAt: next.expiresAt });
    expect((await attachments("rf-good/room")).map((state) => state.expiresAt).sort()).toEqual([Date.parse(first.expiresAt), Date.parse(next.expiresAt)]);

    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(Date.parse(first.expiresAt) + 1_000);
    await runDurableObjectAlarm(streamObject("rf-good/room"));
    expect((await stale.closed).code).toBe(4401);
    expect(refreshed.ws.readyState).toBe(WebSocket.OPEN);
    refreshed.ws.close(1000);
  });

  it("closes with 4401 on a token for another user, one not covering the stream, a revoked one, or junk", async () => {
    await createProject("rf-bad");
    await createStream("rf-bad", "room");
    const opened = await mint("rf-bad", { scope: ["read"], user: "alice", streams: ["room"] });
    const revoked = await mint("rf-bad", { scope: ["read"], user: "alice" });
    expect((await admin("POST", "/projects/rf-bad/revocations", { jti: revoked.jti })).status).toBe(201);
    const cases: [string, string][] = [
      [(await mint("rf-bad", { scope: ["read"], user: "bob" })).token, "another user"],
      [(await mint("rf-bad", { scope: ["read"] })).token, "another user"],
      [(await mint("rf-bad", { scope: ["read"], user: "alice", streams: ["other"] })).token, "other streams"],
      [revoked.token, "token revoked"],
      ["not.a.jwt", "not a valid JWT"],
    ];
    for (const [token, says] of cases) {
      const socket = await openSocket(`/v1/stream/rf-bad/room?offset=now&live=ws&token=${opened.token}`);
      auth(socket, token);
      const closed = await socket.closed;
      expect(closed.code).toBe(4401);
      expect(closed.reason).toContain("refresh refused");
      expect(closed.reason).toContain(says);
    }
  });

  it("refreshes a socket opened with an issuer's token with the issuer's next token", async () => {
    const key = await signingKey("ES256", "rf-issuer-1");
    const jwks = new JwksServer("https://idp-rf.example/jwks.json");
    jwks.keys = [key.publicJwk];
    await createProject("rf-issuer");
    expect((await admin("POST", "/projects/rf-issuer/issuers", { issuer: "https://idp-rf.example/", jwksUrl: jwks.url })).status).toBe(201);
    await createStream("rf-issuer", "room");
    const token = (exp: number, sub = "u1") => signToken(key, { iss: "https://idp-rf.example/", sub, exp, streams: ["room"] });
    const socket = await openSocket(`/v1/stream/rf-issuer/room?offset=now&live=ws&token=${await token(nowSeconds() + 60)}`);
    const later = nowSeconds() + 7200;
    auth(socket, await token(later));
    expect(await socket.next()).toEqual({ type: "auth", expiresAt: new Date(later * 1000).toISOString() });
    auth(socket, await token(later, "u2"));
    expect((await socket.closed).code).toBe(4401);
  });

  it("acknowledges a refresh with auth off (there is no expiry to move)", async () => {
    const { call } = await import("./worker");
    expect((await call("/v1/stream/rf-off", { method: "PUT", headers: { "Content-Type": "application/json" } })).status).toBe(201);
    const socket = await openSocket("/v1/stream/rf-off?offset=now&live=ws", env);
    auth(socket, "anything.at.all");
    expect(await socket.next()).toEqual({ type: "auth", expiresAt: null });
    socket.ws.close(1000);
  });
});
