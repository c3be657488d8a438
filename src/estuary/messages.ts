// Shapes that cross boundaries in fan-out: RPC inputs of StreamSubscribersDO and queue messages.
import { z } from "zod";
import type { FanoutCost } from "./cost";

const Count = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const Key = z.string().min(1).max(300);

export const PublishSchema = z.object({
  source: Key,
  tail: Count,
  /** The append that reached `tail`, when small: its messages cover [from, tail). */
  appended: z
    .object({ from: Count, messages: z.array(z.custom<Uint8Array>((value) => value instanceof Uint8Array)) })
    .optional(),
});
export type Publish = z.infer<typeof PublishSchema>;

export const SubscribeSchema = z.object({ source: Key, estuary: Key, position: Count, maxSubscribers: Count });
export type Subscribe = z.infer<typeof SubscribeSchema>;

/** A queued fan-out job: pointers only (source range and estuaries), never payload bytes. */
export const FanoutJobSchema = z.object({
  source: Key,
  from: Count,
  to: Count,
  estuaries: z.array(Key).min(1).max(100),
});
export type FanoutJob = z.infer<typeof FanoutJobSchema>;

export interface FanoutStatus {
  /** Running totals since the first subscriber (estuary/cost.ts). */
  cost: FanoutCost;
  source: string;
  subscribers: number;
  mode: "inline" | "queue";
  breaker: "closed" | "open" | "half_open";
  /** Source position every in-step subscriber has been handed. */
  fannedOutPosition: number;
  /** Source position fan-out is working towards. */
  targetPosition: number;
  /** Subscribers being caught up on their own (backfill or repair after failures). */
  pendingRepairs: number;
}
