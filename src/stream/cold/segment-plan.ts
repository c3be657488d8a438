// Which hot rows the next cold segment takes: the oldest, whole rows, up to one catch-up page.
import { READ_CHUNK_BYTES } from "../chunks";
import type { Chunk } from "../repository";
import { indexBytesOf } from "./segment-index";

/**
 * A segment holds at most one catch-up page (READ_CHUNK_BYTES), so a catch-up read of a cold range
 * fetches from one object only and never more than a page of it. A JSON message larger than that
 * stays whole in one segment, as a hot catch-up page would also return it whole.
 */
export const SEGMENT_BYTES = READ_CHUNK_BYTES;

/**
 * The row layout is kept in the segment's SQLite row; this keeps that row small (DO SQLite allows
 * 2 MB) for streams of tiny JSON messages, where each message adds 4 bytes of layout.
 */
export const SEGMENT_INDEX_BYTES = 256 * 1024;

export interface SegmentLimits {
  jsonMode: boolean;
  /** The stream's tail: the last row always stays hot (the tail is derived from it on load). */
  tail: number;
  maxBytes?: number;
  maxIndexBytes?: number;
}

/**
 * The rows of the next segment, starting with the first of `rows` (the oldest hot row), or null
 * when no sealed range is ready: a JSON stream's segment must end where a message ends.
 */
export function planSegment(rows: Iterable<Chunk>, limits: SegmentLimits): Chunk[] | null {
  const maxBytes = limits.maxBytes ?? SEGMENT_BYTES;
  const maxIndex = limits.maxIndexBytes ?? SEGMENT_INDEX_BYTES;
  const taken: Chunk[] = [];
  let bytes = 0;
  let indexBytes = 0;
  for (const row of rows) {
    if (row.end >= limits.tail) break;
    const last = taken.at(-1);
    if (last && row.start !== last.end) break; // a hole (never expected): seal what is contiguous
    const insideMessage = limits.jsonMode && last !== undefined && !last.messageEnd;
    const fits = bytes + (row.end - row.start) <= maxBytes && indexBytes + indexBytesOf(row) <= maxIndex;
    if (last && !fits && !insideMessage) break;
    taken.push(row);
    bytes += row.end - row.start;
    indexBytes += indexBytesOf(row);
  }
  if (limits.jsonMode) {
    while (taken.length > 0 && !taken.at(-1)?.messageEnd) taken.pop();
  }
  return taken.length > 0 ? taken : null;
}
