// SubscriptionDO's RPC inputs, validated at the object's boundary, and the shapes it answers with.
import { z } from "zod";
import type { GapsView } from "../contract/gaps";
import { SubscriptionIdSchema } from "../contract/subscriptions";
import { SubscriptionConfigSchema } from "./config";
import type { DsFailure } from "./errors";
import type { StreamInfo } from "./repository";

/** The caller's project when auth is on (a subscription belongs to the project that made it); null with auth off. */
const OwnerSchema = z.string().min(1).max(128).nullable();

export const CreateSubscriptionSchema = z.object({
  id: SubscriptionIdSchema,
  owner: OwnerSchema,
  /** The origin requests came to, for the callback URLs in webhook bodies. */
  origin: z.url(),
  config: SubscriptionConfigSchema,
});
export type CreateSubscription = z.infer<typeof CreateSubscriptionSchema>;

export const AckSchema = z.object({ stream: z.string().max(300).optional(), path: z.string().max(300).optional(), offset: z.string().max(100) });

/** Callback, ack and release bodies: which wake they answer, what they ack, whether the wake is done. */
export const WakeAnswerSchema = z.object({
  wake_id: z.string().max(100).optional(),
  generation: z.number().int().optional(),
  acks: z.array(AckSchema).max(1_000).optional(),
  done: z.boolean().optional(),
});
export type WakeAnswer = z.infer<typeof WakeAnswerSchema>;

export const ClaimSchema = z.object({ worker: z.string().min(1).max(200) });

export interface SubscriptionView {
  id: string;
  type: "webhook" | "pull-wake";
  pattern?: string | undefined;
  /** `gaps`: only once retention trimmed past the acked offset (subscriptions/links.ts jumpOver). */
  streams: (Pick<StreamInfo, "path" | "link_type" | "acked_offset"> & { gaps?: GapsView })[];
  webhook?: { url: string } | undefined;
  wake_stream?: string | undefined;
  lease_ttl_ms: number;
  created_at: string;
  status: "active" | "failed";
  /** Why the last webhook attempt failed, while the wake is retried; null otherwise. */
  last_error: string | null;
  description?: string | undefined;
}

export type CreateResult = { ok: true; created: boolean; view: SubscriptionView } | DsFailure;
export type ViewResult = { ok: true; view: SubscriptionView } | DsFailure;
export type Done = { ok: true } | DsFailure;
export type AnswerResult = { ok: true; next_wake: boolean } | DsFailure;
export type ClaimResult = { ok: true; wake_id: string; generation: number; token: string; streams: StreamInfo[]; lease_ttl_ms: number } | DsFailure;
