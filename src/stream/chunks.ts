// Turning appended messages into stored rows, and stored rows back into readable segments.
import { concatBytes } from "../bytes";
import type { Segment } from "./commands";
import type { Chunk } from "./repository";

/** 1 MiB per row keeps every value well under DO SQLite's 2 MB cap. */
export const ROW_BYTES = 1 << 20;

/** Catch-up responses stop at the first message boundary past this many bytes. */
export const READ_CHUNK_BYTES = 1 << 20;

/** Lays messages out from `start`; the last row of each message and of the append are marked. */
export function toChunks(start: number, messages: readonly Uint8Array[]): Chunk[] {
  const chunks: Chunk[] = [];
  let position = start;
  for (const message of messages) {
    for (let offset = 0; offset < message.length; offset += ROW_BYTES) {
      const data = message.subarray(offset, offset + ROW_BYTES);
      chunks.push({
        start: position,
        end: position + data.length,
        data,
        messageEnd: offset + ROW_BYTES >= message.length,
        appendEnd: false,
      });
      position += data.length;
    }
  }
  const last = chunks.at(-1);
  if (last) last.appendEnd = true;
  return chunks;
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

/** Collects chunk data from `from` up to `limit`, trimming rows that straddle either end. */
export function gather(chunks: Iterable<Chunk>, from: number, limit: number, limits: GatherLimits): Gathered {
  const segments: Segment[] = [];
  let next = from;
  let bytes = 0;
  for (const chunk of chunks) {
    if (chunk.start > next) break;
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

/** Groups segments into whole messages (JSON mode), joining rows of a message split at ROW_BYTES. */
export function messagesOf(segments: readonly Segment[]): Uint8Array[] {
  const messages: Uint8Array[] = [];
  let pending: Uint8Array[] = [];
  for (const segment of segments) {
    pending.push(segment.data);
    if (segment.messageEnd) {
      messages.push(concatBytes(pending));
      pending = [];
    }
  }
  if (pending.length > 0) messages.push(concatBytes(pending));
  return messages;
}
