// The Worker's bindings, as declared in wrangler.toml, and one typed stub helper per DO class.
import type { StreamSubscribersDO } from "./estuary/subscribers-do";
import type { FanoutJob } from "./estuary/messages";
import type { StreamDO } from "./stream/stream-do";

export interface Env {
  STREAMS: DurableObjectNamespace<StreamDO>;
  SUBSCRIBERS: DurableObjectNamespace<StreamSubscribersDO>;
  FANOUT_QUEUE: Queue<FanoutJob>;
  LONG_POLL_TIMEOUT_MS?: string;
  SSE_MAX_DURATION_MS?: string;
  FANOUT_QUEUE_THRESHOLD?: string;
  ESTUARY_TTL_SECONDS?: string;
  BREAKER_COOLDOWN_MS?: string;
}

/** One StreamDO per (project, stream), addressed by "project/stream". */
export function streamStub(env: Env, name: string): DurableObjectStub<StreamDO> {
  return env.STREAMS.get(env.STREAMS.idFromName(name));
}

/** One StreamSubscribersDO per source stream, under the same name as the source's StreamDO. */
export function subscribersStub(env: Env, source: string): DurableObjectStub<StreamSubscribersDO> {
  return env.SUBSCRIBERS.get(env.SUBSCRIBERS.idFromName(source));
}
