// Subscription use cases: each coordinates the source's StreamDO, the estuary's StreamDO and the
// source's StreamSubscribersDO. Handlers call exactly one of these.
import type { Config } from "../config";
import { ApiError } from "../errors";
import { streamPathOf, type StreamAddress } from "../protocol/stream-address";
import { streamStub, subscribersStub, type Env } from "../env";
import { formatOffset, type OffsetQuery } from "../protocol/offsets";
import { NO_COST, type FanoutStatus } from "../contract/fanout";
import type { EstuaryDescription } from "../routes/estuary/schemas";

/** How far upstream a cycle check walks before refusing to guess. */
const MAX_CYCLE_CHECK_STREAMS = 1_000;

export async function subscribe(
  env: Env,
  config: Config,
  source: StreamAddress,
  estuary: StreamAddress,
  { from, public: isPublic }: { from: OffsetQuery; public: boolean },
): Promise<{ created: boolean }> {
  // A read validates `from` (beyond the tail, not a message boundary) and resolves now / -1.
  const start = await streamStub(env, source.key).read({ offset: from, waitMs: 0 });
  if (!start.ok) throw ApiError.from(start);
  await rejectCycle(env, source.key, estuary.key);

  const attached = await streamStub(env, estuary.key).attachSource({
    source: source.key,
    contentType: start.contentType,
    position: start.start,
    name: estuary.key,
    ttlSeconds: config.ESTUARY_TTL_SECONDS,
    public: isPublic,
    maxSources: config.MAX_SUBSCRIPTIONS_PER_ESTUARY,
  });
  if (!attached.ok) throw ApiError.from(attached);
  const added = await subscribersStub(env, source.key).subscribe({
    source: source.key,
    estuary: estuary.key,
    position: attached.applied,
    maxSubscribers: config.MAX_SUBSCRIBERS_PER_SOURCE,
  });
  if (!added.ok) {
    // Undo the estuary side, so a refused subscription leaves nothing behind.
    const estuaryStub = streamStub(env, estuary.key);
    if (attached.created) await estuaryStub.delete();
    else if (attached.attached) await estuaryStub.detachSource(source.key);
    throw ApiError.from(added);
  }
  return { created: attached.attached };
}

export async function unsubscribe(env: Env, source: StreamAddress, estuary: StreamAddress): Promise<void> {
  const removed = await subscribersStub(env, source.key).unsubscribe(estuary.key);
  await streamStub(env, estuary.key).detachSource(source.key);
  if (!removed) throw new ApiError("not_found", "the estuary is not subscribed to this stream");
}

export async function describeEstuary(env: Env, estuary: StreamAddress): Promise<EstuaryDescription> {
  const sources = await streamStub(env, estuary.key).estuarySources();
  if (!sources) throw new ApiError("not_found", "estuary not found");
  const subscriptions = await Promise.all(
    sources.map(async ({ source, applied }) => {
      const head = await streamStub(env, source).head();
      return {
        source: streamPathOf(source),
        deliveredOffset: formatOffset(applied),
        lagBytes: head.ok ? Math.max(0, head.tail - applied) : null,
      };
    }),
  );
  return { estuary: estuary.stream, stream: streamPathOf(estuary.key), subscriptions };
}

/** Deletes the estuary stream; its StreamDO ends its subscriptions as it goes. */
export async function deleteEstuary(env: Env, estuary: StreamAddress): Promise<void> {
  const stub = streamStub(env, estuary.key);
  if (!(await stub.estuarySources())) throw new ApiError("not_found", "estuary not found");
  const deleted = await stub.delete();
  if (!deleted.ok) throw ApiError.from(deleted);
}

export async function fanoutStatus(env: Env, source: StreamAddress): Promise<FanoutStatus> {
  const status = await subscribersStub(env, source.key).status();
  if (status) return status;
  const head = await streamStub(env, source.key).head();
  if (!head.ok) throw ApiError.from(head);
  return {
    source: source.key,
    subscribers: 0,
    mode: "inline",
    breaker: "closed",
    fannedOutPosition: head.tail,
    targetPosition: head.tail,
    pendingRepairs: 0,
    cost: NO_COST,
    lastError: null,
  };
}

/** Data flows source -> estuary; a cycle exists if the estuary already feeds the source. */
async function rejectCycle(env: Env, source: string, estuary: string): Promise<void> {
  const cycle = new ApiError("conflict", "subscribing would create a cycle: the estuary already feeds this stream");
  const seen = new Set<string>([source]);
  const queue = [source];
  while (queue.length > 0) {
    const current = queue.shift() as string;
    if (current === estuary) throw cycle;
    const upstream = await streamStub(env, current).estuarySources();
    for (const { source: next } of upstream ?? []) {
      if (seen.has(next)) continue;
      if (seen.size >= MAX_CYCLE_CHECK_STREAMS) throw new ApiError("conflict", "subscription chain is too deep to check");
      seen.add(next);
      queue.push(next);
    }
  }
}
