// The estuary routes in the OpenAPI document: subscriptions, estuaries and a source's fan-out status,
// with the bodies of estuary/schemas.ts.
import { EstuaryDescriptionSchema } from "../../estuary/description";
import { BulkSubscribedSchema, CommitPolicyBodySchema, CommitPolicySetSchema, SubscribeBodySchema, SubscribedSchema, UnsubscribeBodySchema } from "../estuary/schemas";
import { FanoutStatusWithSinksSchema } from "../estuary/sink-schemas";
import { addressed, errorWith, jsonBody, jsonResponse, noBody, preflight, type Json, type Operations, type Section } from "./build";
import { SINK_SCHEMAS } from "./sinks";

/** A JSON request body that is one of several named component schemas. */
function eitherBody(...schemas: string[]): Json {
  return { required: true, content: { "application/json": { schema: { oneOf: schemas.map((name) => ({ $ref: `#/components/schemas/${name}` })) } } } };
}

const ERRORS = ["bad_request", "unauthorized", "forbidden", "not_found", "headers_too_large"] as const;

export function estuarySection(): Section {
  const subscribe: Operations = {
    post: {
      id: "subscribe",
      summary: "Subscribe an estuary, or up to 1,000 (estuaryIds), to the source stream (creating the estuaries' streams), or create a data sink",
      description:
        "Needs read on the source and write on every estuary named. With estuaryIds the answer is 200 with one result per estuary (created, existing, or failed with the error it would have had alone); a request-wide problem (bad body, missing source) is still a 4xx. A body with `sink` creates a data sink instead (a signed outbound webhook fed from the source; needs manage on the source): 201 with the sink and its signing secret (shown only then), 200 without the secret when the sink exists with the same configuration, 409 when it exists with another, 400 for an unsafe URL.",
      auth: { token: "write" },
      body: eitherBody("SubscribeRequest", "SinkSubscribeRequest"),
      responses: {
        201: { description: "Subscribed, or the sink was created.", content: { "application/json": { schema: { oneOf: [{ $ref: "#/components/schemas/Subscribed" }, { $ref: "#/components/schemas/SinkCreated" }] } } } },
        200: {
          description: "One estuary: already subscribed, nothing changed. Many (estuaryIds): a result per estuary. A sink: it exists with this configuration.",
          content: { "application/json": { schema: { oneOf: ["Subscribed", "BulkSubscribed", "SinkCreated"].map((name) => ({ $ref: `#/components/schemas/${name}` })) } } },
        },
        409: errorWith(
          "The estuary id names a stream that is not an estuary or whose content type differs from what the subscription writes (the source's, or application/json for CloudEvents), the estuary is already subscribed to this source with another envelope, the subscription would make a cycle, or a subscriber or subscription limit is reached.",
        ),
      },
      errors: [...ERRORS, "gone", "too_large", "rate_limited"],
    },
    delete: {
      id: "unsubscribe",
      summary: "End one subscription, or remove a data sink",
      description: "Needs write on the estuary; a body with `sinkId` removes that data sink (manage on the source).",
      auth: { token: "write" },
      body: eitherBody("UnsubscribeRequest", "SinkUnsubscribeRequest"),
      responses: { 204: noBody("Unsubscribed, or the sink was removed.") },
      errors: [...ERRORS, "too_large"],
    },
    options: preflight("subscribePreflight"),
  };

  const subscribers: Operations = {
    get: {
      id: "fanoutStatus",
      summary: "The source's fan-out: subscribers, mode, breaker, offsets, cost counters, last error, and its data sinks' state",
      auth: { token: "read" },
      responses: { 200: jsonResponse("The fan-out status.", "FanoutStatus") },
      errors: [...ERRORS, "gone"],
    },
    options: preflight("fanoutStatusPreflight"),
  };

  const policy: Operations = {
    put: {
      id: "setCommitPolicy",
      summary: "Set how the source's committed offset is decided from its subscriptions (estuaries and data sinks)",
      description:
        "required (the default): every subscription with required (the default) has the data; quorum: any `quorum` subscriptions have it (all of them when there are fewer); all: every subscription has it. A stream with no subscription that counts has everything committed. Appends may wait for their data to be committed with Stream-Await-Commit.",
      auth: { token: "manage" },
      body: jsonBody("CommitPolicy"),
      responses: { 200: jsonResponse("The policy, and the committed offset under it.", "CommitPolicySet") },
      errors: [...ERRORS, "gone", "too_large"],
    },
    options: preflight("commitPolicyPreflight"),
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
      ...addressed("/v1/estuary/policy", policy),
      // The app's param is :stream (an estuary is a stream); the document names it for what it is.
      // "subscribe", "subscribers" and "policy" cannot be projects here: the app matches the routes above first.
      ...addressed("/v1/estuary", estuary, { rename: { stream: "estuaryId" } }),
    ],
    schemas: {
      SubscribeRequest: { schema: SubscribeBodySchema, io: "input" },
      UnsubscribeRequest: { schema: UnsubscribeBodySchema, io: "input" },
      Subscribed: { schema: SubscribedSchema, io: "output" },
      BulkSubscribed: { schema: BulkSubscribedSchema, io: "output" },
      CommitPolicy: { schema: CommitPolicyBodySchema, io: "input" },
      CommitPolicySet: { schema: CommitPolicySetSchema, io: "output" },
      EstuaryDescription: { schema: EstuaryDescriptionSchema, io: "output" },
      FanoutStatus: { schema: FanoutStatusWithSinksSchema, io: "output" },
      ...SINK_SCHEMAS,
    },
  };
}
