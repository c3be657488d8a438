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

/** One whole message and where it starts, in the positions of the stream it was read from. */
export interface PositionedMessage {
  position: number;
  data: Uint8Array;
}

/** Groups segments into whole messages (JSON mode), joining rows of a message split across rows. */
export function messagesOf(segments: readonly Segment[]): Uint8Array[] {
  return positionedMessages(0, segments).map((message) => message.data);
}

/**
 * The same, with each message's position when the segments start at `from`: positions are byte
 * positions of the stored messages, so each message starts where the one before it ended.
 */
export function positionedMessages(from: number, segments: readonly Segment[]): PositionedMessage[] {
  const messages: PositionedMessage[] = [];
  let position = from;
  let pending: Uint8Array[] = [];
  const flush = () => {
    const data = concatBytes(pending);
    messages.push({ position, data });
    position += data.length;
    pending = [];
  };
  for (const segment of segments) {
    pending.push(segment.data);
    if (segment.messageEnd) flush();
  }
  if (pending.length > 0) flush();
  return messages;
}
