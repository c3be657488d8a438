// The reserved subscription APIs in the OpenAPI document (`/v1/stream/__ds/...`), with the bodies of
// routes/subscriptions/schemas.ts. Their errors carry the protocol's upper-case codes (SubscriptionError).
import { DsErrorBodySchema } from "../../subscriptions/errors";
import {
  AddStreamsSchema,
  AnswerSchema,
  ClaimedSchema,
  ClaimSchema,
  JwksSchema,
  SubscriptionBodySchema,
  SubscriptionSchema,
  WakeAnswerSchema,
} from "../subscriptions/schemas";
import { jsonBody, jsonResponse, noBody, type Json, type Operation, type Section } from "./build";

const BASE = "/v1/stream/__ds/subscriptions/:id";

function dsError(description: string): Json {
  return { description, content: { "application/json": { schema: { $ref: "#/components/schemas/SubscriptionError" } } } };
}

const COMMON: Record<number, Json> = {
  400: dsError("INVALID_REQUEST: malformed body or path."),
  401: dsError("UNAUTHORIZED: a project token is required (auth on)."),
  403: dsError("FORBIDDEN: the token lacks the scope, or does not reach every stream the subscription covers (pattern, explicit streams, wake stream)."),
  404: dsError("SUBSCRIPTION_NOT_FOUND: no such subscription (or one of another project)."),
  413: dsError("PAYLOAD_TOO_LARGE: JSON bodies are limited to 16 KiB."),
};

function managed(operation: Omit<Operation, "auth" | "errors">, scope: "manage" | "read" = "manage"): Operation {
  return { ...operation, auth: { token: scope }, responses: { ...COMMON, ...operation.responses }, errors: [] };
}

function answered(operation: Omit<Operation, "auth" | "errors">): Operation {
  return {
    ...operation,
    auth: "callbackToken",
    body: jsonBody("WakeAnswer"),
    responses: {
      400: dsError("INVALID_REQUEST: malformed body, or not a pull-wake subscription (ack, release)."),
      401: dsError("TOKEN_INVALID or TOKEN_EXPIRED: the callback token."),
      404: dsError("SUBSCRIPTION_NOT_FOUND."),
      409: dsError("FENCED: not the current wake generation or wake id; INVALID_OFFSET: an ack names an unknown stream, -1, a regression or an offset beyond the tail."),
      ...operation.responses,
    },
    errors: [],
  };
}

export function subscriptionSection(): Section {
  return {
    tag: {
      name: "subscriptions",
      description: "The Durable Streams protocol's reserved subscription APIs: webhook and pull-wake subscriptions over globs and explicit streams, wakes, leases and callback tokens.",
    },
    routes: [
      {
        path: "/v1/stream/__ds/jwks.json",
        operations: {
          get: {
            id: "webhookJwks",
            summary: "The public keys (Ed25519) webhook signatures verify with",
            auth: "anyone",
            responses: { 200: { description: "The JWK set.", content: { "application/jwk-set+json": { schema: { $ref: "#/components/schemas/Jwks" } } } } },
            errors: [],
          },
        },
      },
      {
        path: BASE,
        operations: {
          put: managed({
            id: "putSubscription",
            summary: "Create a subscription (201), or confirm the same configuration (200)",
            description: "Existing streams the pattern matches are linked at their current tails; streams created later start at -1.",
            body: jsonBody("SubscriptionRequest"),
            responses: {
              201: jsonResponse("Created.", "Subscription"),
              200: jsonResponse("The same configuration again: nothing changed.", "Subscription"),
              400: dsError("INVALID_REQUEST, or WEBHOOK_URL_REJECTED: the webhook URL is not public https."),
              409: dsError("SUBSCRIPTION_ALREADY_EXISTS: another configuration under this id."),
            },
          }),
          get: managed({ id: "getSubscription", summary: "The subscription, its links and acked offsets", responses: { 200: jsonResponse("The subscription.", "Subscription") } }),
          delete: managed({ id: "deleteSubscription", summary: "Remove the subscription (also when there was none)", responses: { 204: noBody("Removed.") } }),
        },
      },
      {
        path: `${BASE}/streams`,
        operations: {
          post: managed({ id: "addSubscriptionStreams", summary: "Link explicit streams", body: jsonBody("AddStreamsRequest"), responses: { 204: noBody("Linked.") } }),
        },
      },
      {
        path: `${BASE}/streams/:path`,
        operations: {
          delete: managed({ id: "removeSubscriptionStream", summary: "Unlink an explicit stream (its path URL-encoded as one segment)", responses: { 204: noBody("Unlinked.") } }),
        },
      },
      {
        path: `${BASE}/claim`,
        operations: {
          post: managed(
            {
              id: "claimWake",
              summary: "A pull-wake worker claims the pending wake: its token, streams and lease",
              body: jsonBody("ClaimRequest"),
              responses: {
                200: jsonResponse("Claimed.", "Claimed"),
                409: dsError("ALREADY_CLAIMED (with current_holder and generation), or NO_PENDING_WORK."),
              },
            },
            "read",
          ),
        },
      },
      { path: `${BASE}/callback`, operations: { post: answered({ id: "webhookCallback", summary: "A webhook receiver acks and (with done) finishes its wake", responses: { 200: jsonResponse("Answered.", "WakeAnswered") } }) } },
      { path: `${BASE}/ack`, operations: { post: answered({ id: "ackWake", summary: "A pull-wake worker acks offsets and (with done) finishes its wake", responses: { 200: jsonResponse("Answered.", "WakeAnswered") } }) } },
      { path: `${BASE}/release`, operations: { post: answered({ id: "releaseWake", summary: "A pull-wake worker gives its wake back", responses: { 204: noBody("Released.") } }) } },
    ],
    schemas: {
      SubscriptionRequest: { schema: SubscriptionBodySchema, io: "input" },
      Subscription: { schema: SubscriptionSchema, io: "output" },
      AddStreamsRequest: { schema: AddStreamsSchema, io: "input" },
      ClaimRequest: { schema: ClaimSchema, io: "input" },
      Claimed: { schema: ClaimedSchema, io: "output" },
      WakeAnswer: { schema: WakeAnswerSchema, io: "input" },
      WakeAnswered: { schema: AnswerSchema, io: "output" },
      Jwks: { schema: JwksSchema, io: "output" },
      SubscriptionError: { schema: DsErrorBodySchema, io: "output" },
    },
  };
}
