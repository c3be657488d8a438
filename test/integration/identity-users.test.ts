// A user per connection: minted tokens carry a `user` claim and an id, the verified token's user is
// the request's, and a WebSocket keeps it in its attachment; with auth off a reader names itself
// with ?user=, with auth on ?user= is refused.
import { env } from "cloudflare:workers";
import { decode } from "hono/jwt";
import { describe, expect, it } from "vitest";
import { call, expectError } from "./worker";
import { attachments, createProject, createStream, mint, openSocket, request } from "./identity-support";

describe("a user per connection", () => {
  it("mints tokens with the user claim and a jti", async () => {
    await createProject("users-mint");
    const minted = await mint("users-mint", { scope: ["read"], user: "auth0|alice" });
    expect(decode(minted.token).payload).toMatchObject({ sub: "users-mint", user: "auth0|alice", jti: minted.jti });
    expect(minted.jti).toMatch(/^[0-9a-f-]{36}$/);
    const refused = await request("/v1/admin/projects/users-mint/tokens", {
      method: "POST",
      headers: { Authorization: "Bearer identity-test-admin-token", "Content-Type": "application/json" },
      body: JSON.stringify({ scope: ["read"], user: "a\nb" }),
    });
    await expectError(refused, 400, "bad_request");
  });

  it("keeps the token's user and id in the socket's attachment (auth on)", async () => {
    await createProject("users-ws");
    await createStream("users-ws", "room");
    const { token, jti } = await mint("users-ws", { scope: ["read"], user: "bob" });
    const client = await openSocket(`/v1/stream/users-ws/room?offset=now&live=ws&token=${encodeURIComponent(token)}`);
    expect(await attachments("users-ws/room")).toEqual([expect.objectContaining({ user: "bob", jti })]);
    client.ws.close(1000);
  });

  it("refuses ?user= with auth on: only a verified token names the user", async () => {
    await createProject("users-param");
    await createStream("users-param", "room");
    const { token } = await mint("users-param", { scope: ["read"], user: "bob" });
    const path = `/v1/stream/users-param/room?offset=now&live=ws&user=mallory&token=${encodeURIComponent(token)}`;
    const message = await expectError(await request(path, { headers: { Upgrade: "websocket" } }), 400, "bad_request");
    expect(message).toContain("auth off");
  });

  it("takes ?user= from a WebSocket reader with auth off, and refuses a malformed one", async () => {
    expect((await call("/v1/stream/users-off", { method: "PUT", headers: { "Content-Type": "application/json" } })).status).toBe(201);
    const alice = await openSocket("/v1/stream/users-off?offset=now&live=ws&user=alice", env);
    const nobody = await openSocket("/v1/stream/users-off?offset=now&live=ws", env);
    const users = (await attachments("default/users-off")).map((state) => state.user);
    expect(users.sort()).toEqual(["alice", null].sort());
    await expectError(await call("/v1/stream/users-off?offset=now&live=ws&user=", { headers: { Upgrade: "websocket" } }), 400, "bad_request");
    alice.ws.close(1000);
    nobody.ws.close(1000);
  });
});
