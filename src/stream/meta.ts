// Derived facts about a stream's metadata: what callers are told (or refused), and when it expires.
import { fail, type Failure } from "../errors";
import type { StreamInfo } from "./commands";
import type { StreamMeta } from "./repository";
import { formatRetention } from "../protocol/retention-policy";

export function info(meta: StreamMeta): StreamInfo {
  return {
    contentType: meta.contentType,
    generation: meta.generation,
    tail: meta.tail,
    closed: meta.closed,
    ttlSeconds: meta.ttlSeconds,
    expiresAt: meta.expiresAt,
    earliest: meta.earliest,
    retention: meta.retention ? formatRetention(meta.retention) : null,
  };
}

/** When the stream expires: the earlier of its sliding TTL and its absolute Expires-At. */
export function expiryOf(meta: StreamMeta): number | null {
  const sliding = meta.ttlSeconds !== null ? meta.lastAccess + meta.ttlSeconds * 1000 : null;
  if (sliding === null) return meta.expiresAt;
  if (meta.expiresAt === null) return sliding;
  return Math.min(sliding, meta.expiresAt);
}

export function isExpired(meta: StreamMeta, now: number): boolean {
  const due = expiryOf(meta);
  return due !== null && now >= due;
}

/** Said the same way whether the stream is private or missing, so anonymous callers learn nothing. */
export function tokenRequired(): Failure {
  return fail("unauthorized", "a token is required to read this stream", { "WWW-Authenticate": 'Bearer realm="streams"' });
}
