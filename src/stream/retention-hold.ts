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
 * objects of the cold segments it drops are deleted through the stream's outbox, and so are the
 * subscriptions told whose acked offset a trim passed.
 */
export function streamTrimmer(env: Env, log: StreamLog, followers: StreamFollowers, outbox: Outbox<StreamCall>): Trimmer {
  const config = loadConfig(env);
  const caps = { maxMs: config.RETENTION_HOLD_MAX_MS, maxBytes: config.RETENTION_HOLD_MAX_BYTES };
  /** The acked positions the last run's hold was made of: a trim past one makes its subscription jump. */
  let asked: AckedWatcher[] = [];
  const holdOf = async (meta: StreamMeta) => {
    asked = [];
    return subscribersHold(env, meta, followers.sinks.all(), followers.watchers.all(), (acked) => (asked = acked));
  };
  const deleteObjects = (keys: readonly string[]) => outbox.add(keys.map((key) => ({ call: { kind: "deleteColdSegment", key } })));
  const followUp = (cut: number, lost: (from: number) => number | null) => {
    const stream = log.meta?.name;
    if (stream === undefined) return;
    const passed = asked.filter(({ acked }) => acked < cut);
    outbox.add(passed.map(({ watcher, acked }) => ({ call: { kind: "streamTrimmed", stream, ...watcher, earliest: cut, messages: lost(acked) } })));
  };
  return new Trimmer(log, config.RETENTION_TRIM_ROWS, caps, holdOf, deleteObjects, followUp);
}

interface AckedWatcher {
  watcher: Watcher;
  acked: number;
}

export async function subscribersHold(
  env: Env,
  meta: StreamMeta,
  sinks: readonly string[],
  watchers: readonly Watcher[],
  onAcked: (acked: AckedWatcher[]) => void = () => undefined,
): Promise<number | null> {
  let hold = meta.tail;
  if (meta.fanout || sinks.length > 0) hold = Math.min(hold, await fanoutStub(env, meta.name).retentionHold(meta.tail));
  if (watchers.length > HOLD_WATCHER_CALLS) return null;
  const acked = await mapLimit(watchers, HOLD_CONCURRENCY, (watcher) =>
    subscriptionStub(env, watcher.subscription).ackedPosition({ stream: meta.name, incarnation: watcher.incarnation }),
  );
  const known: AckedWatcher[] = [];
  acked.forEach((position, index) => {
    const watcher = watchers[index];
    if (position !== null && watcher) known.push({ watcher, acked: position });
  });
  onAcked(known);
  for (const { acked: position } of known) hold = Math.min(hold, position);
  return hold;
}
