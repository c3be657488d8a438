// Path mapping over HTTP: which URLs name the same stream, which name different ones, which are refused.
import { describe, expect, it } from "vitest";
import { call, expectError } from "./worker";

const text = { "Content-Type": "text/plain" };

describe("stream paths", () => {
  it("treats /v1/stream/{name} and /v1/stream/default/{name} as the same stream", async () => {
    expect((await call("/v1/stream/paths-same", { method: "PUT", headers: text, body: "one" })).status).toBe(201);
    const append = await call("/v1/stream/default/paths-same", { method: "POST", headers: text, body: "+two" });
    expect(append.status).toBe(204);

    expect(await (await call("/v1/stream/paths-same?offset=-1")).text()).toBe("one+two");
    expect(await (await call("/v1/stream/default/paths-same?offset=-1")).text()).toBe("one+two");
    const again = await call("/v1/stream/default/paths-same", { method: "PUT", headers: text });
    expect(again.status).toBe(200);
  });

  it("keeps streams of the same name in different projects apart", async () => {
    expect((await call("/v1/stream/p1/paths-split", { method: "PUT", headers: text, body: "in p1" })).status).toBe(201);
    await expectError(await call("/v1/stream/p2/paths-split"), 404, "not_found");
    await expectError(await call("/v1/stream/paths-split"), 404, "not_found");

    expect((await call("/v1/stream/p2/paths-split", { method: "PUT", headers: text, body: "in p2" })).status).toBe(201);
    expect(await (await call("/v1/stream/p1/paths-split?offset=-1")).text()).toBe("in p1");
    expect(await (await call("/v1/stream/p2/paths-split?offset=-1")).text()).toBe("in p2");
  });

  it("accepts a 128-character stream name", async () => {
    const name = "n".repeat(128);
    expect((await call(`/v1/stream/${name}`, { method: "PUT", headers: text })).status).toBe(201);
    expect((await call(`/v1/stream/${name}`, { method: "HEAD" })).status).toBe(200);
  });

  it.each([
    ["a path three segments deep", "/v1/stream/a/b/c"],
    ["a name with an encoded space", "/v1/stream/bad%20name"],
    ["a 129-character name", `/v1/stream/${"n".repeat(129)}`],
    ["a 129-character project", `/v1/stream/${"p".repeat(129)}/x`],
    ["an empty name", "/v1/stream/"],
    ["an empty project", "/v1/stream//x"],
  ])("refuses %s with 400 on every method", async (_case, path) => {
    for (const method of ["GET", "PUT", "POST", "DELETE"]) {
      const body = method === "PUT" || method === "POST" ? "x" : undefined;
      await expectError(await call(path, { method, headers: text, body }), 400, "bad_request");
    }
  });

  it("answers HEAD on a bad path with 400 and no body", async () => {
    const response = await call("/v1/stream/a/b/c", { method: "HEAD" });
    expect(response.status).toBe(400);
    expect(await response.text()).toBe("");
  });
});
