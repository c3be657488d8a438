// The data sink routes in the OpenAPI document (creating and removing a sink share the estuary
// subscribe route: estuary.ts), with the bodies of estuary/sink-schemas.ts.
import { ADDRESS_PATHS } from "../../http/address";
import { SinkCreatedSchema, SinkDetailSchema, SinkSubscribeBodySchema, SinkUnsubscribeBodySchema, SinkViewSchema } from "../estuary/sink-schemas";
import { jsonResponse, preflight, type BodySchema, type Operations, type Route, type Section } from "./build";

const ERRORS = ["bad_request", "unauthorized", "forbidden", "not_found", "headers_too_large"] as const;

export const SINK_SCHEMAS: Record<string, BodySchema> = {
  SinkSubscribeRequest: { schema: SinkSubscribeBodySchema, io: "input" },
  SinkUnsubscribeRequest: { schema: SinkUnsubscribeBodySchema, io: "input" },
  SinkCreated: { schema: SinkCreatedSchema, io: "output" },
  Sink: { schema: SinkViewSchema, io: "output" },
  SinkDetail: { schema: SinkDetailSchema, io: "output" },
};

/** Sink routes on both address shapes, like `addressed` with the sink id after the stream. */
function sinkRoutes(suffix: string, operations: Operations): Route[] {
  return ADDRESS_PATHS.map((address) => {
    const path = `/v1/estuary/sinks${address}/:sinkId${suffix}`;
    if (address.includes(":project")) return { path, operations };
    return { path, operations, description: 'The same as /v1/estuary/sinks/{project}/... in the project "default".', idSuffix: "InDefaultProject" };
  });
}

export function sinkSection(): Section {
  const sink: Operations = {
    get: {
      id: "describeSink",
      summary: "A data sink's state and its last 100 delivery attempts (time, status, latency, error), newest first",
      auth: { token: "read" },
      responses: { 200: jsonResponse("The sink.", "SinkDetail") },
      errors: [...ERRORS],
    },
    options: preflight("sinkPreflight"),
  };
  const enable: Operations = {
    post: {
      id: "enableSink",
      summary: "Resume a disabled (or retrying) data sink at once, from its delivered offset",
      auth: { token: "manage" },
      responses: { 200: jsonResponse("The sink, active again.", "Sink") },
      errors: [...ERRORS],
    },
    options: preflight("enableSinkPreflight"),
  };
  return {
    tag: {
      name: "sinks",
      description:
        "Data sinks: signed outbound webhooks (Standard Webhooks) fed from a source stream in ordered batches, at least once, each batch under a webhook-id that stays the same across retries. Created and removed on /v1/estuary/subscribe/{project}/{stream}.",
    },
    routes: [...sinkRoutes("", sink), ...sinkRoutes("/enable", enable)],
  };
}
