// Renders read segments as a response body: raw bytes, or one JSON array in JSON mode.
import { concatBytes } from "../bytes";
import { messagesOf } from "../stream/chunks";
import type { Segment } from "../stream/commands";
import { isJsonMode } from "../stream/content-type";

const encoder = new TextEncoder();
const OPEN = encoder.encode("[");
const COMMA = encoder.encode(",");
const CLOSE = encoder.encode("]");

export function renderPayload(contentType: string, segments: readonly Segment[]): Uint8Array {
  if (!isJsonMode(contentType)) return concatBytes(segments.map((segment) => segment.data));
  const parts: Uint8Array[] = [OPEN];
  messagesOf(segments).forEach((message, index) => {
    if (index > 0) parts.push(COMMA);
    parts.push(message);
  });
  parts.push(CLOSE);
  return concatBytes(parts);
}
