// The OpenAPI 3.1 document's machinery: zod schemas turned into JSON Schema, shared components
// (error responses, response headers, security schemes), and one function that turns the
// sections (one file per resource beside this one) into `paths`. Nothing here names a route.
import { z } from "zod";
import type { Scope } from "../../auth/token";
import { ERROR_CODES, ErrorBodySchema, statusOf, type ErrorCode } from "../../errors";
import { ADDRESS_PATHS } from "../../http/address";
import { MAX_HEADER_BYTES } from "../../http/security";
import { MAX_APPEND_BYTES } from "../streams/limits";
import { RESPONSE_HEADERS, type ResponseHeaderName } from "../streams/schemas";

export type Json = { [key: string]: unknown };

/** Draft 2020-12 JSON Schema, which OpenAPI 3.1 uses as is. Requests are described as clients send them. */
export function jsonSchema(schema: z.ZodType, io: "input" | "output" = "output"): Json {
  return z.toJSONSchema(schema, { target: "openapi-3.1", io }) as Json;
}

/** The `.meta({description})` of a schema. */
export function descriptionOf(schema: z.ZodType): string {
  return z.globalRegistry.get(schema)?.description ?? "";
}

/** A parameter's schema, with the zod `.meta({description})` lifted to the parameter itself. */
export function parameter(name: string, where: "query" | "header" | "path", schema: z.ZodType): Json {
  const { description, ...rest } = jsonSchema(schema, "input");
  return { name, in: where, required: where === "path", description, schema: rest };
}

/** Who may call an operation. */
export type Auth =
  | { token: Scope }
  /** Reads: a token with this scope, or none at all when the stream is public. */
  | { tokenUnlessPublic: Scope }
  | "admin"
  /** The callback token a wake carries (reserved subscription APIs), not a project token. */
  | "callbackToken"
  | "anyone";

function security(auth: Auth): Json[] {
  if (auth === "anyone") return [];
  if (auth === "admin") return [{ adminToken: [] }];
  if (auth === "callbackToken") return [{ callbackToken: [] }];
  // Scopes as roles of a bearer scheme are allowed by 3.1; an empty requirement makes auth optional.
  if ("token" in auth) return [{ projectToken: [auth.token] }];
  return [{ projectToken: [auth.tokenUnlessPublic] }, {}];
}

export interface Operation {
  id: string;
  summary: string;
  description?: string;
  auth: Auth;
  parameters?: Json[];
  body?: Json;
  /** Success responses, and error responses that differ from the shared one (extra headers). */
  responses: Record<number, Json>;
  /** The shared error responses the operation can give besides those in `responses`. */
  errors: ErrorCode[];
}

export type Method = "get" | "head" | "put" | "post" | "patch" | "delete" | "options";

export interface Route {
  /** The full path as the app routes it, with `:param`s. */
  path: string;
  description?: string;
  operations: Partial<Record<Method, Operation>>;
  /** Appended to the operation ids, so that one operation served on two paths has two unique ids. */
  idSuffix?: string;
}

export type Operations = Route["operations"];

/** One resource's part of the document: its routes, and the body schemas they name. */
export interface Section {
  tag: { name: string; description: string };
  routes: Route[];
  schemas?: Record<string, BodySchema>;
}

/** Routes on both address shapes: /{project}/{stream}, and /{stream} in the project "default". */
export function addressed(prefix: string, operations: Operations, options: { note?: string; rename?: Record<string, string> } = {}): Route[] {
  const { note, rename = {} } = options;
  return ADDRESS_PATHS.map((address) => {
    const path = prefix + address.replace(/:(\w+)/g, (whole, name: string) => (rename[name] ? `:${rename[name]}` : whole));
    if (address.includes(":project")) return { path, operations, ...(note ? { description: note } : {}) };
    const description = [`The same as ${prefix}/{project}/... in the project "default".`, note].filter(Boolean).join(" ");
    return { path, operations, description, idSuffix: "InDefaultProject" };
  });
}

/** A CORS preflight, answered by the CORS middleware of the project routes. */
export function preflight(id: string): Operation {
  return {
    id,
    summary: "CORS preflight",
    description: "With auth on, only origins in the project's corsOrigins get Access-Control-Allow-Origin; with auth off, any origin.",
    auth: "anyone",
    responses: { 204: noBody("Preflight answer (Access-Control-Allow-Methods, -Headers, -Max-Age, and -Origin when allowed).") },
    errors: [],
  };
}

/** A response without a body, naming its headers (components.headers). */
export function noBody(description: string, headers: ResponseHeaderName[] = []): Json {
  return headers.length === 0 ? { description } : { description, headers: headerRefs(...headers) };
}

/** A JSON response whose body is a named component schema. */
export function jsonResponse(description: string, schema: string, headers: ResponseHeaderName[] = []): Json {
  const response: Json = { description, content: { "application/json": { schema: schemaRef(schema) } } };
  return headers.length === 0 ? response : { ...response, headers: headerRefs(...headers) };
}

/** A required JSON request body whose schema is a named component schema. */
export function jsonBody(schema: string): Json {
  return { required: true, content: { "application/json": { schema: schemaRef(schema) } } };
}

/** An error response like the shared one, with headers it carries on this operation. */
export function errorWith(description: string, headers: ResponseHeaderName[] = []): Json {
  const response: Json = { description, content: { "application/json": { schema: schemaRef("Error") } } };
  return headers.length === 0 ? response : { ...response, headers: headerRefs(...headers) };
}

/** References to response headers (components.headers). */
export function headerRefs(...names: ResponseHeaderName[]): Json {
  return Object.fromEntries(names.map((name) => [name, { $ref: `#/components/headers/${name}` }]));
}

function schemaRef(name: string): Json {
  return { $ref: `#/components/schemas/${name}` };
}

/** A body schema and which side of it the document shows: what clients send, or what they get. */
export interface BodySchema {
  schema: z.ZodType;
  io: "input" | "output";
}

const ERROR_DESCRIPTIONS: Record<ErrorCode, string> = {
  bad_request: "Malformed request: path, query, headers or body (the message says which).",
  unauthorized: "Missing, malformed, forged, expired or revoked token (also: an anonymous read of a private or missing stream).",
  forbidden: "A valid token used outside its project, scope or streams.",
  not_found: "No such stream, estuary, subscription or project (or the admin API is off).",
  method_not_allowed: "The method is not supported on this path.",
  conflict: "The request conflicts with the current state.",
  gone: "The stream was deleted but is still referenced by forks, or (with earliestOffset and tailOffset in the body and a Stream-Earliest-Offset header) the offset read was trimmed by the stream's retention policy.",
  too_large: `Request body above the limit (${MAX_APPEND_BYTES / 1024 / 1024} MiB for stream data; the estuary and admin routes' JSON bodies have a smaller one, which the message names).`,
  headers_too_large: `Request headers above ${MAX_HEADER_BYTES / 1024} KiB in all.`,
  rate_limited: "Too many writes, subscribes or WebSocket upgrades (auth on); retry after Retry-After seconds.",
  too_many_sockets: "The stream already has WS_MAX_PER_STREAM open WebSockets.",
  upgrade_required: "live=ws without a WebSocket upgrade (Upgrade: websocket).",
  storage_full: "The stream's Durable Object is near the platform's storage cap: set a retention policy (Stream-Retention) or delete data.",
  internal: "Unexpected server error.",
};

const ERROR_HEADERS: Partial<Record<ErrorCode, ResponseHeaderName[]>> = {
  unauthorized: ["WWW-Authenticate"],
  rate_limited: ["Retry-After"],
  gone: ["Stream-Earliest-Offset", "Cache-Control"],
};

const ERROR_BODY: BodySchema = { schema: ErrorBodySchema, io: "output" };

function errorComponents(): Json {
  return Object.fromEntries(
    ERROR_CODES.map((code) => {
      const response = errorWith(`${statusOf(code)} ${code}: ${ERROR_DESCRIPTIONS[code]}`, ERROR_HEADERS[code] ?? []);
      return [code, response];
    }),
  );
}

function operationObject(operation: Operation, route: Route, tag: string): Json {
  const responses: Json = {};
  for (const [status, response] of Object.entries(operation.responses)) responses[status] = response;
  for (const code of operation.errors) {
    responses[String(statusOf(code))] ??= { $ref: `#/components/responses/${code}` };
  }
  return {
    operationId: operation.id + (route.idSuffix ?? ""),
    summary: operation.summary,
    ...(operation.description ? { description: operation.description } : {}),
    tags: [tag],
    security: security(operation.auth),
    ...(operation.parameters?.length ? { parameters: operation.parameters } : {}),
    ...(operation.body ? { requestBody: operation.body } : {}),
    responses,
  };
}

/** `/v1/stream/:project/:stream` -> `/v1/stream/{project}/{stream}`, and the names of its params. */
function template(path: string): { path: string; params: string[] } {
  const params: string[] = [];
  const converted = path.replace(/:(\w+)/g, (_, name: string) => {
    params.push(name);
    return `{${name}}`;
  });
  return { path: converted, params };
}

export interface DocumentParts {
  info: Json;
  sections: Section[];
  /** Descriptions of the path parameters, by name. */
  pathParams: Record<string, z.ZodType>;
}

export function buildDocument({ info, sections, pathParams }: DocumentParts): Json {
  const paths: Json = {};
  const schemas: Record<string, BodySchema> = { Error: ERROR_BODY };
  for (const section of sections) {
    Object.assign(schemas, section.schemas);
    for (const route of section.routes) {
      const { path, params } = template(route.path);
      const item: Json = {};
      if (route.description) item.description = route.description;
      if (params.length > 0) {
        item.parameters = params.map((name) => {
          const schema = pathParams[name];
          if (!schema) throw new Error(`path parameter ${name} of ${route.path} is not described`);
          return parameter(name, "path", schema);
        });
      }
      for (const [method, operation] of Object.entries(route.operations)) item[method] = operationObject(operation, route, section.tag.name);
      paths[path] = item;
    }
  }
  return {
    openapi: "3.1.0",
    info,
    tags: sections.map((section) => section.tag),
    paths,
    components: {
      schemas: Object.fromEntries(Object.entries(schemas).map(([name, { schema, io }]) => [name, jsonSchema(schema, io)])),
      responses: errorComponents(),
      headers: Object.fromEntries(
        Object.entries(RESPONSE_HEADERS).map(([name, schema]) => {
          const { description, ...rest } = jsonSchema(schema);
          return [name, { description, schema: rest }];
        }),
      ),
      securitySchemes: {
        projectToken: {
          type: "http",
          scheme: "bearer",
          bearerFormat: "JWT",
          description:
            "A project token: an HS256 JWT signed with one of the project's secrets (kid header optional), claims sub (the project), scope (read, write or manage; each includes the ones before it), exp, and optionally streams (names, or prefixes ending in *). Required only when the deployment runs with AUTH_MODE=on.",
        },
        adminToken: { type: "http", scheme: "bearer", description: "The deployment's ADMIN_TOKEN secret (unset: the admin API answers 404)." },
        callbackToken: {
          type: "http",
          scheme: "bearer",
          description: "The callback token of a subscription's wake: callback_token in a webhook body, or token in a claim's answer. Valid for its wake generation only.",
        },
      },
    },
  };
}
