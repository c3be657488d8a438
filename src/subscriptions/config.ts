// A subscription's configuration: the request body as the protocol defines it (validated with zod),
// and its normalized form, which is stored and compared to tell "the same PUT again" (200) from
// "another configuration under this id" (409).
import { z } from "zod";
import { dsFail, type DsFailure } from "./errors";
import { parsePattern, parseStreamRef } from "./paths";
import { checkWebhookUrl } from "../http/outbound-url";

/** Lease bounds and default (protocol §7): how long a claim or an unanswered wake holds the subscription. */
export const MIN_LEASE_TTL_MS = 1_000;
export const MAX_LEASE_TTL_MS = 600_000;
export const DEFAULT_LEASE_TTL_MS = 30_000;
/** Explicit streams per subscription (each is a link row and a watch on the stream). */
export const MAX_EXPLICIT_STREAMS = 1_000;

const PathString = z.string().min(1).max(300);

export const SubscriptionBodySchema = z.object({
  type: z.enum(["webhook", "pull-wake"]),
  pattern: PathString.optional().meta({ description: "glob over one project's streams: `project/*`, or `*` in the default project" }),
  streams: z.array(PathString).max(MAX_EXPLICIT_STREAMS).optional().meta({ description: "explicit stream paths (`project/stream`)" }),
  webhook: z.object({ url: z.string().min(1).max(2_048) }).optional(),
  wake_stream: PathString.optional().meta({ description: "pull-wake: the JSON stream wake events are appended to" }),
  lease_ttl_ms: z.number().int().min(MIN_LEASE_TTL_MS).max(MAX_LEASE_TTL_MS).optional(),
  description: z.string().max(1_000).optional(),
});
export type SubscriptionBody = z.infer<typeof SubscriptionBodySchema>;

export const SubscriptionConfigSchema = z.object({
  type: z.enum(["webhook", "pull-wake"]),
  pattern: z.string().optional(),
  /** Canonical relative paths, sorted, without duplicates. */
  streams: z.array(z.string()),
  webhook: z.object({ url: z.string() }).optional(),
  wake_stream: z.string().optional(),
  lease_ttl_ms: z.number().int().min(MIN_LEASE_TTL_MS).max(MAX_LEASE_TTL_MS),
  description: z.string().optional(),
});
export type SubscriptionConfig = z.infer<typeof SubscriptionConfigSchema>;

export function normalizeConfig(body: SubscriptionBody, allowLoopback: boolean): { ok: true; config: SubscriptionConfig } | DsFailure {
  const pattern = body.pattern === undefined ? undefined : parsePattern(body.pattern);
  if (pattern === null) return dsFail("INVALID_REQUEST", "pattern must be `project/<glob>` or `<glob>` (default project); a glob is `*`, `**` or a stream name");
  const refs = (body.streams ?? []).map(parseStreamRef);
  if (refs.some((ref) => ref === null)) return dsFail("INVALID_REQUEST", "streams must be stream paths: `project/stream` or `stream`");
  if (!pattern && refs.length === 0) return dsFail("INVALID_REQUEST", "at least one of pattern or streams is required");
  let webhook: SubscriptionConfig["webhook"];
  let wakeStream: string | undefined;
  if (body.type === "webhook") {
    if (!body.webhook) return dsFail("INVALID_REQUEST", "webhook subscriptions require webhook.url");
    const url = checkWebhookUrl(body.webhook.url, allowLoopback);
    if (!url.ok) return dsFail("WEBHOOK_URL_REJECTED", url.message);
    // Stored as given: the protocol echoes the URL back exactly.
    webhook = { url: body.webhook.url };
  } else {
    const wake = body.wake_stream === undefined ? null : parseStreamRef(body.wake_stream);
    if (!wake) return dsFail("INVALID_REQUEST", "pull-wake subscriptions require wake_stream, a stream path");
    wakeStream = wake.path;
  }
  const config: SubscriptionConfig = {
    type: body.type,
    streams: [...new Set(refs.map((ref) => ref?.path ?? ""))].sort(),
    lease_ttl_ms: body.lease_ttl_ms ?? DEFAULT_LEASE_TTL_MS,
  };
  if (pattern) config.pattern = pattern.text;
  if (webhook) config.webhook = webhook;
  if (wakeStream) config.wake_stream = wakeStream;
  if (body.description !== undefined) config.description = body.description;
  return { ok: true, config };
}

/** The stored form: key order fixed, so equal configurations give equal text. */
export function canonicalConfig(config: SubscriptionConfig): string {
  const { type, pattern, streams, webhook, wake_stream, lease_ttl_ms, description } = config;
  return JSON.stringify({ type, pattern, streams, webhook, wake_stream, lease_ttl_ms, description });
}
