// Protocol request headers and query parameters, parsed into command fields. Each value is validated
// by its zod schema in schemas.ts (also the OpenAPI document's source); the rules between values
// (sent together, not both, needs another) live here.
import type { z } from "zod";
import { ApiError } from "../../errors";
import { parseOr400 } from "../../validation";
import type { OffsetQuery } from "../../protocol/offsets";
import type { ProducerHeaders } from "../../stream/producer";
import type { RetentionPolicy } from "../../protocol/retention-policy";
import {
  ContentTypeHeader,
  CursorParam,
  LiveParam,
  OffsetParam,
  ProducerEpochHeader,
  ProducerIdHeader,
  ProducerSeqHeader,
  StreamAwaitCommitHeader,
  StreamClosedHeader,
  StreamExpiresAtHeader,
  StreamForkedFromHeader,
  StreamForkOffsetHeader,
  StreamForkSubOffsetHeader,
  StreamPublicHeader,
  StreamRetentionHeader,
  StreamTtlHeader,
} from "./schemas";

function invalid(message: string): ApiError {
  return new ApiError("bad_request", message);
}

/** The schema's value, or a 400 with its issues' messages (each check carries its own, naming the header). */
function valueOf<S extends z.ZodType>(schema: S, raw: string): z.output<S> {
  return parseOr400(schema, raw, "the value");
}

/** The request's Content-Type, if any; malformed or oversized ones are 400. */
export function parseContentType(headers: Headers): string | undefined {
  const value = headers.get("Content-Type");
  if (value === null || value === "") return undefined;
  return valueOf(ContentTypeHeader, value);
}

export interface Expiry {
  ttlSeconds?: number;
  expiresAt?: number;
}

export function parseExpiry(headers: Headers): Expiry {
  const ttl = headers.get("Stream-TTL");
  const expires = headers.get("Stream-Expires-At");
  if (ttl !== null && expires !== null) throw invalid("send Stream-TTL or Stream-Expires-At, not both");
  if (ttl !== null) return { ttlSeconds: valueOf(StreamTtlHeader, ttl) };
  if (expires !== null) return { expiresAt: valueOf(StreamExpiresAtHeader, expires) };
  return {};
}

/** `Stream-Retention` on PUT: the policy it names (400 on junk), or undefined. */
export function parseRetentionHeader(headers: Headers): RetentionPolicy | undefined {
  const value = headers.get("Stream-Retention");
  return value === null ? undefined : valueOf(StreamRetentionHeader, value);
}

/** `Stream-Public: true` on PUT makes a stream readable without a token. */
export function parsePublic(headers: Headers): boolean {
  const value = headers.get("Stream-Public");
  return value !== null && valueOf(StreamPublicHeader, value);
}

/** `Stream-Await-Commit: <ms>`: how long the append may wait for its data to be committed, if at all. */
export function parseAwaitCommit(headers: Headers): number | undefined {
  const value = headers.get("Stream-Await-Commit");
  return value === null ? undefined : valueOf(StreamAwaitCommitHeader, value);
}

/** Only the value "true" (any case) closes a stream. */
export function parseClosed(headers: Headers): boolean {
  const value = headers.get("Stream-Closed");
  return value !== null && valueOf(StreamClosedHeader, value);
}

export function parseProducer(headers: Headers): ProducerHeaders | undefined {
  const id = headers.get("Producer-Id");
  const epoch = headers.get("Producer-Epoch");
  const seq = headers.get("Producer-Seq");
  if (id === null && epoch === null && seq === null) return undefined;
  if (id === null || epoch === null || seq === null) {
    throw invalid("Producer-Id, Producer-Epoch and Producer-Seq must be sent together");
  }
  return {
    id: valueOf(ProducerIdHeader, id),
    epoch: valueOf(ProducerEpochHeader, epoch),
    seq: valueOf(ProducerSeqHeader, seq),
  };
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
    const parsed = valueOf(StreamForkOffsetHeader, offset);
    if (parsed.kind === "now") throw invalid("Stream-Fork-Offset is not a valid offset");
    position = parsed.kind === "start" ? 0 : parsed.position;
  }
  const subOffset = sub === null ? 0 : valueOf(StreamForkSubOffsetHeader, sub);
  if (subOffset > 0 && position === undefined) throw invalid("Stream-Fork-Sub-Offset needs Stream-Fork-Offset");
  return { source: valueOf(StreamForkedFromHeader, source), position, subOffset };
}

export type LiveMode = z.output<typeof LiveParam> | undefined;

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
  const live = lives[0] === undefined ? undefined : valueOf(LiveParam, lives[0]);
  const raw = offsets[0];
  if (raw === undefined && live !== undefined) throw invalid(`live=${live} requires an offset`);
  const offset = raw === undefined ? ({ kind: "start" } as const) : valueOf(OffsetParam, raw);
  const cursor = url.searchParams.get("cursor");
  return { offset, live, cursor: cursor === null ? undefined : valueOf(CursorParam, cursor), now: offset.kind === "now" };
}
