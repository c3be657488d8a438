// The estuary side of fan-out: decides whether a delivery is new, a re-delivery, or out of order.
// Positions are the SOURCE's positions, recorded per source with the delivered data.
import { z } from "zod";
import { messagesOf } from "./chunks";
import type { Segment } from "./commands";

const Count = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

export const DeliverySchema = z.object({
  source: z.string().min(1),
  /** The delivered data covers source positions [from, to). */
  from: Count,
  to: Count,
  segments: z.array(z.object({ data: z.custom<Uint8Array>((v) => v instanceof Uint8Array), messageEnd: z.boolean() })),
});
export type Delivery = z.infer<typeof DeliverySchema>;

export type DeliveryOutcome =
  /** Written: `messages` estuary messages, costing `rowsWritten` SQLite rows. */
  | { ok: true; status: "applied"; applied: number; messages: number; rowsWritten: number }
  | { ok: true; status: "duplicate"; applied: number }
  /** The estuary has applied up to `applied`, which is not where this delivery starts: resend from there. */
  | { ok: true; status: "gap"; applied: number }
  /** The estuary is gone, closed, or no longer subscribed: stop delivering to it. */
  | { ok: true; status: "unsubscribed"; applied: number };

export type DeliveryPlan =
  | { kind: "write"; messages: Uint8Array[] }
  | { kind: "skip"; outcome: Exclude<DeliveryOutcome, { status: "applied" }> };

export function planDelivery(applied: number | undefined, delivery: Delivery): DeliveryPlan {
  if (applied === undefined) return { kind: "skip", outcome: { ok: true, status: "unsubscribed", applied: 0 } };
  if (delivery.to <= applied) return { kind: "skip", outcome: { ok: true, status: "duplicate", applied } };
  if (delivery.from !== applied) return { kind: "skip", outcome: { ok: true, status: "gap", applied } };
  return { kind: "write", messages: messagesOf(delivery.segments as Segment[]) };
}
