// GET /v1/openapi.json: the OpenAPI 3.1 document of every route (anyone may read it), generated
// from the zod schemas the routes validate with; one section per resource beside this file.
import { z } from "zod";
import type { AppContext } from "../../http/context";
import { ProjectNameSchema } from "../admin/bodies";
import { HealthSchema } from "../health";
import { adminSection } from "./admin";
import { buildDocument, jsonResponse, type Json, type Section } from "./build";
import { connectionSection } from "./connections";
import { estuarySection } from "./estuary";
import { presenceSection } from "./presence";
import { sinkSection } from "./sinks";
import { streamSection } from "./streams";
import { subscriptionSection } from "./subscriptions";

/** The service version the document states (package.json's; test/node/openapi.test.ts keeps them equal). */
export const API_VERSION = "0.1.0";

/** What GET / answers. */
const ServiceInfoSchema = z.object({ service: z.literal("durable-estuary"), protocol: z.literal("durable-streams") });

const NAME_RULE = "1-128 characters of A-Z a-z 0-9 . _ ~ - (not . or ..)";

function serviceSection(): Section {
  return {
    tag: { name: "service", description: "What this service is, and this document." },
    routes: [
      {
        path: "/",
        operations: {
          get: { id: "serviceInfo", summary: "What this service is", auth: "anyone", responses: { 200: jsonResponse("The service.", "ServiceInfo") }, errors: [] },
        },
      },
      {
        path: "/health",
        operations: {
          get: {
            id: "health",
            summary: "The Worker is up",
            description: "Answered by the Worker alone: no Durable Object is touched, so it costs nothing and says nothing about them.",
            auth: "anyone",
            responses: { 200: jsonResponse("Up.", "Health") },
            errors: [],
          },
        },
      },
      {
        path: "/v1/openapi.json",
        operations: {
          get: {
            id: "openApiDocument",
            summary: "This document",
            auth: "anyone",
            responses: { 200: { description: "The OpenAPI 3.1 document.", content: { "application/json": { schema: { type: "object" } } } } },
            errors: [],
          },
        },
      },
    ],
    schemas: { ServiceInfo: { schema: ServiceInfoSchema, io: "output" }, Health: { schema: HealthSchema, io: "output" } },
  };
}

let cached: Json | undefined;

/** Built on first use, not at module load: few isolates ever serve it, and cold starts should not pay for it. */
export function openApiDocument(): Json {
  cached ??= buildDocument({
    info: {
      title: "durable-estuary",
      version: API_VERSION,
      summary: "Durable Streams protocol and exactly-once pub/sub fan-out (estuaries).",
      description:
        'Append-only streams over HTTP (the Durable Streams protocol) and estuaries: per-subscriber streams fed exactly once from a source. Errors are always {"error":{"code","message"}}. With AUTH_MODE=off (local development) no route needs a token.',
    },
    sections: [serviceSection(), streamSection(), subscriptionSection(), estuarySection(), sinkSection(), connectionSection(), presenceSection(), adminSection()],
    pathParams: {
      project: ProjectNameSchema.meta({ description: `The project: ${NAME_RULE}.` }),
      stream: z.string().meta({ description: `The stream (on estuary routes: the source stream): ${NAME_RULE}.` }),
      estuaryId: z.string().meta({ description: `The estuary, which is the stream of this name in the project: ${NAME_RULE}.` }),
      kid: z.string().meta({ description: "A secret's id, as returned when it was created." }),
      id: z.string().meta({ description: "A subscription id (reserved subscription APIs); ids are deployment-wide." }),
      sinkId: z.string().meta({ description: `A data sink of the stream: ${NAME_RULE}.` }),
      path: z.string().meta({ description: "A stream path relative to /v1/stream/ (`project/stream`), URL-encoded as one segment." }),
    },
  });
  return cached;
}

export function serveOpenApi(c: AppContext): Response {
  return c.json(openApiDocument());
}
