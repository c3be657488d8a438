// The calls a subscription makes to other objects because of a change it committed, through its
// outbox (storage/outbox.ts): written with the change, retried until they succeed, so each is
// idempotent. Each names the subscription's incarnation, so calls left by a deleted subscription
// never touch one created again under the same id.
import { z } from "zod";
import { StreamKeySchema } from "../contract/fanout";
import { IncarnationSchema, SubscriptionIdSchema } from "../contract/subscriptions";

const Name = z.string().min(1).max(128);

export const SubscriptionCallSchema = z.discriminatedUnion("kind", [
  /** Record a glob in the project's registry; the existing streams it matches are linked at their tails. */
  z.object({ kind: z.literal("addWatch"), project: Name, glob: Name, subscription: SubscriptionIdSchema, incarnation: IncarnationSchema }),
  /** Drop one glob (or all, `glob` null) from the project's registry. */
  z.object({ kind: z.literal("removeWatch"), project: Name, glob: Name.nullable(), subscription: SubscriptionIdSchema, incarnation: IncarnationSchema }),
  /** Start hearing about a stream's appends; answers its tail, which a new link is acked at. */
  z.object({ kind: z.literal("watch"), stream: StreamKeySchema, subscription: SubscriptionIdSchema, incarnation: IncarnationSchema }),
  z.object({ kind: z.literal("unwatch"), stream: StreamKeySchema, subscription: SubscriptionIdSchema, incarnation: IncarnationSchema }),
  /** Pull-wake: append a wake event to the wake stream. */
  z.object({ kind: z.literal("wakeEvent"), stream: StreamKeySchema, event: z.string().max(4_096) }),
]);
export type SubscriptionCall = z.infer<typeof SubscriptionCallSchema>;
