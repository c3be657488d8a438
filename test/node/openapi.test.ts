// The OpenAPI document (GET /v1/openapi.json): valid OpenAPI 3.1 by a real validator, and in step
// with the router: every route the app serves is documented with its method, and nothing else is.
import { compileErrors, validate } from "@readme/openapi-parser";
import { inspectRoutes } from "hono/dev";
import { readFileSync } from "node:fs";
import { describe, expect, expectTypeOf, it } from "vitest";
import type { z } from "zod";
import { buildApp } from "../../src/app";
import { ERROR_CODES, statusOf } from "../../src/errors";
import type { ProjectConnections } from "../../src/projects/connections";
import type { ProjectView } from "../../src/projects/project-do";
import type { ListedProject } from "../../src/projects/directory";
import type { ListedStream } from "../../src/projects/registry";
import type { ProjectListSchema, ProjectViewSchema, StreamListSchema } from "../../src/routes/admin/bodies";
import type { ProjectConnectionsSchema, StreamConnectionsSchema } from "../../src/routes/connections/schemas";
import { openApiDocument } from "../../src/routes/openapi";
import { READ_QUERY, REQUEST_HEADERS, RESPONSE_HEADERS } from "../../src/routes/streams/schemas";
import type { StreamConnections } from "../../src/stream/commands";

type Json = Record<string, unknown>;
type Paths = Record<string, Record<string, Json>>;

const document = openApiDocument();
const paths = document.paths as Paths;
const METHODS = ["get", "head", "put", "post", "patch", "delete", "options"];

/** A path with its parameter names dropped, so `/:stream` and `/{estuaryId}` compare by shape. */
const shape = (path: string) => path.replace(/:\w+|\{\w+\}/g, "{}");

function operations(): { path: string; method: string; operation: Json }[] {
  return Object.entries(paths).flatMap(([path, item]) =>
    Object.entries(item)
      .filter(([method]) => METHODS.includes(method))
      .map(([method, operation]) => ({ path, method, operation })),
  );
}

/** What the router serves, by path shape: methods of routes, and which paths run the CORS middleware. */
function served(): { methods: Map<string, Set<string>>; cors: Set<string> } {
  const methods = new Map<string, Set<string>>();
  const cors = new Set<string>();
  for (const route of inspectRoutes(buildApp())) {
    // "*" routes are the catch-alls that refuse paths no route names (400/404).
    if (route.path.endsWith("*")) continue;
    const path = shape(route.path);
    if (route.isMiddleware) {
      // hono/cors answers every OPTIONS request itself: a path with it serves preflights.
      if (route.name === "cors") cors.add(path);
      continue;
    }
    const set = methods.get(path) ?? new Set<string>();
    set.add(route.method.toLowerCase());
    methods.set(path, set);
  }
  return { methods, cors };
}

describe("the OpenAPI document", () => {
  it("is valid OpenAPI 3.1", async () => {
    expect(document.openapi).toBe("3.1.0");
    // External refs off: the document is self-contained, and the check never touches the network.
    const result = await validate(structuredClone(document) as never, { resolve: { external: false } });
    expect(result.valid, result.valid ? "" : compileErrors(result)).toBe(true);
    expect(result.warnings).toEqual([]);
  });

  it("states the package's version", () => {
    const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };
    expect((document.info as Json).version).toBe(pkg.version);
  });

  it("documents every route the app serves, with its methods", () => {
    const documented = new Map(Object.entries(paths).map(([path, item]) => [shape(path), item]));
    for (const [path, methods] of served().methods) {
      const item = documented.get(path);
      expect(item, `${path} is served but not documented`).toBeDefined();
      for (const method of methods) {
        // "all" is the 405 answer for methods a path does not support; the path itself is enough.
        if (method === "all") continue;
        expect(item?.[method], `${method.toUpperCase()} ${path} is served but not documented`).toBeDefined();
      }
    }
  });

  it("documents nothing the app does not serve", () => {
    const { methods, cors } = served();
    for (const { path, method } of operations()) {
      const serving = methods.get(shape(path));
      expect(serving, `${path} is documented but not served`).toBeDefined();
      // Hono answers HEAD through GET routes; preflights are answered by the CORS middleware.
      const ok = serving?.has(method) || (method === "head" && serving?.has("get")) || (method === "options" && (cors.has(shape(path)) || serving?.has("options")));
      expect(ok, `${method.toUpperCase()} ${path} is documented but not served`).toBe(true);
    }
  });

  it("gives every operation a unique id, a security requirement of a declared scheme, and responses", () => {
    const schemes = Object.keys((document.components as { securitySchemes: Json }).securitySchemes);
    const ids = operations().map(({ operation }) => operation.operationId);
    expect(new Set(ids).size).toBe(ids.length);
    for (const { path, method, operation } of operations()) {
      const security = operation.security as Json[];
      expect(Array.isArray(security), `${method} ${path}`).toBe(true);
      for (const requirement of security) for (const name of Object.keys(requirement)) expect(schemes).toContain(name);
      expect(Object.keys(operation.responses as Json).length, `${method} ${path}`).toBeGreaterThan(0);
    }
  });

  it("describes the stream protocol's query, request headers and response headers from the parsers' schemas", () => {
    const stream = paths["/v1/stream/{project}/{stream}"] as Record<string, { parameters?: Json[]; responses: Record<string, Json> }>;
    const names = (method: string) => (stream[method]?.parameters ?? []).map((parameter) => parameter.name);
    const all = ["get", "put", "post"].flatMap(names);
    expect(new Set(all)).toEqual(new Set([...Object.keys(READ_QUERY), ...Object.keys(REQUEST_HEADERS)]));
    expect(names("put")).toContain("Stream-Forked-From");
    expect(names("post")).toEqual(expect.arrayContaining(["Producer-Id", "Producer-Epoch", "Producer-Seq", "Stream-Seq"]));
    const read = stream.get ?? { parameters: [], responses: {} };
    expect(read.parameters?.find((parameter) => parameter.name === "live")?.schema).toEqual({ type: "string", enum: ["long-poll", "sse", "ws"] });
    expect(Object.keys(read.responses)).toEqual(expect.arrayContaining(["101", "200", "204", "304", "400", "401", "403", "404", "410", "426", "429", "431"]));
    expect(Object.keys(read.responses["200"]?.content as Json)).toEqual(expect.arrayContaining(["text/event-stream", "application/json"]));
    expect(Object.keys((document.components as { headers: Json }).headers).sort()).toEqual(Object.keys(RESPONSE_HEADERS).sort());
  });

  it("has one shared error response per error code, in the error shape, with the code's status", () => {
    const components = document.components as { responses: Record<string, Json>; schemas: Record<string, Json> };
    expect(Object.keys(components.responses).sort()).toEqual([...ERROR_CODES].sort());
    for (const code of ERROR_CODES) expect(components.responses[code]?.description).toMatch(new RegExp(`^${statusOf(code)} ${code}`));
    expect(components.schemas.Error).toMatchObject({ properties: { error: { properties: { code: { enum: [...ERROR_CODES] } } } } });
  });

  it("lets anyone read the service routes, and public streams be read without a token", () => {
    expect(paths["/v1/openapi.json"]?.get?.security).toEqual([]);
    expect(paths["/"]?.get?.security).toEqual([]);
    expect(paths["/health"]?.get?.security).toEqual([]);
    expect(paths["/v1/connections/{project}"]?.get?.security).toEqual([{ projectToken: ["read"] }]);
    expect(paths["/v1/connections/{project}/{stream}"]?.get?.security).toEqual([{ projectToken: ["read"] }]);
    expect(paths["/v1/stream/{project}/{stream}"]?.get?.security).toEqual([{ projectToken: ["read"] }, {}]);
    expect(paths["/v1/stream/{project}/{stream}"]?.post?.security).toEqual([{ projectToken: ["write"] }]);
    expect(paths["/v1/admin/projects"]?.post?.security).toEqual([{ adminToken: [] }]);
  });

  it("describes the project view with the shape the ProjectDO returns", () => {
    expectTypeOf<z.infer<typeof ProjectViewSchema>>().toEqualTypeOf<ProjectView>();
  });

  it("describes the listings' page query and the shapes the registries return", () => {
    for (const path of ["/v1/admin/projects", "/v1/admin/projects/{project}/streams"]) {
      const list = paths[path]?.get as { parameters: Json[]; security: Json[] };
      expect(list.security).toEqual([{ adminToken: [] }]);
      expect(list.parameters.map((p) => [p.name, p.in, p.required])).toEqual([
        ["limit", "query", false],
        ["after", "query", false],
      ]);
    }
    expectTypeOf<z.infer<typeof ProjectListSchema>["projects"][number]>().toEqualTypeOf<ListedProject>();
    expectTypeOf<z.infer<typeof StreamListSchema>["streams"][number]>().toEqualTypeOf<ListedStream>();
  });

  it("describes the connection counts with the shapes the objects return", () => {
    expectTypeOf<z.infer<typeof StreamConnectionsSchema>>().toEqualTypeOf<StreamConnections>();
    expectTypeOf<z.infer<typeof ProjectConnectionsSchema>>().toEqualTypeOf<ProjectConnections>();
  });
});
