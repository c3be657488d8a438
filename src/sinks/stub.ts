// How other modules address a data sink's object: one SinkDO per (source stream, sink id).
import type { Env } from "../env";
import type { SinkDO } from "./sink-do";

/** One SinkDO per (source stream, sink id), named by sinkObjectName (contract/sinks.ts). */
export function sinkStub(env: Env, name: string): DurableObjectStub<SinkDO> {
  return env.SINKS.getByName(name);
}
