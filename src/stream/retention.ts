// The one rule for reads of what retention has trimmed, applied by every read path (catch-up,
// long-poll, SSE through read(), WebSocket accept and sync, cached pages through readCheck, and
// slices for forks and fan-out): a position below the stream's earliest answers 410 Gone with the
// offsets the reader may use instead, and `-1` means the earliest, not position 0.
import { fail, type Failure } from "../errors";
import type { OffsetQuery } from "../protocol/offsets";
import { formatOffset } from "../protocol/offsets";
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

