// Data sink use cases: each coordinates the source's StreamDO (which links its sinks and tells them
// about appends) and the sink's SinkDO. Route handlers call exactly one of these.
import type { Config } from "../config";
import type { CommitPolicy } from "../contract/fanout";
import { sinkObjectName } from "../contract/sinks";
import type { Env } from "../env";
import { fanoutStub } from "../fanout/stub";
import { sinkStub } from "./stub";
import { streamStub } from "../stream/stub";
import { ApiError } from "../errors";
import { mapLimit } from "../map-limit";
import { parseOffset, type OffsetQuery } from "../protocol/offsets";
import type { StreamAddress } from "../protocol/stream-address";
import { checkWebhookUrl } from "../http/outbound-url";
import type { CommitHold, SinkConfig, SinkDetail, SinkView } from "./commands";

export interface NewSink {
  id: string;
  config: SinkConfig;
  from: OffsetQuery;
}

export type SinkCreated = { created: true; view: SinkView; secret: string } | { created: false; view: SinkView };

export async function createSink(env: Env, config: Config, source: StreamAddress, sink: NewSink): Promise<SinkCreated> {
  const url = checkWebhookUrl(sink.config.url, config.WEBHOOK_ALLOW_LOOPBACK === "on", "sink.url");
  if (!url.ok) throw new ApiError("bad_request", url.message);
  const stream = streamStub(env, source.key);
  // A read validates `from` (beyond the tail, not a message boundary) and resolves now / -1.
  const start = await stream.read({ offset: sink.from, waitMs: 0 });
  if (!start.ok) throw ApiError.from(start);
  // Linked first: a sink that exists is always told about appends. A link whose sink could not be
  // made costs a notice per append until the sink is created or deleted through the route.
  const linked = await stream.linkSink(sink.id);
  if (!linked.ok) throw ApiError.from(linked);
  const made = await sinkStub(env, sinkObjectName(source.key, sink.id)).create({
    sinkId: sink.id,
    source: source.key,
    sourceGeneration: linked.generation,
    contentType: start.contentType,
    position: start.start,
    config: { ...sink.config, url: url.url },
  });
  if (!made.ok) throw ApiError.from(made);
  // It counts for the source's commit policy from where it starts (or, confirmed again, from where
  // it has got: that also repairs a registration an earlier attempt did not finish).
  const position = made.created ? start.start : offsetPosition(made.view.deliveredOffset);
  await fanoutStub(env, source.key).sinkAdded({ sinkId: sink.id, incarnation: made.incarnation, required: sink.config.required, position });
  return made.created ? { created: true, view: made.view, secret: made.secret } : { created: false, view: made.view };
}

export async function removeSink(env: Env, source: StreamAddress, sinkId: string): Promise<void> {
  const unlinked = await streamStub(env, source.key).unlinkSink(sinkId);
  const removed = await sinkStub(env, sinkObjectName(source.key, sinkId)).remove();
  await fanoutStub(env, source.key).sinkRemoved(sinkId);
  if (!unlinked && !removed) throw notFound(sinkId);
}

export async function enableSink(env: Env, source: StreamAddress, sinkId: string): Promise<SinkView> {
  const view = await sinkStub(env, sinkObjectName(source.key, sinkId)).enable();
  if (!view) throw notFound(sinkId);
  return view;
}

export async function describeSink(env: Env, source: StreamAddress, sinkId: string): Promise<SinkDetail> {
  const detail = await sinkStub(env, sinkObjectName(source.key, sinkId)).detail();
  if (!detail) throw notFound(sinkId);
  return detail;
}

/** The state of every sink the source feeds (for its fan-out status). */
export async function listSinks(env: Env, source: StreamAddress): Promise<SinkView[]> {
  const ids = await streamStub(env, source.key).sinkIds();
  const views: (SinkView | null)[] = await mapLimit(ids, 8, (id) => sinkStub(env, sinkObjectName(source.key, id)).state());
  return views.filter((view) => view !== null);
}

/**
 * The sinks that hold the source's committed offset: each counts under the policy (every sink but
 * an optional one under `required`), has delivered no further than that offset, and is not
 * delivering (retrying, or disabled, which holds it until enabled again). Offsets compare as
 * strings: they are fixed-width.
 */
export function commitHeldBy(policy: CommitPolicy, committedOffset: string, sinks: readonly SinkView[]): CommitHold[] {
  const holds: CommitHold[] = [];
  for (const sink of sinks) {
    if (sink.state === "active" || (policy.mode === "required" && !sink.required) || sink.deliveredOffset > committedOffset) continue;
    holds.push({ sinkId: sink.id, state: sink.state, deliveredOffset: sink.deliveredOffset, lastError: sink.lastError?.message ?? null });
  }
  return holds;
}

function notFound(sinkId: string): ApiError {
  return new ApiError("not_found", `the stream has no sink ${sinkId}`);
}

/** A position from an offset this service formatted. */
function offsetPosition(offset: string): number {
  const parsed = parseOffset(offset);
  return parsed?.kind === "at" ? parsed.position : 0;
}
