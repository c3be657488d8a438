// The estuary side of fan-out: decides whether a delivery is new, a re-delivery, or out of order.
// Positions are the SOURCE's positions, recorded per source with the delivered data.
import { deliveredMessages, type Delivery, type DeliveryOutcome } from "../contract/fanout";

export type DeliveryPlan =
  | { kind: "write"; messages: Uint8Array[] }
  | { kind: "skip"; outcome: Exclude<DeliveryOutcome, { status: "applied" }> };

/** `applied`: how far this estuary has applied the delivery's source, or undefined if not subscribed. */
export function planDelivery(applied: number | undefined, delivery: Delivery): DeliveryPlan {
  if (applied === undefined) return { kind: "skip", outcome: { ok: true, status: "unsubscribed", applied: 0 } };
  if (delivery.to <= applied) return { kind: "skip", outcome: { ok: true, status: "duplicate", applied } };
  if (delivery.from !== applied) return { kind: "skip", outcome: { ok: true, status: "gap", applied } };
  return { kind: "write", messages: deliveredMessages(delivery) };
}
