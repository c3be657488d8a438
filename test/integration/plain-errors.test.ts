// What a caller reads when a request is refused: the field and its rule in plain words on real
// routes, and a 401 that says what is wrong with the token it was given.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { buildApp } from "../../src/app";
import { call, expectError } from "./worker";

const json = { "Content-Type": "application/json" };
const ZOD_WORDING = /✖|Invalid input|Invalid option|expected \w+, received|Too (small|big)|Unrecognized key/;

async function refusal(path: string, method: string, body: unknown, code = "bad_request"): Promise<string> {
  const message = await expectError(await call(path, { method, headers: json, body: JSON.stringify(body) }), 400, code);
  expect(message).not.toMatch(ZOD_WORDING);
  return message;
}

describe("plain 400 messages", () => {
  it("a commit policy names the allowed modes and the quorum's range", async () => {
    expect((await call("/v1/stream/plain-policy", { method: "PUT", headers: json })).status).toBe(201);
    expect(await refusal("/v1/estuary/policy/plain-policy", "PUT", { mode: "most" })).toBe("`mode` must be one of required, quorum, all");
    expect(await refusal("/v1/estuary/policy/plain-policy", "PUT", { mode: "quorum", quorum: 0 })).toBe("`quorum` must be an integer from 1 to 1000000");
    expect(await refusal("/v1/estuary/policy/plain-policy", "PUT", [])).toBe("the request body must be a JSON object, not an array");
  });

  it("a subscribe body names the field of the wrong type and the unknown field", async () => {
    expect((await call("/v1/stream/plain-source", { method: "PUT", headers: json })).status).toBe(201);
    expect(await refusal("/v1/estuary/subscribe/plain-source", "POST", { estuaryId: 5 })).toBe("`estuaryId` must be a string, not a number");
    const sink = { sink: { id: "hook", url: "https://receiver.example/hook", secret: "mine" } };
    expect(await refusal("/v1/estuary/subscribe/plain-source", "POST", sink)).toBe("`sink` has unknown field `secret`");
  });

  it("a subscription's stream list states its size (under the subscription protocol's own codes)", async () => {
    expect(await refusal("/v1/stream/__ds/subscriptions/plain-sub/streams", "POST", { streams: [] }, "INVALID_REQUEST")).toBe("`streams` must be a list of at least 1 item");
  });
});

describe("401 for a token that is not a project JWT", () => {
  const app = buildApp();
  const authOn = { ...env, AUTH_MODE: "on" };
  const read = (authorization: string) => app.request("/v1/stream/plain-auth/s", { headers: { Authorization: authorization } }, authOn);

  it("a Bearer token that does not decode is called not a valid JWT", async () => {
    for (const token of ["abc.def.ghi", "not-a-jwt", "a.b"]) {
      const response = await read(`Bearer ${token}`);
      expect(response.headers.get("WWW-Authenticate")).toBe('Bearer realm="streams"');
      expect(await expectError(response, 401, "unauthorized")).toBe("the bearer token is not a valid JWT (a project token has three base64url parts and a sub claim)");
    }
  });

  it("another scheme is told to send a Bearer token", async () => {
    expect(await expectError(await read("Basic dXNlcjpwYXNz"), 401, "unauthorized")).toBe(
      "Authorization must be a Bearer token (a project JWT), or ?token= on a WebSocket upgrade",
    );
  });
});
