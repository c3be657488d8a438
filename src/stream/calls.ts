// The calls a stream makes to other objects because of a change it committed, made through its
// outbox (storage/outbox.ts): each is written with the change and retried until it succeeds, so
// each must be idempotent.
import { z } from "zod";
import { IncarnationSchema, SubscriptionIdSchema, type Watcher } from "../contract/subscriptions";
import { sinkObjectName } from "../contract/sinks";
import type { Env } from "../env";
import { fanoutStub } from "../fanout/stub";
import { projectStub } from "../projects/stub";
import { sinkStub } from "../sinks/stub";
import { deleteColdGeneration } from "./cold/cleanup";
import { streamStub } from "./stub";
import { subscriptionStub } from "../subscriptions/stub";
import { parseAddress } from "../protocol/stream-address";
import type { AppliedPosition, StreamMeta } from "./repository";

const Key = z.string().min(1).max(300);
/** R2 keys are at most 1,024 bytes. */
const R2_KEY_MAX = 1_024;

export const StreamCallSchema = z.discriminatedUnion("kind", [
  /** A fork went away (or its creation did not complete): its source may drop the data it pinned. */
  z.object({ kind: z.literal("releaseFork"), source: Key, fork: Key, generation: z.number().int().min(0) }),
  /** A source with subscribers was deleted: its subscriptions end. */
  z.object({ kind: z.literal("sourceDeleted"), source: Key }),
  /** A deleted estuary leaves a source it was subscribed to. */
  z.object({ kind: z.literal("unsubscribe"), source: Key, estuary: Key }),
  /**
   * The stream's open WebSockets changed: its project keeps the count. Keyed (SOCKET_REPORT_KEY),
   * so only the latest count waits to be sent; it is absolute, so sending it again is harmless.
   */
  z.object({ kind: z.literal("reportSockets"), stream: Key, open: z.number().int().min(0) }),
  /** A stream was created: it joins its project's registry (made by the stream itself: see watchers.ts). */
  z.object({ kind: z.literal("registerStream"), stream: Key, generation: z.number().int().min(0) }),
  /** A stream was deleted: it leaves its project's registry. */
  z.object({ kind: z.literal("unregisterStream"), stream: Key, generation: z.number().int().min(0) }),
  /** A deleted stream tells a subscription that watched it. */
  z.object({ kind: z.literal("streamGone"), stream: Key, subscription: SubscriptionIdSchema, incarnation: IncarnationSchema }),
  /** Retention trimmed past a watching subscription's acked offset: it jumps to the earliest (idempotent). */
  z.object({ kind: z.literal("streamTrimmed"), stream: Key, subscription: SubscriptionIdSchema, incarnation: IncarnationSchema, earliest: z.number().int().min(0), messages: z.number().int().min(0).nullable() }),
  /** A deleted source removes a data sink it fed (only the sink made for that generation of it). */
  z.object({ kind: z.literal("removeSink"), sink: z.string().min(1).max(500), generation: z.number().int().min(0) }),
  /** A deleted or expired stream's cold segments in R2 are removed (only that generation's). */
  z.object({ kind: z.literal("deleteColdSegments"), stream: Key, generation: z.number().int().min(0) }),
  /** Retention dropped a cold segment: its R2 object is deleted (deleting a missing key is a success). */
  z.object({ kind: z.literal("deleteColdSegment"), key: z.string().min(1).max(R2_KEY_MAX) }),
  /** Presence events wait to be appended to the stream's presence log (made by the stream itself: presence/outgoing.ts). */
  z.object({ kind: z.literal("flushPresence") }),
]);
export type StreamCall = z.infer<typeof StreamCallSchema>;

export async function sendStreamCall(env: Env, call: StreamCall): Promise<void> {
  switch (call.kind) {
    case "releaseFork":
      return streamStub(env, call.source).releaseFork({ fork: call.fork, generation: call.generation });
    case "sourceDeleted":
      return fanoutStub(env, call.source).sourceDeleted(call.source);
    case "unsubscribe":
      await fanoutStub(env, call.source).unsubscribe(call.estuary);
      return;
    case "reportSockets": {
      const { project, stream } = parseAddress(call.stream);
      return projectStub(env, project).reportSockets({ stream, open: call.open });
    }
    case "registerStream":
      throw new Error("registerStream is made by the stream's watchers");
    case "flushPresence":
      throw new Error("flushPresence is made by the stream's presence tracker");
    case "unregisterStream": {
      const { project, stream } = parseAddress(call.stream);
      return projectStub(env, project).unregisterStream(stream, call.generation);
    }
    case "streamGone":
      return subscriptionStub(env, call.subscription).streamDeleted({ stream: call.stream, incarnation: call.incarnation });
    case "streamTrimmed": {
      const { stream, incarnation, earliest, messages } = call;
      return subscriptionStub(env, call.subscription).streamTrimmed({ stream, incarnation, earliest, messages });
    }
    case "removeSink":
      await sinkStub(env, call.sink).sourceDeleted(call.generation);
      return;
    case "deleteColdSegments":
      return deleteColdGeneration(env.COLD_SEGMENTS, call.stream, call.generation);
    case "deleteColdSegment":
      return env.COLD_SEGMENTS.delete(call.key);
  }
}

/** The pending release a fork writes before registering with its source, cancelled when it commits. */
export function pendingForkReleaseKey(fork: string, generation: number): string {
  return `release-fork:${fork}:${generation}`;
}

/** The one pending report of this stream's open WebSockets to its project. */
export const SOCKET_REPORT_KEY = "report-sockets";

/** What a deleted stream owes other objects, written in the transaction that wipes it. */
export function callsAfterDeletion(
  meta: StreamMeta,
  sources: readonly AppliedPosition[],
  watchers: readonly Watcher[],
  sinks: readonly string[] = [],
): StreamCall[] {
  const calls: StreamCall[] = [];
  if (meta.forkSource) calls.push({ kind: "releaseFork", source: meta.forkSource, fork: meta.name, generation: meta.generation });
  // A deleted source ends its subscriptions (a re-created stream restarts positions at zero);
  // a deleted estuary leaves the sources it was subscribed to.
  // Its subscribers object also forgets its sinks' positions for the commit policy.
  if (meta.fanout || sinks.length > 0) calls.push({ kind: "sourceDeleted", source: meta.name });
  for (const { source } of sources) calls.push({ kind: "unsubscribe", source, estuary: meta.name });
  // It leaves its project's registry, and the subscriptions watching it unlink it.
  calls.push({ kind: "unregisterStream", stream: meta.name, generation: meta.generation });
  for (const watcher of watchers) calls.push({ kind: "streamGone", stream: meta.name, ...watcher });
  // Its data sinks are removed (their delivery state and secrets with them).
  for (const sinkId of sinks) calls.push({ kind: "removeSink", sink: sinkObjectName(meta.name, sinkId), generation: meta.generation });
  return calls;
}
