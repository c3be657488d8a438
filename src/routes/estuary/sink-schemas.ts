// The data sink routes' JSON bodies, as zod schemas: requests are validated with them, responses are
// described by them (the OpenAPI document is generated from both).
import { z } from "zod";
import { ApiError } from "../../errors";
import { parseOr400 } from "../../validation";
import { SinkIdSchema } from "../../contract/sinks";
import { ENVELOPES } from "../../protocol/cloudevents";
import { CommitHoldSchema, SinkDetailSchema, SinkViewSchema } from "../../sinks/commands";
import { RetentionStatusBodySchema } from "./retention-status";
import { FanoutStatusBodySchema, TypePrefixSchema } from "./schemas";

export { SinkDetailSchema, SinkViewSchema };

export const SinkSubscribeBodySchema = z.strictObject({
  sink: z.strictObject({
    id: SinkIdSchema,
    url: z.string().max(2_048).meta({ description: "https to a public address (http to loopback only with WEBHOOK_ALLOW_LOOPBACK=on)" }),
    envelope: z.enum(ENVELOPES).optional().meta({ description: '"raw" (default): the batch as a catch-up read returns it; "cloudevents": CloudEvents 1.0 batch' }),
    typePrefix: TypePrefixSchema.optional(),
  }),
  required: z.boolean().optional().meta({ description: "whether the sink counts for the source's commit policy (default true); does not change delivery" }),
  from: z.string().optional().meta({ description: '"now" (default), "-1", or an offset of the source to deliver from' }),
});
export type SinkSubscribeBody = z.infer<typeof SinkSubscribeBodySchema>;

export const SinkUnsubscribeBodySchema = z.strictObject({ sinkId: SinkIdSchema });

export const SinkCreatedSchema = z.object({
  sink: SinkViewSchema,
  /** The signing secret (Standard Webhooks, whsec_...): shown only when the sink is created. */
  secret: z.string().optional(),
});

/** GET /v1/estuary/subscribers/...: the fan-out status, with the state of the source's data sinks. */
export const FanoutStatusWithSinksSchema = FanoutStatusBodySchema.extend({
  sinks: z.array(SinkViewSchema),
  /** The sinks keeping the committed offset where it is (retrying, or disabled until enabled). */
  commitHeldBy: z.array(CommitHoldSchema),
  /** The source's retention policy, earliest offset and trims. */
  retention: RetentionStatusBodySchema,
});

/** A subscribe body is a sink's when it names one; otherwise it subscribes an estuary. */
export function isSinkBody(value: unknown): boolean {
  return typeof value === "object" && value !== null && !Array.isArray(value) && "sink" in value;
}

export function parseBody<T extends z.ZodType>(value: unknown, schema: T): z.infer<T> {
  return parseOr400(schema, value);
}

export function parseSinkId(value: string | undefined): string {
  const parsed = SinkIdSchema.safeParse(value);
  if (!parsed.success) throw new ApiError("bad_request", "sink ids are 1-128 characters of A-Z a-z 0-9 . _ ~ -");
  return parsed.data;
}
