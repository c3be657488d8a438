// The wire contract between streams (which subscriptions watch them), the project's stream registry
// and subscriptions: the shapes all three exchange, so none imports another's internals.
import { z } from "zod";
import { DEFAULT_PROJECT } from "../protocol/stream-address";
import { StreamKeySchema } from "./fanout";
import { Count } from "./primitives";

/** A subscription id as the protocol's URLs carry it. */
export const SubscriptionIdSchema = z.string().min(1).max(200);
/** Changes each time a subscription id is created again, so late calls for an old one are ignored. */
export const IncarnationSchema = z.string().min(1).max(64);

/** A subscription watching a stream: the stream tells it about each append. */
export const WatcherSchema = z.object({ subscription: SubscriptionIdSchema, incarnation: IncarnationSchema });
export type Watcher = z.infer<typeof WatcherSchema>;

/** Stream -> a subscription watching it (or matching it, found at creation): it now reaches `tail`. */
export const StreamAppendedSchema = z.object({ stream: StreamKeySchema, incarnation: IncarnationSchema, tail: Count });
export type StreamAppended = z.infer<typeof StreamAppendedSchema>;
/** "gone": the subscription (this incarnation) no longer watches the stream; the stream drops it. */
export type AppendedOutcome = "ok" | "gone";

/** Stream -> a subscription watching it: the stream was deleted. */
export const StreamGoneSchema = z.object({ stream: StreamKeySchema, incarnation: IncarnationSchema });
export type StreamGone = z.infer<typeof StreamGoneSchema>;

/** Retention trimmed `stream` to `earliest`, past this subscription's acked offset (and its hold cap). */
export const StreamTrimmedSchema = StreamGoneSchema.extend({ earliest: Count, messages: Count.nullable() });
export type StreamTrimmed = z.infer<typeof StreamTrimmedSchema>;

/**
 * A subscription's interest in a project's streams, kept by the project's registry: `glob` is one
 * stream-name segment, `*` or `**` (every stream of the project) or a literal name.
 */
export const WatchGlobSchema = z.object({ subscription: SubscriptionIdSchema, incarnation: IncarnationSchema, glob: z.string().min(1).max(128) });
export type WatchGlob = z.infer<typeof WatchGlobSchema>;

/**
 * A subscription links at most this many streams through its pattern: the registry answers at most
 * this many existing streams to a new glob, and a stream found later beyond it is not linked. It
 * bounds the subscription's rows and the work of each wake (which looks at every link).
 */
export const MAX_GLOB_LINKS = 10_000;

export function globMatches(glob: string, stream: string): boolean {
  return glob === "*" || glob === "**" || glob === stream;
}

/** The path a subscription reports for a stream: relative to /v1/stream/, the default project's as one segment. */
export function relativePath(key: string): string {
  const prefix = `${DEFAULT_PROJECT}/`;
  return key.startsWith(prefix) ? key.slice(prefix.length) : key;
}
