// Revocation by token id and by user: tokens refused from then on, the sockets opened with them
// closed with 4401 by the project's sweeps, and entries that expire (the table does not grow).
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { ProjectDO } from "../../src/projects/project-do";
import { projectStub } from "../../src/projects/stub";
import { expectError, streamObject } from "./worker";
import { admin, createProject, createStream, mint, openSocket, request } from "./identity-support";
import { JwksServer, nowSeconds, signingKey, signToken } from "./issuer-keys";

afterEach(() => {
  vi.useRealTimers();
});

const read = (project: string, token: string) => request(`/v1/stream/${project}/room?offset=-1`, { headers: { Authorization: `Bearer ${token}` } });

/** The stream tells its project it holds sockets (its outbox, drained by its alarm), as it would by itself. */
async function reportSockets(key: string): Promise<void> {
  await runDurableObjectAlarm(streamObject(key));
}

async function sweep(project: string): Promise<void> {
  expect(await runDurableObjectAlarm(projectStub(env, project))).toBe(true);
}

describe("revoking tokens", () => {
  it("by jti: that token is refused and its socket closes with 4401; other tokens keep working", async () => {
    await createProject("rv-jti");
    await createStream("rv-jti", "room");
    const doomed = await mint("rv-jti", { scope: ["read"], user: "alice" });
    const kept = await mint("rv-jti", { scope: ["read"], user: "alice" });
    const socket = await openSocket(`/v1/stream/rv-jti/room?offset=now&live=ws&token=${doomed.token}`);
    const other = await openSocket(`/v1/stream/rv-jti/room?offset=now&live=ws&token=${kept.token}`);
    await reportSockets("rv-jti/room");

    const revoked = await admin("POST", "/projects/rv-jti/revocations", { jti: doomed.jti });
    expect(revoked.status).toBe(201);
    expect(await revoked.json()).toEqual({ jti: doomed.jti, expiresAt: expect.any(String) });
    expect(await expectError(await read("rv-jti", doomed.token), 401, "unauthorized")).toBe("token revoked");
    expect((await read("rv-jti", kept.token)).status).toBe(200);
    await sweep("rv-jti");
    expect(await socket.closed).toEqual({ code: 4401, reason: "token revoked" });
    expect(other.ws.readyState).toBe(WebSocket.OPEN);
    other.ws.close(1000);
  });

  it("by user: every token of that user is refused, an issuer's included, and their sockets close", async () => {
    const key = await signingKey("RS256", "rv-user-1");
    const jwks = new JwksServer("https://idp-rv-user.example/jwks.json");
    jwks.keys = [key.publicJwk];
    await createProject("rv-user");
    expect((await admin("POST", "/projects/rv-user/issuers", { issuer: "https://idp-rv-user.example/", jwksUrl: jwks.url })).status).toBe(201);
    await createStream("rv-user", "room");
    const minted = await mint("rv-user", { scope: ["read"], user: "mallory" });
    const bob = await mint("rv-user", { scope: ["read"], user: "bob" });
    const fromIssuer = await signToken(key, { iss: "https://idp-rv-user.example/", sub: "mallory", exp: nowSeconds() + 600, streams: ["room"] });
    const sockets = [
      await openSocket(`/v1/stream/rv-user/room?offset=now&live=ws&token=${minted.token}`),
      await openSocket(`/v1/stream/rv-user/room?offset=now&live=ws&token=${fromIssuer}`),
    ];
    const bobs = await openSocket(`/v1/stream/rv-user/room?offset=now&live=ws&token=${bob.token}`);
    await reportSockets("rv-user/room");

    expect((await admin("POST", "/projects/rv-user/revocations", { user: "mallory", ttlSeconds: 60 })).status).toBe(201);
    for (const token of [minted.token, fromIssuer]) expect(await expectError(await read("rv-user", token), 401, "unauthorized")).toBe("token revoked");
    expect((await read("rv-user", bob.token)).status).toBe(200);
    await sweep("rv-user");
    for (const socket of sockets) expect((await socket.closed).code).toBe(4401);
    expect(bobs.ws.readyState).toBe(WebSocket.OPEN);
    bobs.ws.close(1000);
  });

  it("ends: after ttlSeconds the token works again and the entry is deleted by the alarm", async () => {
    await createProject("rv-expire");
    await createStream("rv-expire", "room");
    const minted = await mint("rv-expire", { scope: ["read"], ttlSeconds: 86_400 });
    expect((await admin("POST", "/projects/rv-expire/revocations", { jti: minted.jti, ttlSeconds: 30 })).status).toBe(201);
    await expectError(await read("rv-expire", minted.token), 401, "unauthorized");
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(Date.now() + 31_000);
    const project = projectStub(env, "rv-expire");
    // Both sweeps (now and after AUTH_CACHE_MS) and the expiry are due: the alarm does them all.
    while (await runDurableObjectAlarm(project));
    const rows = await runInDurableObject(project, (_instance: ProjectDO, state) => state.storage.sql.exec("SELECT * FROM token_revocations").toArray().length);
    expect(rows).toBe(0);
    // A fresh copy of the project's auth data no longer lists it.
    vi.setSystemTime(Date.now() + 11_000);
    expect((await read("rv-expire", minted.token)).status).toBe(200);
  });

  it("refuses a body that names neither or both, and a full table with 409", async () => {
    await createProject("rv-bad");
    for (const body of [{}, { jti: "a", user: "b" }, { jti: "" }, { user: "a\u0000" }, { jti: "a", ttlSeconds: 0 }, { jti: "a", ttlSeconds: 31 * 86_400 }, { jti: "a", extra: true }]) {
      await expectError(await admin("POST", "/projects/rv-bad/revocations", body), 400, "bad_request");
    }
    await expectError(await admin("POST", "/projects/rv-none/revocations", { jti: "a" }), 404, "not_found");
    await runInDurableObject(projectStub(env, "rv-bad"), (instance: ProjectDO) => {
      (instance as unknown as { tokenRevocations: { max: number } }).tokenRevocations.max = 2;
    });
    expect((await admin("POST", "/projects/rv-bad/revocations", { jti: "a" })).status).toBe(201);
    expect((await admin("POST", "/projects/rv-bad/revocations", { user: "b" })).status).toBe(201);
    expect((await admin("POST", "/projects/rv-bad/revocations", { jti: "a" })).status).toBe(201);
    await expectError(await admin("POST", "/projects/rv-bad/revocations", { jti: "c" }), 409, "conflict");
  });
});
