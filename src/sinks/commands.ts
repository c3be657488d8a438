// The SinkDO RPC inputs, validated at the object's boundary, and the views it answers with (also
// the wire shapes of the sink routes, so the OpenAPI document describes exactly what is sent).
import { z } from "zod";
import { SinkIdSchema } from "../contract/sinks";
import { StreamKeySchema } from "../contract/fanout";
import { Count, OffsetString as OffsetSchema } from "../contract/primitives";
import { GapsViewSchema } from "../contract/gaps";
import type { Failure } from "../errors";
import { ENVELOPES } from "./envelope";


/** What makes two creations of a sink "the same": everything but the secret and the start. */
export const SinkConfigSchema = z.object({
  url: z.string().min(1).max(2_048),
  envelope: z.enum(ENVELOPES),
  typePrefix: z.string().min(1).max(200),
  required: z.boolean(),
});
export type SinkConfig = z.infer<typeof SinkConfigSchema>;

export const CreateSinkSchema = z.object({
  sinkId: SinkIdSchema,
  source: StreamKeySchema,
  /** The source's generation when the sink was made: a later deletion of that generation removes it. */
  sourceGeneration: Count,
  contentType: z.string().min(1),
  /** Where delivery starts (resolved from `from`). */
  position: Count,
  config: SinkConfigSchema,
});
export type CreateSink = z.infer<typeof CreateSinkSchema>;

export const SinkViewSchema = z.object({
  id: z.string(),
  /** The source stream's path. */
  source: z.string(),
  url: z.string(),
  envelope: z.enum(ENVELOPES),
  typePrefix: z.string(),
  required: z.boolean(),
  /** Everything before this offset was acknowledged (2xx) by the receiver. */
  deliveredOffset: OffsetSchema,
  state: z.enum(["active", "retrying", "disabled"]),
  /** The batch being delivered (and retried), if any. */
  inFlight: z
    .object({ webhookId: z.string(), fromOffset: OffsetSchema, toOffset: OffsetSchema, gap: z.boolean().meta({ description: "the batch is a gap notice: retention trimmed this range before the sink had it" }) })
    .nullable(),
  /** Gaps retention left (the sink jumped to the source's earliest offset), or null while there were none. */
  gaps: GapsViewSchema.nullable(),
  /** Failed attempts in a row. */
  failures: z.number().int(),
  nextAttemptAt: z.iso.datetime().nullable(),
  lastError: z.object({ at: z.iso.datetime(), message: z.string() }).nullable(),
});
export type SinkView = z.infer<typeof SinkViewSchema>;

/** A sink that keeps the source's committed offset where it is, and will until it delivers again. */
export const CommitHoldSchema = z.object({
  sinkId: z.string(),
  /** Disabled: held until the sink is enabled again; retrying: until the receiver takes the batch. */
  state: z.enum(["retrying", "disabled"]),
  deliveredOffset: OffsetSchema,
  lastError: z.string().nullable(),
});
export type CommitHold = z.infer<typeof CommitHoldSchema>;

export const AttemptViewSchema = z.object({
  at: z.iso.datetime(),
  webhookId: z.string(),
  fromOffset: OffsetSchema,
  toOffset: OffsetSchema,
  /** The receiver's HTTP status; null when it gave none (network error, timeout). */
  status: z.number().int().nullable(),
  latencyMs: z.number().int(),
  error: z.string().nullable(),
});

export const SinkDetailSchema = SinkViewSchema.extend({
  /** The last attempts (at most 100), newest first. */
  attempts: z.array(AttemptViewSchema),
});
export type SinkDetail = z.infer<typeof SinkDetailSchema>;

export type CreateSinkResult =
  | { ok: true; created: true; view: SinkView; secret: string; incarnation: string }
  | { ok: true; created: false; view: SinkView; incarnation: string }
  | Failure;
