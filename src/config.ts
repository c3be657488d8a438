// Runtime tunables, read from `env` vars and validated once per isolate.
import { z } from "zod";
import { joinIssues, plainErrorMap } from "./validation";

const ConfigSchema = z.object({
  /** How long a long-poll read waits for data before answering 204. */
  LONG_POLL_TIMEOUT_MS: z.coerce.number().int().min(50).max(300_000).default(20_000),
  /** SSE connections are closed after this long so CDNs can collapse new clients (protocol §8.2). */
  SSE_MAX_DURATION_MS: z.coerce.number().int().min(1_000).max(3_600_000).default(60_000),
  /** Sources with more subscribers than this fan out through the Cloudflare Queue instead of inline. */
  FANOUT_QUEUE_THRESHOLD: z.coerce.number().int().min(0).max(100_000).default(200),
  /** An estuary with no subscribe and no read for this long expires (its subscriptions end). */
  ESTUARY_TTL_SECONDS: z.coerce.number().int().min(1).default(86_400),
  /** How long an open fan-out circuit breaker waits before a probing round. */
  BREAKER_COOLDOWN_MS: z.coerce.number().int().min(10).max(600_000).default(5_000),
  /** "on" in production: every route needs a project token (public streams can be read without). */
  AUTH_MODE: z.enum(["on", "off"]).default("off"),
  /** How long a Worker isolate trusts its copy of a project's secrets and CORS origins. */
  AUTH_CACHE_MS: z.coerce.number().int().min(0).max(300_000).default(10_000),
  /** Bearer token for /v1/admin (set with `wrangler secret put ADMIN_TOKEN`); unset: admin API off. */
  ADMIN_TOKEN: z.string().optional(),
  /**
   * Sources with more subscribers than this push only to hot estuaries (a live reader, or read within
   * ESTUARY_HOT_MS); the others pull on read. docs/fanout-cost.md derives the default.
   */
  FANOUT_PULL_THRESHOLD: z.coerce.number().int().min(0).default(1_000),
  /**
   * A queue job with no report for this long is taken as lost: its estuaries are repaired from the
   * source. Longer than the queue's retries and the dead-letter trip normally take; a job that still
   * arrives later is dropped by its estuaries as a duplicate.
   */
  FANOUT_JOB_TIMEOUT_MS: z.coerce.number().int().min(1_000).max(86_400_000).default(600_000),
  /** How long a read keeps an estuary hot (pushed to): the lease each read takes or renews. */
  ESTUARY_HOT_MS: z.coerce.number().int().min(100).max(3_600_000).default(60_000),
  MAX_SUBSCRIBERS_PER_SOURCE: z.coerce.number().int().min(1).default(1_000_000),
  MAX_SUBSCRIPTIONS_PER_ESTUARY: z.coerce.number().int().min(1).default(100),
  /**
   * Open WebSockets per stream. The platform allows 32,768 hibernatable sockets per object; every
   * commit walks them all, so stay well below (a per-user channel holds a few tabs, not thousands).
   */
  WS_MAX_PER_STREAM: z.coerce.number().int().min(1).max(32_768).default(10_000),
  /**
   * Up to this many sockets on a stream, an append's frames are sent inside the append's event;
   * above it, after the append answered (src/stream/socket-broadcast.ts). Locally one send costs
   * about 55 us, so 16 sockets add under a millisecond to the append, while a deferred pass waits
   * behind every other task of the isolate (per-user channels: 1,000 objects, one socket each).
   */
  WS_INLINE_BROADCAST_MAX: z.coerce.number().int().min(0).max(32_768).default(16),
  /**
   * "on": webhook subscriptions may also target plain http on loopback (127.0.0.0/8, localhost), for
   * local development and tests. "off" in production, where only public https targets are accepted.
   */
  WEBHOOK_ALLOW_LOOPBACK: z.enum(["on", "off"]).default("off"),
  /**
   * A data sink whose deliveries fail without a single success for this long is disabled (until
   * re-enabled). Long enough to ride out a receiver's deploy or a night's outage; a day by default.
   */
  SINK_DISABLE_AFTER_MS: z.coerce.number().int().min(1_000).max(30 * 86_400_000).default(86_400_000),
});

export type Config = z.infer<typeof ConfigSchema>;

const cache = new WeakMap<object, Config>();

export function loadConfig(env: object): Config {
  let config = cache.get(env);
  if (!config) {
    const parsed = ConfigSchema.safeParse(env, { error: plainErrorMap("the configuration") });
    if (!parsed.success) throw new Error(`invalid configuration: ${joinIssues(parsed.error)}`);
    config = parsed.data;
    cache.set(env, config);
  }
  return config;
}
