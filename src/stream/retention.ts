// The one rule for reads of what retention has trimmed, applied by every read path (catch-up,
// long-poll, SSE through read(), WebSocket accept and sync, cached pages through readCheck, and
// slices for forks and fan-out): a position below the stream's earliest answers 410 Gone with the
// offsets the reader may use instead, and `-1` means the earliest, not position 0.
import { fail, type Failure } from "../errors";
import type { OffsetQuery } from "../protocol/offsets";
import { formatOffset, parseOffset } from "../protocol/offsets";
import type { StreamMeta } from "./repository";

/** Where a read asked for with `offset` starts. */
export function readStart(meta: StreamMeta, offset: OffsetQuery): number {
  return offset.kind === "start" ? meta.earliest : offset.kind === "now" ? meta.tail : offset.position;
}

/** The 410 a read below `earliest` gets: never cached, and naming where the retained data starts. */
export function trimmedAway(earliest: number, tail: number): Failure {
  const earliestOffset = formatOffset(earliest);
  return fail(
    "gone",
    `the data at this offset was removed by the stream's retention policy; read from ${earliestOffset} (or offset=-1)`,
    { "Stream-Earliest-Offset": earliestOffset, "Cache-Control": "no-store" },
    { earliestOffset, tailOffset: formatOffset(tail) },
  );
}

/** Null when `position` is still stored (or inherited), else the 410. */
export function checkRetained(meta: StreamMeta, position: number): Failure | null {
  return position < meta.earliest ? trimmedAway(meta.earliest, meta.tail) : null;
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
