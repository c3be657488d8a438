// Turning appended messages into stored rows, and stored rows back into readable segments.
import { concatBytes } from "../bytes";
import type { Segment } from "../contract/segments";
import type { Chunk } from "./repository";

/** 1 MiB per row keeps every value well under DO SQLite's 2 MB cap. */
export const ROW_BYTES = 1 << 20;

/** Catch-up responses stop at the first message boundary past this many bytes. */
export const READ_CHUNK_BYTES = 1 << 20;

/**
 * Lays one append's messages out from `start`, packed into rows of at most ROW_BYTES: a row holds
 * many small messages, and a message larger than a row spans several. Each row records where
 * messages end inside it; the last row of the append is marked.
 */
export function toChunks(start: number, messages: readonly Uint8Array[]): Chunk[] {
  const data = concatBytes(messages);
  const ends: number[] = [];
  let at = 0;
  for (const message of messages) ends.push((at += message.length));
  const chunks: Chunk[] = [];
  let nextEnd = 0;
  for (let offset = 0; offset < data.length; offset += ROW_BYTES) {
    const rowEnd = Math.min(offset + ROW_BYTES, data.length);
    const innerEnds: number[] = [];
    for (; nextEnd < ends.length && (ends[nextEnd] ?? 0) < rowEnd; nextEnd++) {
      const end = ends[nextEnd] ?? 0;
      if (end > offset) innerEnds.push(end - offset);
    }
    chunks.push({
      start: start + offset,
      end: start + rowEnd,
      data: data.subarray(offset, rowEnd),
      innerEnds,
      messageEnd: ends[nextEnd] === rowEnd,
      appendEnd: rowEnd === data.length,
    });
  }
  return chunks;
}

/** Splits rows at the messages packed inside them, skipping pieces that end at or before `from`. */
function* piecesOf(chunks: Iterable<Chunk>, from: number): Generator<Chunk> {
  for (const chunk of chunks) {
    let begin = 0;
    for (const end of chunk.innerEnds) {
      if (chunk.start + end > from) {
        yield { start: chunk.start + begin, end: chunk.start + end, data: chunk.data.subarray(begin, end), innerEnds: [], messageEnd: true, appendEnd: false };
      }
      begin = end;
    }
    yield begin === 0 ? chunk : { ...chunk, start: chunk.start + begin, data: chunk.data.subarray(begin), innerEnds: [] };
  }
}

export interface Gathered {
  segments: Segment[];
  next: number;
  bytes: number;
  /** The walk stopped at the end of an append (only tracked when asked to stop there). */
  appendEnded: boolean;
}

export interface GatherLimits {
  /** Stop once this many bytes are gathered and a message boundary is reached. */
  maxBytes: number;
  /** In JSON mode a message's rows are never split across responses. */
  jsonMode: boolean;
  /** Stop after the first append ends (used to select a fork's sub-offset). */
  stopAtAppendEnd: boolean;
}

/** Collects chunk data from `from` up to `limit`, one segment per message piece, trimming at either end. */
export function gather(chunks: Iterable<Chunk>, from: number, limit: number, limits: GatherLimits): Gathered {
  const segments: Segment[] = [];
  let next = from;
  let bytes = 0;
  for (const chunk of piecesOf(chunks, from)) {
    // A hole (never expected), or a limit that falls on a message end inside a row.
    if (chunk.start > next || chunk.start >= limit) break;
    const begin = Math.max(from, chunk.start) - chunk.start;
    const end = Math.min(limit, chunk.end) - chunk.start;
    const data = chunk.data.subarray(begin, end);
    const reachedEnd = chunk.start + end === chunk.end;
    segments.push({ data, messageEnd: reachedEnd && chunk.messageEnd });
    next = chunk.start + end;
    bytes += data.length;
    if (!reachedEnd) break;
    if (limits.stopAtAppendEnd && chunk.appendEnd) return { segments, next, bytes, appendEnded: true };
    const atBoundary = !limits.jsonMode || chunk.messageEnd;
    if (bytes >= limits.maxBytes && atBoundary) break;
  }
  return { segments, next, bytes, appendEnded: false };
}
