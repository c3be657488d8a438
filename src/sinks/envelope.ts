// What a sink POSTs for a batch, by envelope:
// - raw: the batch as a catch-up read returns it, with the source's content type: a JSON array of
//   the messages for JSON streams, the concatenated bytes for the others;
// - cloudevents: CloudEvents 1.0 in batch mode (application/cloudevents-batch+json), one event per
//   message (each built by src/protocol/cloudevents.ts, shared with CloudEvents estuaries).
import { concatBytes } from "../bytes";
import { cloudEventJson, type Envelope } from "../protocol/cloudevents";
import { isJsonMode } from "../protocol/content-type";
import type { BatchMessage } from "./batch";

export { DEFAULT_TYPE_PREFIX, ENVELOPES, eventId, type Envelope } from "../protocol/cloudevents";

export const CLOUDEVENTS_BATCH_TYPE = "application/cloudevents-batch+json";

export interface EnvelopeInput {
  envelope: Envelope;
  typePrefix: string;
  /** The source stream's key ("project/stream") and generation (it changes when re-created). */
  source: string;
  generation: number;
  contentType: string;
  /** When the sink first read the batch (kept with it, so retries carry the same time). */
  readAt: number;
  messages: readonly BatchMessage[];
}

export interface Body {
  bytes: Uint8Array;
  contentType: string;
}

const encoder = new TextEncoder();

export function buildBody(input: EnvelopeInput): Body {
  if (input.envelope === "cloudevents") return { bytes: encoder.encode(cloudEvents(input)), contentType: CLOUDEVENTS_BATCH_TYPE };
  const datas = input.messages.map((message) => message.data);
  if (!isJsonMode(input.contentType)) return { bytes: concatBytes(datas), contentType: input.contentType };
  // Stored JSON messages are valid JSON texts already: join them, do not re-serialise (numbers
  // such as 1e400 and string escapes stay exactly as they were appended).
  const parts: Uint8Array[] = [encoder.encode("[")];
  datas.forEach((data, i) => {
    if (i > 0) parts.push(encoder.encode(","));
    parts.push(data);
  });
  parts.push(encoder.encode("]"));
  return { bytes: concatBytes(parts), contentType: input.contentType };
}

function cloudEvents(input: EnvelopeInput): string {
  const { source, generation, contentType, typePrefix, readAt: time } = input;
  const events = input.messages.map(({ position, data }) => cloudEventJson({ source, generation, contentType, typePrefix, time, position, data }));
  return `[${events.join(",")}]`;
}
