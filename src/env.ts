// The Worker's bindings, as declared in wrangler.toml.
import type { StreamDO } from "./stream/stream-do";

export interface Env {
  STREAMS: DurableObjectNamespace<StreamDO>;
  LONG_POLL_TIMEOUT_MS?: string;
  SSE_MAX_DURATION_MS?: string;
}

/** One Durable Object per (project, stream), addressed by "project/stream". */
export function streamStub(env: Env, name: string): DurableObjectStub<StreamDO> {
  return env.STREAMS.get(env.STREAMS.idFromName(name));
}
