// Estuary use cases (an estuary linked to a source, its description and removal, the source's commit
// policy and fan-out status): each coordinates the source's StreamDO, the estuary's StreamDO and the
// source's fan-out object (StreamSubscribersDO). Handlers call exactly one of these.
import type { Config } from "../config";
import { ApiError } from "../errors";
import { streamPathOf, type StreamAddress } from "../protocol/stream-address";
import type { Env } from "../env";
import { fanoutStub } from "../fanout/stub";
import { streamStub } from "../stream/stub";
import { formatOffset, type OffsetQuery } from "../protocol/offsets";
import { NO_COST, type CommitPolicy, type FanoutStatus } from "../contract/fanout";
import { mapLimit } from "../map-limit";
import type { EstuaryDescription } from "./description";

/** How far upstream a cycle check walks before refusing to guess. */
const MAX_CYCLE_CHECK_STREAMS = 1_000;
/** Estuaries attached side by side by one bulk subscribe. */
const ATTACH_CONCURRENCY = 16;

/** One estuary's subscription: newly attached (`created`), already there, or refused and why. */
export type SubscribeResult = { estuary: StreamAddress } & ({ ok: true; created: boolean } | { ok: false; error: ApiError });

export interface SubscribeOptions {
  from: OffsetQuery;
  public: boolean;
  /** Whether the subscriptions count for the source's commit policy. */
  required: boolean;
  /** Set for the CloudEvents envelope (one for every estuary of the request); absent for raw. */
  cloudEvents?: { typePrefix: string };
}

/**
 * Subscribes estuaries (one, or up to SUBSCRIBE_BATCH for a follow graph) to `source`: the source
 * is checked once, each estuary is attached on its own, and the subscribers object adds them all in
 * one call. A refused estuary is left as it was; the others go ahead.
 */
export async function subscribe(
  env: Env,
  config: Config,
  source: StreamAddress,
  estuaries: readonly StreamAddress[],
  { from, public: isPublic, required, cloudEvents }: SubscribeOptions,
): Promise<SubscribeResult[]> {
  // A read validates `from` (beyond the tail, not a message boundary) and resolves now / -1.
  const start = await streamStub(env, source.key).read({ offset: from, waitMs: 0 });
  if (!start.ok) throw ApiError.from(start);
  const upstream = await feeding(env, source.key);
  const envelope = cloudEvents && { envelope: "cloudevents" as const, typePrefix: cloudEvents.typePrefix, sourceGeneration: start.generation };

  const attached = await mapLimit(estuaries, ATTACH_CONCURRENCY, async (estuary) => {
    if (upstream.has(estuary.key)) return new ApiError("conflict", "subscribing would create a cycle: the estuary already feeds this stream");
    const result = await streamStub(env, estuary.key).attachSource({
      source: source.key,
      contentType: start.contentType,
      position: start.start,
      name: estuary.key,
      ttlSeconds: config.ESTUARY_TTL_SECONDS,
      public: isPublic,
      maxSources: config.MAX_SUBSCRIPTIONS_PER_ESTUARY,
      envelope,
    });
    return result.ok ? result : ApiError.from(result);
  });
  const ready = estuaries.flatMap((estuary, i) => {
    const result = attached[i];
    return result && !(result instanceof ApiError) ? [{ estuary, attached: result }] : [];
  });
  const added =
    ready.length === 0
      ? { ok: true as const, outcomes: [] }
      : await fanoutStub(env, source.key).subscribe({
          source: source.key,
          estuaries: ready.map(({ estuary, attached }) => ({ estuary: estuary.key, position: attached.applied, required })),
          maxSubscribers: config.MAX_SUBSCRIBERS_PER_SOURCE,
        });
  const refused = added.ok ? null : ApiError.from(added);
  const full = new ApiError("conflict", `a stream may have at most ${config.MAX_SUBSCRIBERS_PER_SOURCE} subscribers`);
  const outcomes = new Map<string, SubscribeResult>();
  await mapLimit(ready, ATTACH_CONCURRENCY, async ({ estuary, attached }, i) => {
    const outcome = added.ok ? added.outcomes[i] : undefined;
    if (outcome === "added" || outcome === "existing") {
      outcomes.set(estuary.key, { estuary, ok: true, created: attached.attached });
      return;
    }
    // Undo the estuary side, so a refused subscription leaves nothing behind.
    const stub = streamStub(env, estuary.key);
    if (attached.created) await stub.delete();
    else if (attached.attached) await stub.detachSource(source.key);
    outcomes.set(estuary.key, { estuary, ok: false, error: refused ?? full });
  });
  return estuaries.map((estuary, i): SubscribeResult => {
    const result = attached[i];
    if (result instanceof ApiError) return { estuary, ok: false, error: result };
    return outcomes.get(estuary.key) ?? { estuary, ok: false, error: full };
  });
}

export async function unsubscribe(env: Env, source: StreamAddress, estuary: StreamAddress): Promise<void> {
  const removed = await fanoutStub(env, source.key).unsubscribe(estuary.key);
  await streamStub(env, estuary.key).detachSource(source.key);
  if (!removed) throw new ApiError("not_found", "the estuary is not subscribed to this stream");
}

export async function describeEstuary(env: Env, estuary: StreamAddress): Promise<EstuaryDescription> {
  const sources = await streamStub(env, estuary.key).estuarySources();
  if (!sources) throw new ApiError("not_found", "estuary not found");
  const subscriptions = await Promise.all(
    sources.map(async ({ source, applied, envelope, typePrefix, gaps }) => {
      const head = await streamStub(env, source).head();
      return {
        source: streamPathOf(source),
        deliveredOffset: formatOffset(applied),
        lagBytes: head.ok ? Math.max(0, head.tail - applied) : null,
        envelope,
        ...(typePrefix === undefined ? {} : { typePrefix }),
        ...(gaps === undefined ? {} : { gaps }),
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

/** Sets the source's commit policy; answers it with the committed position under it. */
export async function setCommitPolicy(
  env: Env,
  source: StreamAddress,
  policy: CommitPolicy,
): Promise<{ policy: CommitPolicy; committedPosition: number }> {
  const head = await streamStub(env, source.key).head();
  if (!head.ok) throw ApiError.from(head);
  const subscribers = fanoutStub(env, source.key);
  await subscribers.setPolicy(policy);
  return subscribers.commitState(head.tail);
}

export async function fanoutStatus(env: Env, source: StreamAddress): Promise<FanoutStatus> {
  const subscribers = fanoutStub(env, source.key);
  const status = await subscribers.status();
  if (status) return status;
  const head = await streamStub(env, source.key).head();
  if (!head.ok) throw ApiError.from(head);
  return {
    source: source.key,
    subscribers: 0,
    hot: 0,
    pushed: 0,
    pulled: 0,
    mode: "inline",
    breaker: "closed",
    fannedOutPosition: head.tail,
    targetPosition: head.tail,
    pendingRepairs: 0,
    cost: NO_COST,
    lastError: null,
    ...(await subscribers.commitState(head.tail)),
  };
}

/**
 * Data flows source -> estuary; subscribing an estuary makes a cycle if it already feeds the source.
 * Everything upstream of the source (the source included), walked once for a whole batch.
 */
async function feeding(env: Env, source: string): Promise<Set<string>> {
  const seen = new Set<string>([source]);
  const queue = [source];
  while (queue.length > 0) {
    const current = queue.shift() as string;
    const upstream = await streamStub(env, current).estuarySources();
    for (const { source: next } of upstream ?? []) {
      if (seen.has(next)) continue;
      if (seen.size >= MAX_CYCLE_CHECK_STREAMS) throw new ApiError("conflict", "subscription chain is too deep to check");
      seen.add(next);
      queue.push(next);
    }
  }
  return seen;
}
