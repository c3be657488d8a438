// What a sink POSTs for a batch, by envelope:
// - raw: the batch as a catch-up read returns it, with the source's content type: a JSON array of
//   the messages for JSON streams, the concatenated bytes for the others;
// - cloudevents: CloudEvents 1.0 in batch mode (application/cloudevents-batch+json), one event per
//   message (each built by src/protocol/cloudevents.ts, shared with CloudEvents estuaries).
import { concatBytes } from "../bytes";
import { cloudEventJson, gapEventJson, type Envelope } from "../protocol/cloudevents";
import { isJsonMode } from "../protocol/content-type";
import type { BatchMessage } from "./batch";
import type { InFlight, SinkRecord } from "./repository";

export { DEFAULT_TYPE_PREFIX, ENVELOPES, eventId, type Envelope } from "../protocol/cloudevents";

export const CLOUDEVENTS_BATCH_TYPE = "application/cloudevents-batch+json";
/** A single CloudEvent in structured mode: how a raw sink is told of a gap, never of data. */
export const CLOUDEVENT_TYPE = "application/cloudevents+json";

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

/**
 * What a sink POSTs for a gap (retention trimmed [from, to) before the sink had it): the gap event
 * CloudEvents estuaries get (`<typePrefix>.gap`), as a batch of one for the cloudevents envelope
 * and as one structured-mode event (application/cloudevents+json) for raw, so a raw receiver tells
 * it from data by its content type.
 */
export function buildGapBody(sink: SinkRecord, batch: InFlight): Body {
  const { source, sourceGeneration: generation } = sink;
  const event = gapEventJson({ source, generation, typePrefix: sink.config.typePrefix, time: batch.readAt, from: batch.from, to: batch.to, messages: batch.gap?.messages ?? null });
  if (sink.config.envelope === "cloudevents") return { bytes: encoder.encode(`[${event}]`), contentType: CLOUDEVENTS_BATCH_TYPE };
  return { bytes: encoder.encode(event), contentType: CLOUDEVENT_TYPE };
}
