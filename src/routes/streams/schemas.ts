// The stream routes' wire vocabulary as zod schemas: query parameters and request headers (each a
// wire string validated and turned into its value; headers.ts parses with them, with the protocol's
// error messages) and response headers (described only). The OpenAPI document is generated from
// the same objects, so what is documented is what is validated.
import { z } from "zod";
import { PresenceParam } from "../presence/schemas";
import { formatOffset, parseOffset, type OffsetQuery } from "../../protocol/offsets";
import { MAX_AWAIT_COMMIT_MS } from "../../contract/fanout";
import { OffsetString } from "../../contract/primitives";
import { parseRetention } from "../../protocol/retention-policy";

const CANONICAL_INTEGER = /^(0|[1-9]\d*)$/;
const DIGITS = /^\d+$/;
/** A media type (RFC 9110 tokens) with optional parameters. */
const MEDIA_TYPE = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+\/[!#$%&'*+.^_`|~0-9A-Za-z-]+\s*(;.*)?$/;
const MAX_CONTENT_TYPE_LENGTH = 256;
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;
/** The shape of what parseOffset accepts, so the document shows it. */
const OFFSET_TOKEN = /^(-1|now|0{16}_\d{16})$/;

/** A wire integer that must also be a safe JavaScript integer; one message for either failure. */
function wireInteger(pattern: RegExp, message: string) {
  return z.string().regex(pattern, { error: message }).transform(Number).refine(Number.isSafeInteger, { error: message });
}

/** "-1", "now" or an offset, read by parseOffset (which also refuses positions above 2^53-1). */
function offsetToken(message: string) {
  return z
    .string()
    .regex(OFFSET_TOKEN, { error: message })
    .transform((raw, ctx): OffsetQuery => {
      const offset = parseOffset(raw);
      if (offset) return offset;
      ctx.issues.push({ code: "custom", message, input: raw });
      return z.NEVER;
    });
}

/** Only the value "true" (any case) switches a flag on; anything else, like absence, is false. */
function flag(description: string) {
  return z
    .string()
    .transform((value) => value.toLowerCase() === "true")
    .meta({ description, examples: ["true"] });
}

// --- query parameters of GET ---------------------------------------------------------------------

export const OffsetParam = offsetToken("offset is malformed").meta({
  description: `Where the read starts: "-1" (the start, the default), "now" (the tail) or a Stream-Next-Offset value such as ${formatOffset(42)}. Required with live.`,
  examples: ["-1"],
});

export const LiveParam = z.enum(["long-poll", "sse", "ws"], { error: "live must be long-poll, sse or ws" }).meta({
  description:
    "long-poll: wait at the tail for new data (204 when none arrives in time). sse: a text/event-stream of data and control events. ws: a WebSocket upgrade (101) carrying JSON frames (see README); 426 without an upgrade.",
});

export const TokenParam = z.string().meta({
  description: "live=ws only: the project token, for browsers, which cannot set Authorization on an upgrade. Use short-lived read tokens.",
});

export const CursorParam = z.string().meta({
  description: "The Stream-Cursor (or SSE streamCursor) of the previous live read, echoed so CDNs do not collapse consecutive polls.",
});

export const READ_QUERY = { offset: OffsetParam, live: LiveParam, cursor: CursorParam, token: TokenParam, presence: PresenceParam } as const;

// --- request headers ------------------------------------------------------------------------------

const contentTypeMessage = `Content-Type must be a media type of at most ${MAX_CONTENT_TYPE_LENGTH} characters`;

export const ContentTypeHeader = z
  .string()
  .max(MAX_CONTENT_TYPE_LENGTH, { error: contentTypeMessage })
  .regex(MEDIA_TYPE, { error: contentTypeMessage })
  .meta({ description: `The stream's media type (type/subtype with optional parameters, at most ${MAX_CONTENT_TYPE_LENGTH} characters), stored and returned exactly as given; application/json selects JSON mode.` });

export const StreamTtlHeader = wireInteger(CANONICAL_INTEGER, "Stream-TTL must be a non-negative integer without leading zeros").meta({
  description: "Seconds of inactivity after which the stream expires; slides on every GET and POST. Not with Stream-Expires-At.",
  examples: ["3600"],
});

export const StreamExpiresAtHeader = z
  .string()
  .regex(RFC3339, { error: "Stream-Expires-At must be an RFC 3339 timestamp" })
  .transform(Date.parse)
  .refine((at) => !Number.isNaN(at), { error: "Stream-Expires-At must be an RFC 3339 timestamp" })
  .meta({ description: "Absolute expiry time (RFC 3339). Not with Stream-TTL.", examples: ["2030-01-01T00:00:00Z"] });

export const StreamRetentionHeader = z
  .string()
  .transform((raw, ctx) => {
    const parsed = parseRetention(raw);
    if (parsed.ok) return parsed.policy;
    ctx.issues.push({ code: "custom", message: parsed.message, input: raw });
    return z.NEVER;
  })
  .meta({
    description:
      "PUT (an extension of the protocol): how much history the stream keeps, any of max-age=<seconds>, max-bytes=<n>, max-messages=<n>, comma-separated. Older data is trimmed in whole stored rows (up to one row more than the policy is kept); reads of trimmed offsets answer 410. Without it the project's default applies (estuaries: ESTUARY_RETENTION), or everything is kept. Echoed, canonical, on PUT and HEAD.",
    examples: ["max-age=604800, max-bytes=67108864"],
  });

export const StreamClosedHeader = flag("true closes the stream (on PUT: create it closed; on POST: after this append, which may be empty).");

export const StreamPublicHeader = flag("true on PUT makes the stream readable without a token (writes still need one).");

export const StreamSeqHeader = z.string().meta({
  description: "Writer sequence for this append, compared as a byte string: it must be greater than the stream's last one (else 409).",
});

export const StreamForkedFromHeader = z.string().meta({
  description: "Creates the stream as a fork of this one: a path /v1/stream/{project}/{stream} or /v1/stream/{stream}, or an absolute URL with such a path. Needs read on the source.",
});

export const StreamForkOffsetHeader = offsetToken("Stream-Fork-Offset is not a valid offset").meta({
  description: 'Where the fork branches off its source: "-1" or an offset of the source (default: its tail). Needs Stream-Forked-From.',
});

export const StreamForkSubOffsetHeader = wireInteger(CANONICAL_INTEGER, "Stream-Fork-Sub-Offset must be a non-negative integer without leading zeros").meta({
  description: "Bytes (or, in JSON mode, messages) of the append at Stream-Fork-Offset that the fork keeps. Needs Stream-Fork-Offset.",
});

export const ProducerIdHeader = z.string().min(1, { error: "Producer-Id must not be empty" }).meta({
  description: "Idempotent producer: its id. Producer-Id, Producer-Epoch and Producer-Seq are sent together.",
});

export const ProducerEpochHeader = wireInteger(DIGITS, "Producer-Epoch must be an integer 0..2^53-1").meta({
  description: "Idempotent producer: its epoch; a higher one fences the older (403 for the stale one), starting again at Producer-Seq 0.",
});

export const ProducerSeqHeader = wireInteger(DIGITS, "Producer-Seq must be an integer 0..2^53-1").meta({
  description: "Idempotent producer: the request's sequence number within the epoch; a repeat is acknowledged (204) without storing again, a gap is 409.",
});

export const StreamAwaitCommitHeader = wireInteger(CANONICAL_INTEGER, "Stream-Await-Commit must be a non-negative integer without leading zeros")
  .refine((ms) => ms <= MAX_AWAIT_COMMIT_MS, { error: `Stream-Await-Commit may be at most ${MAX_AWAIT_COMMIT_MS} (ms)` })
  .meta({
    description: `Milliseconds (at most ${MAX_AWAIT_COMMIT_MS}) the append may wait for its data to be committed under the stream's commit policy; the answer then carries Stream-Committed. The append is durable either way.`,
  });

export const IfNoneMatchHeader = z.string().meta({
  description: "An ETag of an earlier read of the same range: 304 when nothing changed.",
});

/** Request headers by wire name (Content-Type is documented as the request body's media type instead). */
export const REQUEST_HEADERS = {
  "Stream-TTL": StreamTtlHeader,
  "Stream-Expires-At": StreamExpiresAtHeader,
  "Stream-Closed": StreamClosedHeader,
  "Stream-Public": StreamPublicHeader,
  "Stream-Retention": StreamRetentionHeader,
  "Stream-Seq": StreamSeqHeader,
  "Stream-Forked-From": StreamForkedFromHeader,
  "Stream-Fork-Offset": StreamForkOffsetHeader,
  "Stream-Fork-Sub-Offset": StreamForkSubOffsetHeader,
  "Producer-Id": ProducerIdHeader,
  "Producer-Epoch": ProducerEpochHeader,
  "Producer-Seq": ProducerSeqHeader,
  "Stream-Await-Commit": StreamAwaitCommitHeader,
  "If-None-Match": IfNoneMatchHeader,
} as const;
export type RequestHeaderName = keyof typeof REQUEST_HEADERS;

// --- response headers (described, for the document; the last two come from auth and rate limits) --

const DigitString = z.string().regex(DIGITS);
const True = z.literal("true");

export const RESPONSE_HEADERS = {
  "Stream-Next-Offset": OffsetString.meta({ description: "The offset after the returned data (or the tail): where the next read starts." }),
  "Stream-Up-To-Date": True.meta({ description: "Present when the response reaches the stream's tail." }),
  "Stream-Cursor": z.string().meta({ description: "Long-poll cursor to echo as ?cursor= on the next live read." }),
  "Stream-Closed": True.meta({ description: "Present when the stream is closed (on reads: once the read reaches its final tail)." }),
  ETag: z.string().meta({ description: "Identifies this range of this stream; send it back in If-None-Match. Changes when the stream is closed or re-created." }),
  Location: z.string().meta({ description: "The new stream's absolute URL." }),
  "Stream-TTL": DigitString.meta({ description: "The stream's configured TTL in seconds (HEAD)." }),
  "Stream-Expires-At": z.string().meta({ description: "The stream's absolute expiry time, RFC 3339 (HEAD)." }),
  "Stream-Retention": z.string().meta({ description: "The stream's retention policy, canonical (PUT, HEAD); absent: everything is kept." }),
  "Stream-Earliest-Offset": OffsetString.meta({
    description: "The first offset still stored (HEAD; and on 410 for a read of trimmed data). offset=-1 reads from here.",
  }),
  "Stream-SSE-Data-Encoding": z.literal("base64").meta({ description: "SSE data events carry base64, because the stream is not text/* or application/json." }),
  "Stream-Committed": z.enum(["true", "false"]).meta({ description: "With Stream-Await-Commit: whether the append's data was committed under the commit policy before the time was up." }),
  "Producer-Epoch": DigitString.meta({ description: "The producer's current epoch (on 200/204: accepted; on 403: the epoch that fenced the request)." }),
  "Producer-Seq": DigitString.meta({ description: "The highest sequence number stored for the producer in this epoch." }),
  "Producer-Expected-Seq": DigitString.meta({ description: "409 sequence gap: the sequence number the stream expected." }),
  "Producer-Received-Seq": DigitString.meta({ description: "409 sequence gap: the sequence number received." }),
  "Stream-Hot-Bytes": DigitString.meta({ description: "Extension (HEAD): bytes of the stream's own data stored in SQLite." }),
  "Stream-Cold-Bytes": DigitString.meta({ description: "Extension (HEAD): bytes of the stream's own data moved to R2 cold segments (past COLD_AFTER_BYTES)." }),
  "Cache-Control": z.string().meta({
    description:
      "public, max-age=60, stale-while-revalidate=300 for a read that ends before the tail (immutable); no-cache at the tail and for SSE (revalidate with the ETag); no-store for offset=now, HEAD and long-poll 204s.",
  }),
  "WWW-Authenticate": z.string().meta({ description: 'Bearer realm="streams" (project tokens) or Bearer realm="admin".' }),
  "Retry-After": DigitString.meta({ description: "Seconds to wait before retrying (the rate limiter's window)." }),
} as const;
export type ResponseHeaderName = keyof typeof RESPONSE_HEADERS;
