// CloudEvents 1.0 (JSON format) for stream messages: one event per source message, built the same
// way by data sinks (batches, src/sinks/envelope.ts) and CloudEvents estuaries (one event per
// estuary message, src/estuary/envelope.ts), so both give a message the same event id.
import { toBase64 } from "../bytes";
import { isJsonMode, mediaType } from "./content-type";
import { formatOffset } from "./offsets";
import { streamPathOf } from "./stream-address";

/** How a subscriber receives messages: as the source has them, or as CloudEvents. */
export const ENVELOPES = ["raw", "cloudevents"] as const;
export type Envelope = (typeof ENVELOPES)[number];

/** CloudEvents `type` is `${typePrefix}.appended`; this is the prefix when a subscriber names none. */
export const DEFAULT_TYPE_PREFIX = "durable-estuary.stream";

/** A type prefix: a reverse-DNS-like name, short enough to keep every event's head small. */
export const TYPE_PREFIX_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;

/** One source message, and what the event says about where it comes from. */
export interface EventInput {
  /** The source stream's key ("project/stream") and generation (it changes when re-created). */
  source: string;
  generation: number;
  contentType: string;
  typePrefix: string;
  /** ms since the epoch; see each caller for what it measures (rows store their append time for retention, but slices do not carry it yet). */
  time: number;
  /** Where the message starts in the source. */
  position: number;
  data: Uint8Array;
}

/** The id of a message's event: unique per source message, the same on every retry and every subscriber. */
export function eventId(generation: number, position: number): string {
  return `${generation}_${formatOffset(position)}`;
}

const decoder = new TextDecoder();

/** The event as JSON text: `data` for JSON and text/* sources, `data_base64` for any other type. */
export function cloudEventJson(input: EventInput): string {
  const json = isJsonMode(input.contentType);
  const text = mediaType(input.contentType).startsWith("text/");
  const head = JSON.stringify({
    specversion: "1.0",
    id: eventId(input.generation, input.position),
    source: streamPathOf(input.source),
    type: `${input.typePrefix}.appended`,
    time: new Date(input.time).toISOString(),
    datacontenttype: input.contentType,
    ...(json ? {} : text ? { data: decoder.decode(input.data) } : { data_base64: toBase64(input.data) }),
  });
  // A stored JSON message is a valid JSON text already: it is spliced in as it is, never
  // re-serialised (numbers such as 1e400 and string escapes stay exactly as they were appended).
  return json ? `${head.slice(0, -1)},"data":${decoder.decode(input.data)}}` : head;
}

/** A gap event's `type` is `${typePrefix}.gap`: retention trimmed messages before the subscriber had them. */
export const GAP_EVENT_SUFFIX = "gap";

/** What a gap event says: the source range lost and how much it held (messages null: unknown). */
export interface GapEventInput {
  source: string;
  generation: number;
  typePrefix: string;
  time: number;
  from: number;
  to: number;
  messages: number | null;
}

/**
 * The one event a CloudEvents subscriber gets for a gap, in order where the lost messages were.
 * Its id names the gap's start with a `_gap` suffix, so it never equals a message's event id.
 */
export function gapEventJson(input: GapEventInput): string {
  return JSON.stringify({
    specversion: "1.0",
    id: `${eventId(input.generation, input.from)}_gap`,
    source: streamPathOf(input.source),
    type: `${input.typePrefix}.${GAP_EVENT_SUFFIX}`,
    time: new Date(input.time).toISOString(),
    datacontenttype: "application/json",
    data: { fromOffset: formatOffset(input.from), toOffset: formatOffset(input.to), messages: input.messages, bytes: input.to - input.from },
  });
}
