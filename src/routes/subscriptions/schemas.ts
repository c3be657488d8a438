// The reserved subscription APIs' JSON bodies, as zod schemas: requests are validated with them,
// responses are described by them (the OpenAPI document is generated from both).
import { z } from "zod";
import { GapsViewSchema } from "../../contract/gaps";
import type { AppContext } from "../../http/context";
import { AckSchema, ClaimSchema, WakeAnswerSchema } from "../../subscriptions/commands";
import { DsError, type DsFailure } from "../../subscriptions/errors";
import { SubscriptionBodySchema } from "../../subscriptions/config";
import { readJson } from "../../http/json-body";
import { parseOr400 } from "../../validation";
import type { SubscriptionView } from "../../subscriptions/commands";
import { signingKid } from "../../subscriptions/signing";

export { AckSchema, ClaimSchema, SubscriptionBodySchema, WakeAnswerSchema };

export const AddStreamsSchema = z.object({ streams: z.array(z.string().min(1).max(300)).min(1).max(1_000) });

const StreamInfoSchema = z.object({
  path: z.string(),
  link_type: z.enum(["explicit", "glob"]),
  acked_offset: z.string(),
  tail_offset: z.string(),
  has_pending: z.boolean(),
});

export const SubscriptionSchema = z.object({
  id: z.string(),
  subscription_id: z.string(),
  type: z.enum(["webhook", "pull-wake"]),
  pattern: z.string().optional(),
  streams: z.array(
    StreamInfoSchema.pick({ path: true, link_type: true, acked_offset: true }).extend({
      gaps: GapsViewSchema.optional().meta({ description: "present once the stream's retention trimmed past the acked offset: it jumped to the earliest offset" }),
    }),
  ),
  webhook: z
    .object({ url: z.string(), signing: z.object({ alg: z.literal("ed25519"), kid: z.string(), jwks_url: z.string() }) })
    .optional(),
  wake_stream: z.string().optional(),
  lease_ttl_ms: z.number().int(),
  created_at: z.string(),
  status: z.enum(["active", "failed"]),
  last_error: z.string().nullable().meta({ description: "why the last webhook attempt failed (status failed), else null" }),
  description: z.string().optional(),
});

export const AnswerSchema = z.object({ ok: z.literal(true), next_wake: z.boolean() });

export const ClaimedSchema = z.object({
  wake_id: z.string(),
  generation: z.number().int(),
  token: z.string(),
  streams: z.array(StreamInfoSchema),
  lease_ttl_ms: z.number().int(),
});

export const JwksSchema = z.object({
  keys: z.array(z.object({ kty: z.literal("OKP"), crv: z.literal("Ed25519"), x: z.string(), kid: z.string(), use: z.literal("sig"), alg: z.literal("EdDSA") })),
});

/** A JSON body for these routes; a body that is absent counts as `{}` (as the protocol's clients send). */
export async function readDsJson<T extends z.ZodType>(c: AppContext, schema: T): Promise<z.infer<T>> {
  const request = c.req.raw;
  if (request.headers.get("content-length") === "0" || request.body === null) {
    return parseOr400(schema, {});
  }
  return readJson(request, schema);
}

/** Turns a failure from the subscription object into the error response. */
export function orThrow<R extends { ok: true } | DsFailure>(result: R): Exclude<R, DsFailure> {
  if (!result.ok) throw new DsError(result as DsFailure);
  return result as Exclude<R, DsFailure>;
}

/** The subscription as the protocol shows it: never its secrets; webhooks name their signing key. */
export async function present(c: AppContext, view: SubscriptionView): Promise<z.infer<typeof SubscriptionSchema>> {
  const origin = new URL(c.req.url).origin;
  const { webhook, ...rest } = view;
  if (!webhook) return { ...rest, subscription_id: view.id };
  const kid = await signingKid(c.env);
  return { ...rest, subscription_id: view.id, webhook: { url: webhook.url, signing: { alg: "ed25519", kid, jwks_url: `${origin}/v1/stream/__ds/jwks.json` } } };
}
