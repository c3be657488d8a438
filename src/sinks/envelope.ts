// What a sink POSTs for a batch, by envelope:
// - raw: the batch as a catch-up read returns it, with the source's content type: a JSON array of
//   the messages for JSON streams, the concatenated bytes for the others;
// - cloudevents: CloudEvents 1.0 in batch mode (application/cloudevents-batch+json), one event per
//   message.
import { concatBytes, toBase64 } from "../bytes";
import { isJsonMode, mediaType } from "../protocol/content-type";
import { formatOffset } from "../protocol/offsets";
import { streamPathOf } from "../protocol/stream-address";
import type { BatchMessage } from "./batch";

export const ENVELOPES = ["raw", "cloudevents"] as const;
export type Envelope = (typeof ENVELOPES)[number];

/** CloudEvents `type` is `${typePrefix}.appended`; this is the prefix when a sink names none. */
export const DEFAULT_TYPE_PREFIX = "durable-estuary.stream";

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

/** The id of a message's event: unique per source message, the same on every retry and every sink. */
export function eventId(generation: number, position: number): string {
  return `${generation}_${formatOffset(position)}`;
}

function cloudEvents(input: EnvelopeInput): string {
  const json = isJsonMode(input.contentType);
  const text = mediaType(input.contentType).startsWith("text/");
  const decoder = new TextDecoder();
  const time = new Date(input.readAt).toISOString();
  const events = input.messages.map((message) => {
    const head = JSON.stringify({
      specversion: "1.0",
      id: eventId(input.generation, message.position),
      source: streamPathOf(input.source),
      type: `${input.typePrefix}.appended`,
      time,
      datacontenttype: input.contentType,
      ...(json ? {} : text ? { data: decoder.decode(message.data) } : { data_base64: toBase64(message.data) }),
    });
    // The stored JSON message is spliced in as it is, for the same reason as in raw batches.
    return json ? `${head.slice(0, -1)},"data":${decoder.decode(message.data)}}` : head;
  });
  return `[${events.join(",")}]`;
}
