// The gaps retention leaves in a subscriber's delivery (an estuary subscription, a data sink): one
// shape for every status route that shows them, and how a new gap adds to the totals.
import { z } from "zod";
import { OffsetString } from "./primitives";
import type { Failure } from "../errors";
import { formatOffset, parseOffset } from "../protocol/offsets";

/** One gap: source positions [from, to) lost, with how many messages (null: the source could not say). */
export interface GapRecord {
  from: number;
  to: number;
  messages: number | null;
  at: number;
}

/** What GET /v1/estuary/{project}/{estuaryId} shows per subscription (also a sink's status). */
export const GapsViewSchema = z.object({
  /** Jumps to the source's earliest offset. */
  count: z.number().int(),
  bytesLost: z.number().int(),
  /** Messages lost, counting only the gaps whose source knew their count. */
  messagesLost: z.number().int(),
  last: z.object({
    fromOffset: OffsetString,
    toOffset: OffsetString,
    messages: z.number().int().nullable(),
    bytes: z.number().int(),
    at: z.string().meta({ description: "when the subscriber jumped (RFC 3339)" }),
  }),
});
export type GapsView = z.infer<typeof GapsViewSchema>;

/** Adds `gap` to totals kept as a row (or none yet). */
export function addGap(view: GapsView | null, gap: GapRecord): GapsView {
  const bytes = gap.to - gap.from;
  return {
    count: (view?.count ?? 0) + 1,
    bytesLost: (view?.bytesLost ?? 0) + bytes,
    messagesLost: (view?.messagesLost ?? 0) + (gap.messages ?? 0),
    last: { fromOffset: formatOffset(gap.from), toOffset: formatOffset(gap.to), messages: gap.messages, bytes, at: new Date(gap.at).toISOString() },
  };
}

/** The earliest offset a 410 names, or null for any other failure (a soft-deleted stream's 410 names none). */
export function earliestOf(failure: Failure): number | null {
  const raw = failure.code === "gone" ? failure.details?.earliestOffset : undefined;
  const parsed = raw === undefined ? null : parseOffset(raw);
  return parsed?.kind === "at" ? parsed.position : null;
}

/**
 * What a subscriber reading a slice at `from` lost to retention: the gap up to the earliest offset,
 * with the messages in it when the slice's 410 counted them (stream/trim-marks.ts); null when the
 * failure is not a trim.
 */
export function gapOf(failure: Failure, from: number): { to: number; messages: number | null } | null {
  const to = earliestOf(failure);
  if (to === null || to <= from) return null;
  const counted = failure.details?.lostMessages;
  return { to, messages: counted === undefined ? null : Number(counted) };
}

/** A slice's 410 for a subscriber also names the messages it lost, when the trim's marks know. */
export function withLostMessages(failure: Failure, messages: number | null): Failure {
  return messages === null ? failure : { ...failure, details: { ...failure.details, lostMessages: String(messages) } };
}
