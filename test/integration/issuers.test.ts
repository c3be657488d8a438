// Issuers per project: tokens from the users' own auth provider (RS256, ES256, EdDSA), verified
// against its JWKS; key rotation and unknown kids; wrong aud and iss, alg none and HS/RS confusion
// refused; a JWKS that cannot be fetched is a 401, never a 5xx, and a cached key keeps working.
import { afterEach, describe, expect, it, vi } from "vitest";
import { expectError } from "./worker";
import { admin, attachments, authOn, createProject, createStream, openSocket, request } from "./identity-support";
import { hmacToken, JwksServer, nowSeconds, signingKey, signToken, type Alg, type SigningKey } from "./issuer-keys";

afterEach(() => {
  vi.useRealTimers();
});

let serial = 0;

/** A project with one stream "room" and an issuer whose JWKS (a fresh URL) holds `keys`. */
async function projectWithIssuer(name: string, keys: SigningKey[], extra: Record<string, unknown> = {}): Promise<{ jwks: JwksServer; iss: string }> {
  const iss = `https://idp-${name}.example/`;
  const jwks = new JwksServer(`https://idp-${name}.example/.well-known/jwks-${serial++}.json`);
  jwks.keys = keys.map((key) => key.publicJwk);
  await createProject(name);
  await createStream(name, "room");
  await createStream(name, "other");
  const added = await admin("POST", `/projects/${name}/issuers`, { issuer: iss, jwksUrl: jwks.url, ...extra });
  expect(added.status).toBe(201);
  return { jwks, iss };
}

const read = (project: string, stream: string, token: string) =>
  request(`/v1/stream/${project}/${stream}?offset=-1`, { headers: { Authorization: `Bearer ${token}` } });

const claims = (iss: string, extra: Record<string, unknown> = {}) => ({ iss, sub: "user-1", exp: nowSeconds() + 600, streams: ["room"], ...extra });

describe("issuer administration", () => {
  it("adds an issuer with defaults, lists it, deletes it, and refuses bad ones with 400", async () => {
    await createProject("iss-admin");
    const added = await admin("POST", "/projects/iss-admin/issuers", { issuer: "https://a.example/", jwksUrl: "https://a.example/jwks.json" });
    expect(added.status).toBe(201);
    const issuer = { issuer: "https://a.example/", jwksUrl: "https://a.example/jwks.json", userClaim: "sub", scopes: ["read"], streamsClaim: "streams" };
    expect(await added.json()).toEqual(issuer);
    expect(await (await admin("GET", "/projects/iss-admin/issuers")).json()).toEqual({ issuers: [issuer] });
    for (const jwksUrl of ["http://a.example/jwks.json", "https://10.0.0.1/jwks.json", "https://169.254.169.254/keys", "http://127.0.0.1:9/jwks.json", "not a url"]) {
      await expectError(await admin("POST", "/projects/iss-admin/issuers", { issuer: "x", jwksUrl }), 400, "bad_request");
    }
    await expectError(await admin("POST", "/projects/iss-admin/issuers", { issuer: "x", jwksUrl: "https://a.example/k", scopes: ["admin"] }), 400, "bad_request");
    await expectError(await admin("POST", "/projects/iss-admin/issuers", { issuer: "x", jwksUrl: "https://a.example/k", extra: 1 }), 400, "bad_request");
    await expectError(await admin("POST", "/projects/iss-missing/issuers", { issuer: "x", jwksUrl: "https://a.example/k" }), 404, "not_found");
    await expectError(await admin("DELETE", `/projects/iss-admin/issuers?issuer=${encodeURIComponent("https://b.example/")}`), 404, "not_found");
    await expectError(await admin("DELETE", "/projects/iss-admin/issuers"), 400, "bad_request");
    expect((await admin("DELETE", `/projects/iss-admin/issuers?issuer=${encodeURIComponent("https://a.example/")}`)).status).toBe(204);
    expect(await (await admin("GET", "/projects/iss-admin/issuers")).json()).toEqual({ issuers: [] });
  });

  it("accepts a loopback JWKS over http only with WEBHOOK_ALLOW_LOOPBACK on", async () => {
    await createProject("iss-loopback");
    const body = JSON.stringify({ issuer: "local", jwksUrl: "http://127.0.0.1:9999/jwks.json" });
    const post = (bindings: object) =>
      request("/v1/admin/projects/iss-loopback/issuers", { method: "POST", headers: { Authorization: "Bearer identity-test-admin-token", "Content-Type": "application/json" }, body }, bindings);
    await expectError(await post(authOn), 400, "bad_request");
    expect((await post({ ...authOn, WEBHOOK_ALLOW_LOOPBACK: "on" })).status).toBe(201);
  });
});

describe("tokens from an issuer", () => {
  for (const alg of ["RS256", "ES256", "EdDSA"] satisfies Alg[]) {
    it(`${alg}: reads the streams its claim names and nothing else, as its user`, async () => {
      const key = await signingKey(alg, `${alg}-1`);
      const project = `iss-${alg.toLowerCase()}`;
      const { iss } = await projectWithIssuer(project, [key]);
      const token = await signToken(key, claims(iss, { sub: `auth0|${alg}` }));
      expect((await read(project, "room", token)).status).toBe(200);
      await expectError(await read(project, "other", token), 403, "forbidden");
      // Read is the issuer's default at most: no write.
      await expectError(await request(`/v1/stream/${project}/room`, { method: "POST", headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" }, body: "{}" }), 403, "forbidden");
      const socket = await openSocket(`/v1/stream/${project}/room?offset=now&live=ws&token=${token}`);
      expect(await attachments(`${project}/room`)).toEqual([expect.objectContaining({ user: `auth0|${alg}`, kid: null })]);
      socket.ws.close(1000);
    });
  }

  it("takes the user from userClaim, streams from streamsClaim, and narrows scopes by the token's own scope", async () => {
    const key = await signingKey("RS256", "claims-1");
    const { iss } = await projectWithIssuer("iss-claims", [key], { userClaim: "uid", streamsClaim: "https://acme/streams", scopes: ["write"] });
    const write = (token: string) => request("/v1/stream/iss-claims/room", { method: "POST", headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" }, body: "{}" });
    const writer = await signToken(key, { iss, uid: 42, exp: nowSeconds() + 600, "https://acme/streams": ["room"], scope: "openid profile" });
    expect((await write(writer)).status).toBe(204);
    const reader = await signToken(key, { iss, uid: 42, exp: nowSeconds() + 600, "https://acme/streams": ["room"], scope: "openid read" });
    await expectError(await write(reader), 403, "forbidden");
    expect((await read("iss-claims", "room", reader)).status).toBe(200);
    const noUser = await signToken(key, { iss, sub: "x", exp: nowSeconds() + 600, "https://acme/streams": ["room"] });
    expect(await expectError(await read("iss-claims", "room", noUser), 401, "unauthorized")).toContain("uid");
  });

  it("reaches no private stream without its streams claim", async () => {
    const key = await signingKey("ES256", "nostreams-1");
    const { iss } = await projectWithIssuer("iss-nostreams", [key]);
    const token = await signToken(key, claims(iss, { streams: undefined }));
    await expectError(await read("iss-nostreams", "room", token), 403, "forbidden");
  });

  it("checks exp (required), nbf and aud with bounded clock skew, and the issuer by iss", async () => {
    const key = await signingKey("RS256", "time-1");
    const { iss } = await projectWithIssuer("iss-time", [key], { audience: "streams-api" });
    const ok = claims(iss, { aud: ["other", "streams-api"] });
    expect((await read("iss-time", "room", await signToken(key, ok))).status).toBe(200);
    expect((await read("iss-time", "room", await signToken(key, { ...ok, exp: nowSeconds() - 30, nbf: nowSeconds() + 30 }))).status).toBe(200);
    const refused: [Record<string, unknown>, string][] = [
      [{ ...ok, exp: undefined }, "exp"],
      [{ ...ok, exp: nowSeconds() - 120 }, "expired"],
      [{ ...ok, exp: nowSeconds() + 31 * 86_400 }, "30 days"],
      [{ ...ok, nbf: nowSeconds() + 120 }, "nbf"],
      [{ ...ok, aud: "someone-else" }, "aud"],
      [{ ...ok, aud: undefined }, "aud"],
      [{ ...ok, iss: "https://elsewhere.example/" }, "iss"],
      [{ ...ok, streams: "room" }, "streams"],
    ];
    for (const [payload, says] of refused) {
      expect(await expectError(await read("iss-time", "room", await signToken(key, payload)), 401, "unauthorized")).toContain(says);
    }
  });

  it("refuses alg none, HS256 signed with the issuer's public key, a key of the wrong type, and a forged signature", async () => {
    const key = await signingKey("RS256", "attack-1");
    const ec = await signingKey("ES256", "attack-ec");
    const { iss } = await projectWithIssuer("iss-attack", [key, { ...ec, publicJwk: { ...ec.publicJwk, alg: undefined, kid: "attack-ec" } as SigningKey["publicJwk"] }]);
    const payload = claims(iss);
    const body = (token: string) => token.slice(0, token.lastIndexOf("."));
    const signed = await signToken(key, payload);
    const none = `${btoa(JSON.stringify({ alg: "none", typ: "JWT" })).replace(/=+$/, "")}.${body(signed).split(".")[1]}.AAAA`;
    expect(await expectError(await read("iss-attack", "room", none), 401, "unauthorized")).toContain("alg none");
    for (const secret of [JSON.stringify(key.publicJwk), key.publicJwk.n ?? ""]) {
      await expectError(await read("iss-attack", "room", await hmacToken(secret, payload, { kid: key.kid })), 401, "unauthorized");
    }
    // An RS256 token naming the EC key, and an ES256 token naming the RSA key.
    expect(await expectError(await read("iss-attack", "room", await signToken(key, payload, { kid: "attack-ec" })), 401, "unauthorized")).toContain("not a RS256");
    expect(await expectError(await read("iss-attack", "room", await signToken(ec, payload, { kid: key.kid })), 401, "unauthorized")).toContain("not a ES256");
    const other = await signingKey("RS256", "attack-1");
    expect(await expectError(await read("iss-attack", "room", await signToken(other, payload)), 401, "unauthorized")).toContain("signature");
    await expectError(await read("iss-attack", "room", await signToken(key, payload, { alg: "PS256" })), 401, "unauthorized");
    await expectError(await read("iss-attack", "room", await signToken(key, payload, { kid: undefined })), 401, "unauthorized");
  });

  it("follows a key rotation: an unknown kid refetches the JWKS, at most once per few seconds", async () => {
    const first = await signingKey("ES256", "rot-1");
    const second = await signingKey("ES256", "rot-2");
    const { jwks, iss } = await projectWithIssuer("iss-rotate", [first]);
    expect((await read("iss-rotate", "room", await signToken(first, claims(iss)))).status).toBe(200);
    expect(jwks.requests).toBe(1);
    jwks.keys = [first.publicJwk, second.publicJwk];
    // Fetched a moment ago: the unknown kid waits for the refetch gap.
    expect(await expectError(await read("iss-rotate", "room", await signToken(second, claims(iss))), 401, "unauthorized")).toContain("rot-2");
    expect(jwks.requests).toBe(1);
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(Date.now() + 5_001);
    expect((await read("iss-rotate", "room", await signToken(second, claims(iss)))).status).toBe(200);
    expect(jwks.requests).toBe(2);
    // Known kids are served from the cache.
    expect((await read("iss-rotate", "room", await signToken(first, claims(iss)))).status).toBe(200);
    expect(jwks.requests).toBe(2);
  });

  it("answers 401 (never 5xx) when the JWKS cannot be fetched, and a cached key keeps working", async () => {
    const key = await signingKey("RS256", "down-1");
    const { jwks, iss } = await projectWithIssuer("iss-down", [key]);
    jwks.failure = () => new Response("oops", { status: 503 });
    expect(await expectError(await read("iss-down", "room", await signToken(key, claims(iss))), 401, "unauthorized")).toContain("could not be fetched");
    jwks.failure = null;
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(Date.now() + 5_001);
    const token = await signToken(key, claims(iss, { exp: nowSeconds() + 2 * 86_400 }));
    expect((await read("iss-down", "room", token)).status).toBe(200);
    // A day later the copy is stale; the issuer is down (even throwing), and the old key still works.
    jwks.failure = () => {
      throw new TypeError("network down");
    };
    vi.setSystemTime(Date.now() + 25 * 3_600_000);
    const before = jwks.requests;
    expect((await read("iss-down", "room", token)).status).toBe(200);
    expect(jwks.requests).toBe(before + 1);
  });

  it("honours the JWKS's Cache-Control max-age within bounds", async () => {
    const key = await signingKey("EdDSA", "cc-1");
    const { jwks, iss } = await projectWithIssuer("iss-cache", [key]);
    jwks.cacheControl = "public, max-age=120";
    vi.useFakeTimers({ toFake: ["Date"] });
    // The first fetch happened when the project's stream was read: make it now, with the header.
    vi.setSystemTime(Date.now() + 11 * 60_000);
    const token = () => signToken(key, claims(iss));
    expect((await read("iss-cache", "room", await token())).status).toBe(200);
    const fetched = jwks.requests;
    vi.setSystemTime(Date.now() + 100_000);
    expect((await read("iss-cache", "room", await token())).status).toBe(200);
    expect(jwks.requests).toBe(fetched);
    vi.setSystemTime(Date.now() + 30_000);
    expect((await read("iss-cache", "room", await token())).status).toBe(200);
    expect(jwks.requests).toBe(fetched + 1);
  });
});
