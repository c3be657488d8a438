// The envelope of an estuary subscription: how one source's messages become the estuary's. Raw (no
// envelope) keeps them as the source has them; CloudEvents turns each into one JSON event, so the
// estuary is an application/json stream whatever the source's type. The envelope belongs to the
// (source, estuary) subscription, and every delivery path applies it in the receiver.
import { z } from "zod";
import type { Delivery } from "../contract/fanout";
import { Count } from "../contract/primitives";
import { positionedMessages } from "../contract/segments";
import { cloudEventJson, gapEventJson, TYPE_PREFIX_PATTERN } from "../protocol/cloudevents";


/** What subscribing with the CloudEvents envelope asks for (AttachSource.envelope). */
export const CloudEventsRequestSchema = z.object({
  envelope: z.literal("cloudevents"),
  typePrefix: z.string().regex(TYPE_PREFIX_PATTERN),
  /**
   * The source's generation when subscribed, part of every event id. It cannot change under a
   * subscription: deleting the source ends its subscriptions.
   */
  sourceGeneration: Count,
});
export type CloudEventsRequest = z.infer<typeof CloudEventsRequestSchema>;

/** A CloudEvents subscription as the estuary keeps it (estuary_sources.envelope, as JSON). */
export const CloudEventsSubscriptionSchema = CloudEventsRequestSchema.extend({
  /** The source's content type: each event's `datacontenttype`, and whether it carries `data` or `data_base64`. */
  sourceContentType: z.string().min(1),
});
export type CloudEventsSubscription = z.infer<typeof CloudEventsSubscriptionSchema>;

/** A subscription's envelope: null for raw, the default. */
export type SubscriptionEnvelope = CloudEventsSubscription | null;

const JSON_CONTENT_TYPE = "application/json";
const encoder = new TextEncoder();

/** The content type a subscription writes into its estuary, which must be the estuary's own. */
export function producedContentType(sourceContentType: string, envelope: CloudEventsRequest | undefined): string {
  return envelope ? JSON_CONTENT_TYPE : sourceContentType;
}

export function subscriptionEnvelope(sourceContentType: string, envelope: CloudEventsRequest | undefined): SubscriptionEnvelope {
  return envelope ? { ...envelope, sourceContentType } : null;
}

/** Re-subscribing is idempotent only with the same envelope (the generation is the source's own). */
export function sameEnvelope(a: SubscriptionEnvelope, b: SubscriptionEnvelope): boolean {
  if (a === null || b === null) return a === b;
  return a.typePrefix === b.typePrefix;
}

export function describeEnvelope(envelope: SubscriptionEnvelope): string {
  return envelope ? `the cloudevents envelope (type prefix ${envelope.typePrefix})` : "the raw envelope";
}

/**
 * The estuary messages a delivery becomes: its source messages as they are, or one CloudEvent each.
 * `time` is when the estuary applies the delivery: slices do not carry the source rows' append time yet (see README).
 */
export function envelopeMessages(envelope: SubscriptionEnvelope, delivery: Delivery, raw: Uint8Array[], time: number): Uint8Array[] {
  if (!envelope) return raw;
  if (delivery.gap) {
    // A raw subscription has no message shape to say it in: its gap is on the status route only.
    const { typePrefix, sourceGeneration: generation } = envelope;
    const { source, from, to } = delivery;
    return [encoder.encode(gapEventJson({ source, generation, typePrefix, time, from, to, messages: delivery.gap.messages }))];
  }
  const { typePrefix, sourceGeneration: generation, sourceContentType: contentType } = envelope;
  return positionedMessages(delivery.from, delivery.segments).map(({ position, data }) =>
    encoder.encode(cloudEventJson({ source: delivery.source, generation, contentType, typePrefix, time, position, data })),
  );
}
