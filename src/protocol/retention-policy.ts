// A stream's retention policy (the `Stream-Retention` header, an extension of the protocol): how
// much of its history a stream keeps. Parsed and written here; the trimming itself is src/stream/trim.ts.
import { z } from "zod";

const Positive = z.number().int().min(1).max(Number.MAX_SAFE_INTEGER);

/** Any subset of the three bounds, at least one; a stream without a policy keeps everything. */
export const RetentionPolicySchema = z
  .object({ maxAgeSeconds: Positive.optional(), maxBytes: Positive.optional(), maxMessages: Positive.optional() })
  .refine((policy) => policy.maxAgeSeconds !== undefined || policy.maxBytes !== undefined || policy.maxMessages !== undefined, {
    error: "a retention policy names at least one of max-age, max-bytes, max-messages",
  });
export type RetentionPolicy = z.infer<typeof RetentionPolicySchema>;

const KEYS = { "max-age": "maxAgeSeconds", "max-bytes": "maxBytes", "max-messages": "maxMessages" } as const;
type WireKey = keyof typeof KEYS;
const CANONICAL_INTEGER = /^[1-9]\d{0,15}$/;
const MAX_HEADER_LENGTH = 200;

/** The policy a header value names, or why it is refused (the message names the part at fault). */
export function parseRetention(raw: string): { ok: true; policy: RetentionPolicy } | { ok: false; message: string } {
  const refuse = (why: string) => ({ ok: false as const, message: `Stream-Retention ${why}` });
  if (raw.length > MAX_HEADER_LENGTH) return refuse(`is longer than ${MAX_HEADER_LENGTH} characters`);
  const policy: Partial<Record<(typeof KEYS)[WireKey], number>> = {};
  for (const part of raw.split(",")) {
    const [key, value, extra] = part.trim().split("=");
    if (key === undefined || key === "" || value === undefined || extra !== undefined) {
      return refuse("must be a list of max-age=<seconds>, max-bytes=<n>, max-messages=<n>");
    }
    if (!(key in KEYS)) return refuse(`has an unknown bound "${key}" (known: max-age, max-bytes, max-messages)`);
    const field = KEYS[key as WireKey];
    if (policy[field] !== undefined) return refuse(`names ${key} twice`);
    if (!CANONICAL_INTEGER.test(value) || !Number.isSafeInteger(Number(value))) {
      return refuse(`${key} must be a positive integer without leading zeros`);
    }
    policy[field] = Number(value);
  }
  const parsed = RetentionPolicySchema.safeParse(policy);
  return parsed.success ? { ok: true, policy: parsed.data } : refuse("names no bound");
}

/** The canonical header value: the bounds that are set, always in the same order. */
export function formatRetention(policy: RetentionPolicy): string {
  const parts: string[] = [];
  if (policy.maxAgeSeconds !== undefined) parts.push(`max-age=${policy.maxAgeSeconds}`);
  if (policy.maxBytes !== undefined) parts.push(`max-bytes=${policy.maxBytes}`);
  if (policy.maxMessages !== undefined) parts.push(`max-messages=${policy.maxMessages}`);
  return parts.join(", ");
}

export function sameRetention(a: RetentionPolicy | null, b: RetentionPolicy | null): boolean {
  return (a === null ? null : formatRetention(a)) === (b === null ? null : formatRetention(b));
}

/** A stored policy was written by formatRetention, so it parses; anything else keeps everything. */
export function storedRetention(stored: string | null): RetentionPolicy | null {
  if (stored === null) return null;
  const parsed = parseRetention(stored);
  return parsed.ok ? parsed.policy : null;
}
