// The wire contract between a stream (publishing, receiving deliveries) and fan-out (the subscribers
// object, the queue consumer): every shape and limit both sides must agree on, in one place, so
// neither imports the other's internals.
import { z } from "zod";
import { Count } from "./primitives";
import { BytesSchema, messagesOf, SegmentSchema } from "./segments";

/** An object's name, "project/stream". */
export const StreamKeySchema = z.string().min(1).max(300);
const Key = StreamKeySchema;

/** Appends up to this size travel with the publish call; larger ones are read from the source. */
export const CARRY_BYTES = 64 * 1024;

/** A slice of a source read for fan-out (push or pull) may carry a whole 8 MiB append plus some neighbours; RPC allows 32 MiB. */
export const FANOUT_SLICE_BYTES = 9 * 1024 * 1024;

/** Estuaries named in one queue job; the consumer reads the source range once for all of them. */
export const ESTUARIES_PER_JOB = 100;

/** Source -> its subscribers object, after every append: the stream now reaches `tail`. */
export const PublishSchema = z.object({
  source: Key,
  tail: Count,
  /** The append that reached `tail`, when at most CARRY_BYTES: its messages cover [from, tail). */
  appended: z.object({ from: Count, messages: z.array(BytesSchema) }).optional(),
});
export type Publish = z.infer<typeof PublishSchema>;

/**
 * Retention trimmed [from, to) of the source before this subscriber had it: the delivery carries no
 * segments, and applying it moves the subscriber to `to` (the source's earliest offset) and records
 * the gap. `messages` is how many messages were lost, or null when the source cannot say (see
 * stream/trim-marks.ts); the bytes lost are to - from.
 */
export const GapSchema = z.object({ messages: Count.nullable() });
export type Gap = z.infer<typeof GapSchema>;

/** Fan-out -> an estuary: source positions [from, to) of `source`, as stored segments (or a gap). */
export const DeliverySchema = z.object({
  source: Key,
  from: Count,
  to: Count,
  segments: z.array(SegmentSchema),
  gap: GapSchema.optional(),
});
export type Delivery = z.infer<typeof DeliverySchema>;

export type DeliveryOutcome =
  /** Written: `messages` estuary messages, costing `rowsWritten` SQLite rows. */
  | { ok: true; status: "applied"; applied: number; messages: number; rowsWritten: number }
  | { ok: true; status: "duplicate"; applied: number }
  /** The estuary has applied up to `applied`, which is not where this delivery starts: resend from there. */
  | { ok: true; status: "gap"; applied: number }
  /** The estuary is gone, closed, or no longer subscribed: stop delivering to it. */
  | { ok: true; status: "unsubscribed"; applied: 0 };

/** The messages a delivery carries, whole (a message may span several segments). */
export function deliveredMessages(delivery: Delivery): Uint8Array[] {
  return messagesOf(delivery.segments);
}

/** A queued fan-out job: pointers only (source range and estuaries), never payload bytes. */
export const FanoutJobSchema = z.object({
  /** Which of the subscribers object's pending jobs this is, so its completion can be counted. */
  jobId: Count.optional(),
  source: Key,
  from: Count,
  to: Count,
  estuaries: z.array(Key).min(1).max(ESTUARIES_PER_JOB),
});
export type FanoutJob = z.infer<typeof FanoutJobSchema>;

/** Estuaries subscribed in one request (a follow graph loads in bulk). */
export const SUBSCRIBE_BATCH = 1_000;

/** Estuary subscription side -> the subscribers object: each estuary joins at `position` of the source. */
export const SubscribeSchema = z.object({
  source: Key,
  /** `required`: the estuary counts for the source's commit policy (default true). */
  estuaries: z.array(z.object({ estuary: Key, position: Count, required: z.boolean().optional() })).min(1).max(SUBSCRIBE_BATCH),
  maxSubscribers: Count,
});
export type Subscribe = z.infer<typeof SubscribeSchema>;
/** Per estuary, in request order: newly added, already subscribed, or refused (the source's list is full). */
export type SubscribeOutcome = "added" | "existing" | "full";

/**
 * An estuary being read -> its source's subscribers object: push to me until the lease ends. The
 * answer is the lease's end and the source position fan-out is working towards, which the estuary
 * pulls up to; null when the estuary is not subscribed (any more).
 */
export const HotLeaseSchema = z.object({ source: Key, estuary: Key, applied: Count.optional() });
export type HotLease = z.infer<typeof HotLeaseSchema>;
export interface HotLeaseGrant {
  until: number;
  target: number;
}

/**
 * What an estuary's pull from a source cost, and where it left the estuary (`applied`), reported
 * back to the source's subscribers object.
 */
export const PullReportSchema = z.object({ estuary: Key, applied: Count, reads: Count, messages: Count, rowsWritten: Count });
export type PullReport = z.infer<typeof PullReportSchema>;

/** What fan-out costs, counted as it happens: the figures behind "cost per delivered message". */
export const FanoutCostSchema = z.object({
  /** Estuary messages written (one source append may be several JSON messages). */
  messagesDelivered: Count,
  /** Durable Object RPCs made to deliver (to estuaries) and to read the source. */
  rpcs: Count,
  /** Reads of a source range; one serves every estuary in a round or queue job. */
  sourceReads: Count,
  /** SQLite rows the estuaries wrote for deliveries (data rows, applied position, metadata). */
  rowsWritten: Count,
  /** Queue messages sent. */
  queueMessages: Count,
  /** Lease checks by reads of estuaries that were not being pushed (one per pulled source per read). */
  pullChecks: Count.default(0),
  /** Reads of a source range made by estuaries pulling on read. */
  pullReads: Count.default(0),
  /** Estuary messages written by pulls. */
  messagesPulled: Count.default(0),
  /** SQLite rows the estuaries wrote for pulls. */
  pullRowsWritten: Count.default(0),
  /** SQLite rows the subscribers object wrote itself: progress, hot leases, the list (counted up to its last save). */
  subscriberRowsWritten: Count.default(0),
});
export type FanoutCost = z.infer<typeof FanoutCostSchema>;

export const NO_COST: FanoutCost = {
  messagesDelivered: 0,
  rpcs: 0,
  sourceReads: 0,
  rowsWritten: 0,
  queueMessages: 0,
  pullChecks: 0,
  pullReads: 0,
  messagesPulled: 0,
  pullRowsWritten: 0,
  subscriberRowsWritten: 0,
};

/** The most recent failed delivery, kept so a failure can be diagnosed from the status route. */
export const DeliveryErrorSchema = z.object({
  /** When it failed, ms since the epoch. */
  at: z.number(),
  /** The estuary that failed; null when the failure was the round's own (reading the source, queueing). */
  estuary: Key.nullable(),
  message: z.string().max(1_000),
});
export type DeliveryError = z.infer<typeof DeliveryErrorSchema>;

/** What a queue consumer reports back about one job: its cost and its first failure, if any. */
export const JobReportSchema = z.object({
  cost: FanoutCostSchema,
  failures: Count,
  firstError: DeliveryErrorSchema.optional(),
  /**
   * The job ran to its end without a failure: every estuary it names holds its range, but those in
   * `behind`, which hold only `applied` (a catch-up that needs more steps than one job makes), or
   * were not delivered to at all (no `applied`).
   */
  done: z.object({ jobId: Count, behind: z.array(z.object({ estuary: Key, applied: Count.optional() })).max(ESTUARIES_PER_JOB).default([]) }).optional(),
});
export type JobReport = z.infer<typeof JobReportSchema>;

/** How a source's committed offset is decided from its subscriptions (estuaries and sinks). */
export const COMMIT_MODES = ["required", "quorum", "all"] as const;
export const CommitPolicySchema = z
  .object({ mode: z.enum(COMMIT_MODES), quorum: z.number().int().min(1).max(1_000_000).optional() })
  .refine((policy) => (policy.mode === "quorum") === (policy.quorum !== undefined), "quorum (a count) goes with mode quorum, and only with it");
export type CommitPolicy = z.infer<typeof CommitPolicySchema>;
export const DEFAULT_COMMIT_POLICY: CommitPolicy = { mode: "required" };

/** An append may wait at most this long for its data to be committed. */
export const MAX_AWAIT_COMMIT_MS = 30_000;
/** The source's append route -> its subscribers object: answer once `position` is committed, or false after `timeoutMs`. */
export const AwaitCommitSchema = z.object({ position: Count, timeoutMs: z.number().int().min(0).max(MAX_AWAIT_COMMIT_MS) });
export type AwaitCommit = z.infer<typeof AwaitCommitSchema>;

/** A data sink -> its source's subscribers object: how far it has delivered, for the commit policy. */
/**
 * A sink's position for its source's commit policy. `incarnation` is new each time the sink is created:
 * a report from an earlier incarnation (in flight while the sink was deleted and created again) must
 * not raise the new one's position.
 */
export const SinkPositionSchema = z.object({ sinkId: z.string().min(1).max(128), incarnation: z.string().min(1).max(64), required: z.boolean(), position: Count });
export type SinkPosition = z.infer<typeof SinkPositionSchema>;

/** The fan-out status of a source, as the status route, the tests and the benchmark read it. */
export interface FanoutStatus {
  source: string;
  subscribers: number;
  /** Subscribers whose estuary holds a read lease (a live or recent reader). */
  hot: number;
  /** Subscribers pushed to on each publish: all of them up to FANOUT_PULL_THRESHOLD, else the hot ones. */
  pushed: number;
  /** Subscribers not pushed to: their estuaries pull on read. */
  pulled: number;
  /** How the pushed subscribers are delivered to. */
  mode: "inline" | "queue";
  breaker: "closed" | "open" | "half_open";
  /** Source position every in-step subscriber has been handed. */
  fannedOutPosition: number;
  /** Source position fan-out is working towards. */
  targetPosition: number;
  /** Subscribers being caught up on their own (backfill or repair after failures). */
  pendingRepairs: number;
  /** Running totals since the first subscriber. */
  cost: FanoutCost;
  lastError: DeliveryError | null;
  policy: CommitPolicy;
  /** The furthest source position the commit policy holds for. */
  committedPosition: number;
}
