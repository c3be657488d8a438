// Cutting a sink's next batch out of a slice of its source: whole messages only, in order, bounded
// in messages and bytes. Positions are the source's byte positions, so a batch is the range
// [from, to) and reading that range again always yields the same messages.
import type { Segment } from "../contract/segments";
import { concatBytes } from "../bytes";

/** Messages per batch: one POST, small enough for any receiver to handle in one go. */
export const MAX_BATCH_MESSAGES = 100;
/**
 * Source bytes per batch (the envelope adds its own). A single message larger than this (up to
 * the 8 MiB append limit) is sent alone.
 */
export const MAX_BATCH_BYTES = 1 << 20;

/** One source message and where it starts in the source. */
export interface BatchMessage {
  position: number;
  data: Uint8Array;
}

export interface Batch {
  from: number;
  to: number;
  messages: BatchMessage[];
  /** The slice held more than the batch took: another batch follows at once. */
  more: boolean;
}

/**
 * Takes whole messages from `segments` (which start at `from`) until either bound is reached.
 * A message that does not end within the slice is left out; a batch with no message at all means
 * the first message is larger than the slice (read it alone with a larger slice).
 */
export function cutBatch(segments: readonly Segment[], from: number, limits = { messages: MAX_BATCH_MESSAGES, bytes: MAX_BATCH_BYTES }): Batch {
  const messages: BatchMessage[] = [];
  let position = from;
  let bytes = 0;
  let pending: Uint8Array[] = [];
  let pendingBytes = 0;
  let more = false;
  for (const segment of segments) {
    if (messages.length >= limits.messages || (messages.length > 0 && bytes >= limits.bytes)) {
      more = true;
      break;
    }
    pending.push(segment.data);
    pendingBytes += segment.data.length;
    if (!segment.messageEnd) continue;
    if (messages.length > 0 && bytes + pendingBytes > limits.bytes) {
      more = true;
      pending = [];
      break;
    }
    messages.push({ position, data: concatBytes(pending) });
    position += pendingBytes;
    bytes += pendingBytes;
    pending = [];
    pendingBytes = 0;
  }
  if (pending.length > 0) more = true;
  return { from, to: position, messages, more };
}
