// Protocol request headers and query parameters, parsed and validated into command fields.
import { ApiError } from "../../errors";
import type { ProducerHeaders } from "../../stream/producer";
import { parseOffset, type OffsetQuery } from "../../protocol/offsets";

const CANONICAL_INTEGER = /^(0|[1-9]\d*)$/;
const DIGITS = /^\d+$/;
/** A media type (RFC 9110 tokens) with optional parameters, at most 256 characters. */
const MEDIA_TYPE = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+\/[!#$%&'*+.^_`|~0-9A-Za-z-]+\s*(;.*)?$/;
const MAX_CONTENT_TYPE_LENGTH = 256;
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

function invalid(message: string): ApiError {
  return new ApiError("bad_request", message);
}

function canonicalInteger(value: string, name: string): number {
  const number = Number(value);
  if (!CANONICAL_INTEGER.test(value) || !Number.isSafeInteger(number)) {
    throw invalid(`${name} must be a non-negative integer without leading zeros`);
  }
  return number;
}

/** The request's Content-Type, if any; malformed or oversized ones are 400. */
export function parseContentType(headers: Headers): string | undefined {
  const value = headers.get("Content-Type");
  if (value === null || value === "") return undefined;
  if (value.length > MAX_CONTENT_TYPE_LENGTH || !MEDIA_TYPE.test(value)) {
    throw invalid(`Content-Type must be a media type of at most ${MAX_CONTENT_TYPE_LENGTH} characters`);
  }
  return value;
}

export interface Expiry {
  ttlSeconds?: number;
  expiresAt?: number;
}

export function parseExpiry(headers: Headers): Expiry {
  const ttl = headers.get("Stream-TTL");
  const expires = headers.get("Stream-Expires-At");
  if (ttl !== null && expires !== null) throw invalid("send Stream-TTL or Stream-Expires-At, not both");
  if (ttl !== null) return { ttlSeconds: canonicalInteger(ttl, "Stream-TTL") };
  if (expires !== null) {
    const at = Date.parse(expires);
    if (!RFC3339.test(expires) || Number.isNaN(at)) throw invalid("Stream-Expires-At must be an RFC 3339 timestamp");
    return { expiresAt: at };
  }
  return {};
}

/** `Stream-Public: true` on PUT makes a stream readable without a token. */
export function parsePublic(headers: Headers): boolean {
  return headers.get("Stream-Public")?.toLowerCase() === "true";
}

/** Only the value "true" (any case) closes a stream. */
export function parseClosed(headers: Headers): boolean {
  return headers.get("Stream-Closed")?.toLowerCase() === "true";
}

export function parseProducer(headers: Headers): ProducerHeaders | undefined {
  const id = headers.get("Producer-Id");
  const epoch = headers.get("Producer-Epoch");
  const seq = headers.get("Producer-Seq");
  if (id === null && epoch === null && seq === null) return undefined;
  if (id === null || epoch === null || seq === null) {
    throw invalid("Producer-Id, Producer-Epoch and Producer-Seq must be sent together");
  }
  if (id === "") throw invalid("Producer-Id must not be empty");
  const toCount = (value: string, name: string) => {
    const number = Number(value);
    if (!DIGITS.test(value) || !Number.isSafeInteger(number)) throw invalid(`${name} must be an integer 0..2^53-1`);
    return number;
  };
  return { id, epoch: toCount(epoch, "Producer-Epoch"), seq: toCount(seq, "Producer-Seq") };
}

export interface ForkHeaders {
  source: string;
  position?: number;
  subOffset: number;
}

export function parseForkHeaders(headers: Headers): ForkHeaders | undefined {
  const source = headers.get("Stream-Forked-From");
  const offset = headers.get("Stream-Fork-Offset");
  const sub = headers.get("Stream-Fork-Sub-Offset");
  if (source === null) {
    if (offset !== null || sub !== null) throw invalid("fork headers require Stream-Forked-From");
    return undefined;
  }
  let position: number | undefined;
  if (offset !== null) {
    const parsed = parseOffset(offset);
    if (!parsed || parsed.kind === "now") throw invalid("Stream-Fork-Offset is not a valid offset");
    position = parsed.kind === "start" ? 0 : parsed.position;
  }
  const subOffset = sub === null ? 0 : canonicalInteger(sub, "Stream-Fork-Sub-Offset");
  if (subOffset > 0 && position === undefined) throw invalid("Stream-Fork-Sub-Offset needs Stream-Fork-Offset");
  return { source, position, subOffset };
}

export type LiveMode = "long-poll" | "sse" | undefined;

export interface ReadQuery {
  offset: OffsetQuery;
  live: LiveMode;
  cursor: string | undefined;
  /** The client asked for offset=now. */
  now: boolean;
}

export function parseReadQuery(url: URL): ReadQuery {
  const offsets = url.searchParams.getAll("offset");
  const lives = url.searchParams.getAll("live");
  if (offsets.length > 1) throw invalid("offset may be given only once");
  if (lives.length > 1) throw invalid("live may be given only once");
  const live = lives[0];
  if (live !== undefined && live !== "long-poll" && live !== "sse") throw invalid("live must be long-poll or sse");
  const raw = offsets[0];
  if (raw === undefined && live !== undefined) throw invalid(`live=${live} requires an offset`);
  const offset = raw === undefined ? ({ kind: "start" } as const) : parseOffset(raw);
  if (!offset) throw invalid("offset is malformed");
  return { offset, live, cursor: url.searchParams.get("cursor") ?? undefined, now: offset.kind === "now" };
}
