// Stored bytes as they cross RPC between objects: runs of bytes that know where messages end.
import { z } from "zod";
import { concatBytes } from "../bytes";

/** A run of stored bytes; `messageEnd` marks where a JSON message (or byte-mode append) ends. */
export interface Segment {
  data: Uint8Array;
  messageEnd: boolean;
}

/** Bytes as they arrive over RPC (any backing buffer). */
export const BytesSchema = z.custom<Uint8Array>((value) => value instanceof Uint8Array, "expected bytes");

export const SegmentSchema = z.object({ data: BytesSchema, messageEnd: z.boolean() });

/** Groups segments into whole messages (JSON mode), joining rows of a message split across rows. */
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
