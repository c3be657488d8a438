// Where retention must keep data from for the stream's required subscribers: estuaries and data
// sinks (their positions are in the stream's fan-out object, asked once) and the protocol's `__ds`
// subscriptions (each watcher's acked offset, asked of its SubscriptionDO). Bounded: a run asks at
// most HOLD_WATCHER_CALLS subscriptions; a stream watched by more gets no hold from them (null),
// and then only what is past the hold caps is trimmed (trim.ts).
import type { Watcher } from "../contract/subscriptions";
import type { Env } from "../env";
import { fanoutStub } from "../fanout/stub";
import { mapLimit } from "../map-limit";
import { subscriptionStub } from "../subscriptions/stub";
import { loadConfig } from "../config";
import type { Outbox } from "../storage/outbox";
import type { StreamCall } from "./calls";
import type { StreamFollowers } from "./followers";
import type { StreamLog } from "./log";
import type { StreamMeta } from "./repository";
import { Trimmer } from "./trim";

/** Calls to subscriptions per trim run: a tenth of WATCHER_CALLS_PER_INVOCATION, since a run also makes the other calls of its alarm. */
export const HOLD_WATCHER_CALLS = 100;
const HOLD_CONCURRENCY = 16;

/**
 * The stream's trimmer, with its configured budget and caps, held by this stream's followers; the
 * objects of the cold segments it drops are deleted through the stream's outbox.
 */
export function streamTrimmer(env: Env, log: StreamLog, followers: StreamFollowers, outbox: Outbox<StreamCall>): Trimmer {
  const config = loadConfig(env);
  const caps = { maxMs: config.RETENTION_HOLD_MAX_MS, maxBytes: config.RETENTION_HOLD_MAX_BYTES };
  return new Trimmer(
    log,
    config.RETENTION_TRIM_ROWS,
    caps,
    (meta) => subscribersHold(env, meta, followers.sinks.all(), followers.watchers.all()),
    (keys) => outbox.add(keys.map((key) => ({ call: { kind: "deleteColdSegment", key } }))),
  );
}

export async function subscribersHold(env: Env, meta: StreamMeta, sinks: readonly string[], watchers: readonly Watcher[]): Promise<number | null> {
  let hold = meta.tail;
  if (meta.fanout || sinks.length > 0) hold = Math.min(hold, await fanoutStub(env, meta.name).retentionHold(meta.tail));
  if (watchers.length > HOLD_WATCHER_CALLS) return null;
  const acked = await mapLimit(watchers, HOLD_CONCURRENCY, (watcher) =>
    subscriptionStub(env, watcher.subscription).ackedPosition({ stream: meta.name, incarnation: watcher.incarnation }),
  );
  for (const position of acked) if (position !== null) hold = Math.min(hold, position);
  return hold;
}
