// GET /v1/openapi.json as the Worker serves it: the document, readable by anyone, auth on or off.
// (Its validity and its agreement with the router are checked in Node: test/node/openapi.test.ts.)
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { buildApp } from "../../src/app";
import { openApiDocument } from "../../src/routes/openapi";
import { call } from "./worker";

describe("GET /v1/openapi.json", () => {
  it("answers the OpenAPI 3.1 document as JSON", async () => {
    const response = await call("/v1/openapi.json");
    expect(response.status).toBe(200);
    expect(response.headers.get("Content-Type")).toMatch(/^application\/json/);
    expect(response.headers.get("X-Content-Type-Options")).toBe("nosniff");
    const document = await response.json<{ openapi: string; paths: Record<string, unknown> }>();
    expect(document.openapi).toBe("3.1.0");
    expect(Object.keys(document.paths)).toEqual(expect.arrayContaining(["/v1/stream/{project}/{stream}", "/v1/estuary/subscribe/{project}/{stream}"]));
    expect(document).toEqual(JSON.parse(JSON.stringify(openApiDocument())));
  });

  it("stays readable without a token, or with a bad one, when auth is on", async () => {
    // The production configuration's switch, on this test's bindings.
    const app = buildApp();
    const authOn = { ...env, AUTH_MODE: "on" };
    for (const headers of [{}, { Authorization: "Bearer junk" }] as Record<string, string>[]) {
      const response = await app.request("/v1/openapi.json", { headers }, authOn);
      expect(response.status).toBe(200);
      expect(await response.json()).toMatchObject({ openapi: "3.1.0" });
    }
    // The control: the same configuration does refuse an anonymous stream read.
    expect((await app.request("/v1/stream/acme/openapi-control?offset=-1", {}, authOn)).status).toBe(401);
  });
});
