// The wire contract between a stream and its data sinks (SinkDO): the shapes and names both sides
// agree on, so neither imports the other's internals.
import { z } from "zod";
import { isValidName } from "../protocol/stream-address";
import { StreamKeySchema } from "./fanout";
import { Count } from "./primitives";

/** A sink's id within its source stream: the same characters as stream names. */
export const SinkIdSchema = z.string().refine(isValidName, "sink ids are 1-128 characters of A-Z a-z 0-9 . _ ~ -");

/** A source stream may feed at most this many sinks: each costs an RPC per append. */
export const MAX_SINKS_PER_SOURCE = 20;

/**
 * Stream -> one of its sinks, after a commit (and again from the safety-net alarm): the stream of
 * this generation now reaches `tail`. Idempotent.
 */
export const SinkNoticeSchema = z.object({ source: StreamKeySchema, generation: Count, tail: Count });
export type SinkNotice = z.infer<typeof SinkNoticeSchema>;

/** The SinkDO that delivers `source` (a "project/stream" key) to the sink `sinkId`. */
export function sinkObjectName(source: string, sinkId: string): string {
  return `${source}#sink:${sinkId}`;
}
