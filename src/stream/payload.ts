// Renders read segments as a response body: raw bytes, or one JSON array in JSON mode. Rendered in
// the StreamDO so that a read crosses RPC as one buffer rather than one object per stored row.
import type { Segment } from "../contract/segments";
import { isJsonMode } from "../protocol/content-type";

const OPEN = 0x5b; // [
const COMMA = 0x2c; // ,
const CLOSE = 0x5d; // ]

export function renderPayload(contentType: string, segments: readonly Segment[]): Uint8Array {
  const json = isJsonMode(contentType);
  let size = json ? 2 : 0;
  let messages = 0;
  for (const segment of segments) {
    size += segment.data.length;
    if (segment.messageEnd) messages++;
  }
  // In JSON mode a trailing segment without its end (never produced by reads) still counts as one.
  if (json && segments.length > 0 && !segments.at(-1)?.messageEnd) messages++;
  if (json) size += Math.max(0, messages - 1);

  const out = new Uint8Array(size);
  let offset = 0;
  if (json) out[offset++] = OPEN;
  let messageOpen = false;
  for (const segment of segments) {
    if (json && !messageOpen && offset > 1) out[offset++] = COMMA;
    out.set(segment.data, offset);
    offset += segment.data.length;
    messageOpen = !segment.messageEnd;
  }
  if (json) out[offset++] = CLOSE;
  return out;
}
