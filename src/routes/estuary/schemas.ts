// The estuary routes' JSON bodies, as zod schemas: requests are validated with them, responses are
// described by them (the OpenAPI document is generated from both).
import { z } from "zod";
import type { FanoutStatus } from "../../contract/fanout";
import { COMMIT_MODES, FanoutCostSchema, SUBSCRIBE_BATCH } from "../../contract/fanout";
import { OffsetString as OffsetSchema } from "../../contract/primitives";
import { ApiError } from "../../errors";
import { DEFAULT_TYPE_PREFIX, ENVELOPES, TYPE_PREFIX_PATTERN } from "../../protocol/cloudevents";
import { formatOffset, parseOffset, type OffsetQuery } from "../../protocol/offsets";
import { isValidName } from "../../protocol/stream-address";

export { readJson } from "../../http/json-body";

const EstuaryIdSchema = z.string().refine(isValidName, "estuaryId must be 1-128 characters of A-Z a-z 0-9 . _ ~ -");

/** The prefix of CloudEvents types, for sinks and estuaries alike. */
export const TypePrefixSchema = z
  .string()
  .regex(TYPE_PREFIX_PATTERN)
  .meta({ description: `CloudEvents type is "<typePrefix>.appended"; default "${DEFAULT_TYPE_PREFIX}"` });

export const SubscribeBodySchema = z
  .object({
    estuaryId: EstuaryIdSchema.optional().meta({ description: "one estuary (give this or estuaryIds)" }),
    estuaryIds: z
      .array(EstuaryIdSchema)
      .min(1)
      .max(SUBSCRIBE_BATCH)
      .optional()
      .meta({ description: `up to ${SUBSCRIBE_BATCH} estuaries at once, each with its own result (give this or estuaryId)` }),
    from: z.string().optional().meta({ description: '"now" (default), "-1", or an offset of the source to backfill from' }),
    /** Make a newly created estuary readable without a token (estuaries are private by default). */
    public: z.boolean().optional(),
    required: z.boolean().optional().meta({ description: "whether the subscription counts for the source's commit policy (default true)" }),
    envelope: z
      .enum(ENVELOPES)
      .optional()
      .meta({ description: '"raw" (default): the source\'s messages as they are; "cloudevents": one CloudEvents 1.0 JSON event per message (the estuary is application/json)' }),
    typePrefix: TypePrefixSchema.optional(),
  })
  .refine((body) => (body.estuaryId === undefined) !== (body.estuaryIds === undefined), "give exactly one of estuaryId and estuaryIds")
  .refine((body) => body.typePrefix === undefined || body.envelope === "cloudevents", {
    message: 'typePrefix applies only to the "cloudevents" envelope',
    path: ["typePrefix"],
  });

export const UnsubscribeBodySchema = z.object({ estuaryId: EstuaryIdSchema });

/** `from`: "now" (default), "-1", or an offset of the source. */
export function parseFrom(from: string | undefined): OffsetQuery {
  const offset = parseOffset(from ?? "now");
  if (!offset) throw new ApiError("bad_request", `from must be "now", "-1" or an offset`);
  return offset;
}

export const SubscribedSchema = z.object({
  source: z.string(),
  estuaryId: z.string(),
  /** Where the estuary is read. */
  stream: z.string(),
});

/** A bulk subscribe's answer: one result per estuary, in request order. */
export const BulkSubscribedSchema = z.object({
  source: z.string(),
  results: z.array(
    z.object({
      estuaryId: z.string(),
      stream: z.string(),
      /** "created": newly subscribed; "existing": already was; "failed": see `error`. */
      status: z.enum(["created", "existing", "failed"]),
      error: z.object({ code: z.string(), message: z.string() }).optional(),
    }),
  ),
});

/** PUT /v1/estuary/policy/...: how the source's committed offset is decided (also shown on the status route). */
export const CommitPolicyBodySchema = z
  .strictObject({
    mode: z.enum(COMMIT_MODES).meta({ description: "required (default): every required subscription has it; quorum: any `quorum` subscriptions have it; all: every subscription has it" }),
    quorum: z.number().int().min(1).max(1_000_000).optional().meta({ description: "with mode quorum (only): how many subscriptions" }),
  })
  .refine((policy) => (policy.mode === "quorum") === (policy.quorum !== undefined), "quorum (a count) goes with mode quorum, and only with it");

export const CommitPolicySetSchema = z.object({ policy: CommitPolicyBodySchema, committedOffset: OffsetSchema });

/** GET /v1/estuary/subscribers/...: what the route answers (also read by the tests and the benchmark). */
export const FanoutStatusBodySchema = z.object({
  subscribers: z.number().int(),
  /** Subscribers whose estuary has a live reader or was read within ESTUARY_HOT_MS. */
  hot: z.number().int(),
  /** Subscribers each publish is pushed to: all up to FANOUT_PULL_THRESHOLD, the hot ones above. */
  pushed: z.number().int(),
  /** Subscribers whose estuaries pull on read instead. */
  pulled: z.number().int(),
  /** How the pushed subscribers are delivered to. */
  mode: z.enum(["inline", "queue"]),
  breaker: z.enum(["closed", "open", "half_open"]),
  fannedOutOffset: OffsetSchema,
  targetOffset: OffsetSchema,
  pendingRepairs: z.number().int(),
  cost: FanoutCostSchema,
  /** The commit policy, and the furthest offset it holds for (PUT /v1/estuary/policy/...). */
  policy: CommitPolicyBodySchema,
  committedOffset: OffsetSchema,
  /** The most recent failed delivery, if any since the first subscriber. */
  lastError: z
    .object({
      at: z.iso.datetime(),
      /** Null when the failure was the round's own (reading the source, queueing). */
      estuaryId: z.string().nullable(),
      message: z.string(),
    })
    .nullable(),
});
export type FanoutStatusBody = z.infer<typeof FanoutStatusBodySchema>;

export function toStatusBody(status: FanoutStatus): FanoutStatusBody {
  const { lastError } = status;
  return {
    subscribers: status.subscribers,
    hot: status.hot,
    pushed: status.pushed,
    pulled: status.pulled,
    mode: status.mode,
    breaker: status.breaker,
    fannedOutOffset: formatOffset(status.fannedOutPosition),
    targetOffset: formatOffset(status.targetPosition),
    pendingRepairs: status.pendingRepairs,
    cost: status.cost,
    policy: status.policy,
    committedOffset: formatOffset(status.committedPosition),
    lastError: lastError && {
      at: new Date(lastError.at).toISOString(),
      estuaryId: lastError.estuary === null ? null : lastError.estuary.slice(lastError.estuary.indexOf("/") + 1),
      message: lastError.message,
    },
  };
}
