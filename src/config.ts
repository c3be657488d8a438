// Runtime tunables, read from `env` vars and validated once per isolate.
import { z } from "zod";
import { parseRetention } from "./protocol/retention-policy";
import { joinIssues, plainErrorMap } from "./validation";

/** A Stream-Retention value (or "none": keep everything) read from the var `name`. */
function retentionSetting(name: string, fallback: string) {
  return z
    .string()
    .default(fallback)
    .transform((raw, ctx) => {
      if (raw === "none") return null;
      const parsed = parseRetention(raw);
      if (parsed.ok) return parsed.policy;
      ctx.issues.push({ code: "custom", message: `${name}: ${parsed.message}`, input: raw });
      return z.NEVER;
    });
}

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
  /** How long a Worker isolate trusts its copy of a project's secrets, CORS origins, issuers and revocations. */
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
   * "on": webhook subscriptions, data sinks and issuers' JWKS may also target plain http on loopback (127.0.0.0/8, localhost), for
   * local development and tests. "off" in production, where only public https targets are accepted.
   */
  WEBHOOK_ALLOW_LOOPBACK: z.enum(["on", "off"]).default("off"),
  /**
   * A data sink whose deliveries fail without a single success for this long is disabled (until
   * re-enabled). Long enough to ride out a receiver's deploy or a night's outage; a day by default.
   */
  SINK_DISABLE_AFTER_MS: z.coerce.number().int().min(1_000).max(30 * 86_400_000).default(86_400_000),
  /**
   * How long a user stays present after their last connection closes: a page reload (close, then a
   * new socket within a second or two) is then neither a leave nor a join. The alarm's own delay adds to it.
   */
  PRESENCE_GRACE_MS: z.coerce.number().int().min(0).max(300_000).default(5_000),
  /**
   * A presence socket must ping at least this often (presence/liveness.ts), or it is closed and its
   * user leaves: 3 of /v1/client.js's 25 s pings and some slack. 0 turns the check off.
   */
  PRESENCE_LIVENESS_MS: z.coerce
    .number()
    .int()
    .refine((ms) => ms === 0 || (ms >= 10_000 && ms <= 3_600_000), "PRESENCE_LIVENESS_MS must be 0 (off) or 10000 to 3600000")
    .default(90_000),
  /**
   * The retention policy of a new estuary (a Stream-Retention value, or "none" to keep everything).
   * An estuary is a per-user inbox read by live clients; a week covers a client that was offline
   * over a weekend and a holiday, and 64 MiB bounds a noisy one at about $0.013 a month of SQLite.
   */
  ESTUARY_RETENTION: retentionSetting("ESTUARY_RETENTION", "max-age=604800, max-bytes=67108864"),
  /**
   * The retention policy of a stream's presence log (src/presence/): followers read its tail and
   * the snapshot, so its history serves only catching up after a short disconnect and sinks that
   * lag. A day, and 16 MiB (about 50,000 events) for a stream whose users come and go a lot.
   */
  PRESENCE_LOG_RETENTION: retentionSetting("PRESENCE_LOG_RETENTION", "max-age=86400, max-bytes=16777216"),
  /**
   * Required subscribers (estuaries, data sinks) hold trimming at their position, but not past
   * either cap: data older than RETENTION_HOLD_MAX_MS, or further than RETENTION_HOLD_MAX_BYTES
   * below the tail, is trimmed anyway, so a dead subscriber pins nothing forever. A week matches
   * the estuary default's age; 1 GiB costs $0.20 a month to hold.
   */
  RETENTION_HOLD_MAX_MS: z.coerce.number().int().min(0).default(7 * 86_400_000),
  RETENTION_HOLD_MAX_BYTES: z.coerce.number().int().min(0).default(1024 ** 3),
  /**
   * Rows one trim run may delete (stream/trim.ts). A deleted row is one billed row write; 1,000 rows
   * take milliseconds, and more work is due again at once. At least one append's rows (8) and then some.
   */
  RETENTION_TRIM_ROWS: z.coerce.number().int().min(16).max(100_000).default(1_000),
  /**
   * Appends are refused (507 storage_full) once an object's SQLite database would pass this. The
   * platform cap is 10 GB per object, where writes fail outright; 9 GiB leaves room for the other
   * tables, deliveries in flight and the trim that frees space.
   */
  STREAM_STORAGE_LIMIT_BYTES: z.coerce.number().int().min(1).default(9 * 1024 ** 3),
  /**
   * A stream's own data in SQLite past this many bytes moves, oldest rows first, to R2 as cold
   * segments (src/stream/cold/). SQLite costs about 13x R2 per GB-month and caps an object at 10 GB;
   * 64 MiB keeps most streams entirely hot (one hop per read) and long ones far from the cap.
   */
  COLD_AFTER_BYTES: z.coerce.number().int().min(65_536).default(64 * 1024 * 1024),
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
