// The Worker's bindings, as declared in wrangler.toml, and one typed stub helper per DO class.
import type { StreamSubscribersDO } from "./fanout/subscribers-do";
import type { ProjectDO } from "./projects/project-do";
import type { FanoutJob } from "./contract/fanout";
import type { StreamDO } from "./stream/stream-do";

export interface Env {
  STREAMS: DurableObjectNamespace<StreamDO>;
  SUBSCRIBERS: DurableObjectNamespace<StreamSubscribersDO>;
  PROJECTS: DurableObjectNamespace<ProjectDO>;
  FANOUT_QUEUE: Queue<FanoutJob>;
  WRITE_LIMITER: RateLimit;
  SUBSCRIBE_LIMITER: RateLimit;
  TOKEN_LIMITER: RateLimit;
  LONG_POLL_TIMEOUT_MS?: string;
  SSE_MAX_DURATION_MS?: string;
  FANOUT_QUEUE_THRESHOLD?: string;
  ESTUARY_TTL_SECONDS?: string;
  BREAKER_COOLDOWN_MS?: string;
  AUTH_MODE?: string;
  AUTH_CACHE_MS?: string;
  ADMIN_TOKEN?: string;
  MAX_SUBSCRIBERS_PER_SOURCE?: string;
  MAX_SUBSCRIPTIONS_PER_ESTUARY?: string;
}

/** One StreamDO per (project, stream), addressed by "project/stream". */
export function streamStub(env: Env, name: string): DurableObjectStub<StreamDO> {
  return env.STREAMS.get(env.STREAMS.idFromName(name));
}

/** One ProjectDO per project (tenant), addressed by the project name. */
export function projectStub(env: Env, project: string): DurableObjectStub<ProjectDO> {
  return env.PROJECTS.get(env.PROJECTS.idFromName(project));
}

/** One StreamSubscribersDO per source stream, under the same name as the source's StreamDO. */
export function subscribersStub(env: Env, source: string): DurableObjectStub<StreamSubscribersDO> {
  return env.SUBSCRIBERS.get(env.SUBSCRIBERS.idFromName(source));
}
