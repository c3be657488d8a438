// How other modules address a stream's object: one StreamDO per (project, stream), named "project/stream".
import type { Env } from "../env";
import type { StreamDO } from "./stream-do";

/** One StreamDO per (project, stream), addressed by "project/stream". */
export function streamStub(env: Env, name: string): DurableObjectStub<StreamDO> {
  return env.STREAMS.getByName(name);
}
