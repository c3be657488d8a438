// Hands a range of a source to estuaries. Shared by the inline path and the queue consumer.
// Safe to repeat: estuaries drop what they already applied, and report gaps to be filled from the source.
import type { Env } from "../env";
import { streamStub } from "../stream/stub";
import { FANOUT_SLICE_BYTES, type DeliveryError, type DeliveryOutcome, type FanoutCost, type Gap } from "../contract/fanout";
import { gapOf } from "../contract/gaps";
import type { Segment } from "../contract/segments";
import { mapLimit } from "../map-limit";
import { addCost, NO_COST } from "./cost";


/** Concurrent delivery RPCs from one fan-out round. */
export const DELIVERY_CONCURRENCY = 16;

/** Gap catch-up reads per estuary in one attempt, so a far-behind estuary cannot hog a round. */
const MAX_CATCH_UP_STEPS = 8;

export interface Slice {
  segments: Segment[];
  next: number;
  /** Retention trimmed [from, next) before fan-out had it: the slice is a gap (no segments). */
  gap?: Gap;
}

/** Each result carries what it cost, so callers can keep the fan-out cost counters. */
export type DeliveryResult = { estuary: string; cost: FanoutCost } & (
  | { kind: "delivered"; applied: number }
  | { kind: "unsubscribed" }
  | { kind: "failed"; applied: number | null; error: unknown }
);

/**
 * A slice of the source (empty, with a gap, where retention trimmed it), or null when the source is
 * gone. A cold segment that cannot be read now is not "gone": it throws, so callers retry later
 * instead of unsubscribing anyone.
 */
export async function readSource(env: Env, source: string, from: number, to: number): Promise<Slice | null> {
  const slice = await streamStub(env, source).readSlice({ from, limit: to, maxBytes: FANOUT_SLICE_BYTES, stopAtAppendEnd: false });
  if (slice.ok) return { segments: slice.segments, next: slice.next };
  if (slice.code === "segment_unavailable") throw new Error(`reading ${source} at ${from}: ${slice.message}`);
  // Trimmed past the hold caps: whoever reads from `from` jumps to the earliest offset over a gap.
  const gap = gapOf(slice, from);
  return gap ? { segments: [], next: gap.to, gap: { messages: gap.messages } } : null;
}

/** Delivers [from, slice.next) to each estuary, then catches up any estuary that reports a gap. */
export async function deliverSlice(
  env: Env,
  source: string,
  estuaries: readonly string[],
  from: number,
  slice: Slice,
): Promise<DeliveryResult[]> {
  return mapLimit(estuaries, DELIVERY_CONCURRENCY, (estuary) => deliverOne(env, source, estuary, from, slice));
}

/** Brings one estuary up to `target`, starting from where it says it is. */
export async function catchUp(
  env: Env,
  source: string,
  estuary: string,
  from: number,
  target: number,
  spent: FanoutCost = NO_COST,
): Promise<DeliveryResult> {
  let position = from;
  let cost = spent;
  try {
    for (let step = 0; step < MAX_CATCH_UP_STEPS && position < target; step++) {
      const slice = await readSource(env, source, position, target);
      cost = addCost(cost, { rpcs: 1, sourceReads: 1 });
      if (!slice) return { estuary, cost, kind: "unsubscribed" };
      const outcome = await streamStub(env, estuary).deliver({ source, from: position, to: slice.next, segments: slice.segments, gap: slice.gap });
      cost = addCost(cost, costOf(outcome));
      if (outcome.status === "unsubscribed") return { estuary, cost, kind: "unsubscribed" };
      position = outcome.status === "gap" ? outcome.applied : Math.max(outcome.applied, slice.next);
    }
    return { estuary, cost, kind: "delivered", applied: position };
  } catch (error) {
    return { estuary, cost, kind: "failed", applied: position, error };
  }
}

async function deliverOne(env: Env, source: string, estuary: string, from: number, slice: Slice): Promise<DeliveryResult> {
  try {
    const outcome = await streamStub(env, estuary).deliver({ source, from, to: slice.next, segments: slice.segments, gap: slice.gap });
    const cost = addCost(NO_COST, costOf(outcome));
    if (outcome.status === "unsubscribed") return { estuary, cost, kind: "unsubscribed" };
    if (outcome.status === "gap") return catchUp(env, source, estuary, outcome.applied, slice.next, cost);
    return { estuary, cost, kind: "delivered", applied: outcome.applied };
  } catch (error) {
    return { estuary, cost: addCost(NO_COST, { rpcs: 1 }), kind: "failed", applied: null, error };
  }
}

/** One delivery RPC, and what the estuary reports having written. */
function costOf(outcome: DeliveryOutcome): Partial<FanoutCost> {
  return outcome.status === "applied"
    ? { rpcs: 1, messagesDelivered: outcome.messages, rowsWritten: outcome.rowsWritten }
    : { rpcs: 1 };
}

/** The total cost of a batch of deliveries. */
export function totalCost(results: readonly DeliveryResult[]): FanoutCost {
  return results.reduce((sum, result) => addCost(sum, result.cost), NO_COST);
}

/**
 * Logs a batch's failed deliveries once (source, how many, the first error) and returns the first
 * as the fan-out's `lastError`, or null when none failed.
 */
export function reportFailures(source: string, results: readonly DeliveryResult[], now = Date.now()): DeliveryError | null {
  const failed = results.filter((result) => result.kind === "failed");
  const first = failed[0];
  if (!first) return null;
  const message = errorMessage(first.error);
  console.warn(`fan-out of ${source}: ${failed.length} of ${results.length} deliveries failed; first: ${first.estuary}: ${message}`);
  return { at: now, estuary: first.estuary, message };
}

/** A failure that is the round's own (reading the source, queueing), logged and kept as `lastError`. */
export function roundFailure(source: string, what: string, error: unknown, now = Date.now()): DeliveryError {
  const message = `${what}: ${errorMessage(error)}`;
  console.warn(`fan-out of ${source}: ${message}`);
  return { at: now, estuary: null, message };
}

function errorMessage(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).slice(0, 1_000);
}
