// The estuary routes in the OpenAPI document: subscriptions, estuaries and a source's fan-out status,
// with the bodies of estuary/schemas.ts.
import { z } from "zod";
import {
  BulkSubscribedSchema, EstuaryDescriptionSchema, FanoutStatusBodySchema, SubscribeBodySchema, SubscribedSchema, UnsubscribeBodySchema,
} from "../estuary/schemas";
import { addressed, errorWith, jsonBody, jsonResponse, noBody, preflight, type Operations, type Section } from "./build";

const ERRORS = ["bad_request", "unauthorized", "forbidden", "not_found", "headers_too_large"] as const;

export function estuarySection(): Section {
  const subscribe: Operations = {
    post: {
      id: "subscribe",
      summary: "Subscribe an estuary, or up to 1,000 (estuaryIds), to the source stream (creating the estuaries' streams)",
      description:
        "Needs read on the source and write on every estuary named. With estuaryIds the answer is 200 with one result per estuary (created, existing, or failed with the error it would have had alone); a request-wide problem (bad body, missing source) is still a 4xx.",
      auth: { token: "write" },
      body: jsonBody("SubscribeRequest"),
      responses: {
        201: jsonResponse("Subscribed.", "Subscribed"),
        200: jsonResponse("One estuary: already subscribed, nothing changed. Many: a result per estuary.", "SubscribeAnswer"),
        409: errorWith(
          "The estuary id names a stream that is not an estuary or has another content type, the subscription would make a cycle, or a subscriber or subscription limit is reached.",
        ),
      },
      errors: [...ERRORS, "gone", "too_large", "rate_limited"],
    },
    delete: {
      id: "unsubscribe",
      summary: "End one subscription",
      description: "Needs write on the estuary.",
      auth: { token: "write" },
      body: jsonBody("UnsubscribeRequest"),
      responses: { 204: noBody("Unsubscribed.") },
      errors: [...ERRORS, "too_large"],
    },
    options: preflight("subscribePreflight"),
  };

  const subscribers: Operations = {
    get: {
      id: "fanoutStatus",
      summary: "The source's fan-out: subscribers, mode, breaker, offsets, cost counters, last error",
      auth: { token: "read" },
      responses: { 200: jsonResponse("The fan-out status.", "FanoutStatus") },
      errors: [...ERRORS, "gone"],
    },
    options: preflight("fanoutStatusPreflight"),
  };

  const estuary: Operations = {
    get: {
      id: "describeEstuary",
      summary: "The estuary's subscriptions: source, delivered offset, lag",
      auth: { token: "read" },
      responses: { 200: jsonResponse("The estuary.", "EstuaryDescription") },
      errors: [...ERRORS],
    },
    delete: {
      id: "deleteEstuary",
      summary: "Remove all the estuary's subscriptions and its stream",
      auth: { token: "manage" },
      responses: { 204: noBody("Removed.") },
      errors: [...ERRORS],
    },
    options: preflight("estuaryPreflight"),
  };

  return {
    tag: { name: "estuary", description: "Estuaries: per-subscriber streams fed exactly once from source streams. An estuary is read like any stream, at /v1/stream/{project}/{estuaryId}." },
    routes: [
      ...addressed("/v1/estuary/subscribe", subscribe),
      ...addressed("/v1/estuary/subscribers", subscribers),
      // The app's param is :stream (an estuary is a stream); the document names it for what it is.
      // "subscribe" and "subscribers" cannot be projects here: the app matches the routes above first.
      ...addressed("/v1/estuary", estuary, { rename: { stream: "estuaryId" } }),
    ],
    schemas: {
      SubscribeRequest: { schema: SubscribeBodySchema, io: "input" },
      UnsubscribeRequest: { schema: UnsubscribeBodySchema, io: "input" },
      Subscribed: { schema: SubscribedSchema, io: "output" },
      SubscribeAnswer: { schema: z.union([SubscribedSchema, BulkSubscribedSchema]), io: "output" },
      EstuaryDescription: { schema: EstuaryDescriptionSchema, io: "output" },
      FanoutStatus: { schema: FanoutStatusBodySchema, io: "output" },
    },
  };
}
