// The wake lifecycle of a subscription (protocol §7): when a linked stream's tail passes its acked
// offset and no wake is outstanding, a wake starts: generation + 1, a new wake id and a snapshot of
// the tails. A webhook wake is POSTed (retried with backoff while it fails, given up after a bound
// until new data arrives); a pull-wake wake is appended to the wake stream and claimed by a worker.
// Callbacks, acks and releases must present a token of the current generation and name the current
// wake, or they are FENCED. A lease that runs out ends the wake, and a new one starts if work is
// pending. All of it is stored, and due times are alarm tasks.
import type { AppendedOutcome } from "../contract/subscriptions";
import { MAX_GLOB_LINKS, relativePath } from "../contract/subscriptions";
import type { Env } from "../env";
import { streamStub } from "../stream/stub";
import { formatOffset } from "../protocol/offsets";
import type { Outbox } from "../storage/outbox";
import type { SubscriptionCall } from "./calls";
import type { AnswerResult, ClaimResult, SubscriptionView, WakeAnswer } from "./commands";
import { canonicalConfig, MIN_LEASE_TTL_MS } from "./config";
import { DELIVERY_TIMEOUT_MS, postWake, retryDelay, WEBHOOK_MAX_ATTEMPTS } from "./delivery";
import { dsFail, type DsFailure } from "./errors";
import { applyAcks, refreshTails, type HeadOf } from "./acks";
import { CALLS_PER_INVOCATION } from "./budget";
import { infoOf, isPending } from "./links";
import { parsePattern, parseStreamRef, patternCovers } from "./paths";
import type { Link, SubscriptionRepository, SubscriptionState } from "./repository";
import { checkToken, issueToken } from "./tokens";

/**
 * A wake lists at most this many pending streams (the rest stay pending for the next wake): it
 * bounds the stored snapshot (SQLite caps a value at 2 MB) and the webhook body.
 */
export const MAX_WAKE_STREAMS = 1_000;
/**
 * A subscription appends at most one wake event per this interval to its wake stream (the next one
 * waits, and only the latest waiting event is kept): a worker that claims and releases in a loop
 * cannot grow the wake stream faster than this. Equal to the shortest lease, so a wake that ends by
 * its lease running out is never delayed.
 */
export const WAKE_EVENT_INTERVAL_MS = MIN_LEASE_TTL_MS;
/** The outbox key of the pending wake event: a newer wake's event replaces one not yet appended. */
const WAKE_EVENT_KEY = "wake-event";

export class Wakes {
  state: SubscriptionState | null = null;
  /** Makes one webhook POST. Replaceable so tests can inject failures. */
  post: typeof postWake = postWake;
  /** Asks a linked stream for its tail. Replaceable so tests can count the calls. */
  head: HeadOf = (streamKey) => streamStub(this.env, streamKey).head();
  /** Calls one claim or answer may make in a loop (budget.ts); replaceable so tests can run it small. */
  callBudget = CALLS_PER_INVOCATION;
  /** The last link a claim's tail refresh asked: the next one carries on after it. */
  private refreshedUpTo: string | null = null;
  /** Links the pattern may add (MAX_GLOB_LINKS); replaceable so tests can run it small. */
  maxGlobLinks = MAX_GLOB_LINKS;
  /** When the latest wake event is (or was) due (memory: after a restart at most one more comes early). */
  private wakeEventDueAt = 0;

  constructor(
    private readonly env: Env,
    private readonly storage: DurableObjectStorage,
    private readonly repo: SubscriptionRepository,
    private readonly outbox: Outbox<SubscriptionCall>,
    private readonly replan: () => void,
  ) {}

  save(state: SubscriptionState): void {
    this.repo.save(state, canonicalConfig(state.config));
    this.state = state;
  }

  nextDue(): number | null {
    const state = this.state;
    if (!state) return null;
    const due = [state.deliveryDueAt, state.leaseExpiresAt].filter((at): at is number => at !== null);
    return due.length > 0 ? Math.min(...due) : null;
  }

  view(): SubscriptionView {
    const state = this.mustState();
    const { config } = state;
    return {
      id: state.id,
      type: config.type,
      pattern: config.pattern,
      streams: this.repo.links().map((link) => {
        const { path, link_type, acked_offset } = infoOf(link);
        return link.gaps ? { path, link_type, acked_offset, gaps: link.gaps } : { path, link_type, acked_offset };
      }),
      webhook: config.webhook,
      wake_stream: config.wake_stream,
      lease_ttl_ms: config.lease_ttl_ms,
      created_at: new Date(state.createdAt).toISOString(),
      status: state.status,
      last_error: state.lastError,
      description: config.description,
    };
  }

  /** A watched (or newly matching) stream reached `tail`. */
  streamReached(stream: string, incarnation: string, tail: number): AppendedOutcome {
    const state = this.state;
    if (!state || state.incarnation !== incarnation) return "gone";
    const path = relativePath(stream);
    const link = this.repo.link(path);
    const grew = !link || tail > link.tail;
    if (!link) {
      const pattern = state.config.pattern ? parsePattern(state.config.pattern) : null;
      if (!pattern || !patternCovers(pattern, stream)) return "gone";
      if (this.repo.linkCounts().globOnly >= this.maxGlobLinks) {
        console.warn(`subscription ${state.id} links ${this.maxGlobLinks} streams through its pattern already; ${stream} is not linked`);
        return "gone";
      }
      // Found after the subscription was made: everything in it is pending.
      this.repo.saveLink({ path, streamKey: stream, explicit: false, glob: true, acked: "-1", tail });
    } else if (tail > link.tail) {
      this.repo.saveLink({ ...link, tail });
    }
    // After a given-up wake only new data wakes the receiver again, not a repeated notice.
    if (grew || state.status !== "failed") this.maybeWake();
    return "ok";
  }

  /** A link's stream answered its tail when watched: a new link is acked there. */
  linked(stream: string, tail: number): void {
    const link = this.repo.link(relativePath(stream));
    if (!link) return;
    const acked = link.acked ?? formatOffset(tail);
    this.repo.saveLink({ ...link, acked, tail: Math.max(link.tail, tail) });
    this.maybeWake();
  }

  /** Callback (webhook), ack and release (pull-wake). */
  async answer(token: string, answer: WakeAnswer, kind: "callback" | "ack" | "release"): Promise<AnswerResult> {
    const state = this.state;
    if (!state) return dsFail("SUBSCRIPTION_NOT_FOUND", "subscription not found");
    if (kind !== "callback" && state.config.type !== "pull-wake") return dsFail("INVALID_REQUEST", "subscription is not pull-wake");
    const checked = await checkToken(state.tokenSecret, token, { sub: state.id, inc: state.incarnation }, Date.now());
    if (!checked.ok) return dsFail(checked.code, checked.code === "TOKEN_EXPIRED" ? "token expired" : "token invalid");
    const now = this.state;
    if (!now || now.incarnation !== state.incarnation) return dsFail("SUBSCRIPTION_NOT_FOUND", "subscription not found");
    if (!now.wakeId || checked.epoch !== now.generation || answer.generation !== now.generation || answer.wake_id !== now.wakeId) {
      return dsFail("FENCED", "the wake generation is stale");
    }
    if (kind !== "release") {
      const acked = await applyAcks(this.head, this.callBudget, this.storage, this.repo, answer.acks ?? []);
      if (acked) return acked;
    }
    const current = this.state;
    if (!current) return dsFail("SUBSCRIPTION_NOT_FOUND", "subscription not found");
    if (current.wakeId !== answer.wake_id) return dsFail("FENCED", "the wake generation is stale");
    if (kind === "release" || answer.done === true) {
      this.finish(current);
      return { ok: true, next_wake: this.maybeWake() };
    }
    this.save({ ...current, leaseExpiresAt: Date.now() + current.config.lease_ttl_ms });
    this.replan();
    return { ok: true, next_wake: false };
  }

  async claim(worker: string): Promise<ClaimResult> {
    const first = this.state;
    if (!first) return dsFail("SUBSCRIPTION_NOT_FOUND", "subscription not found");
    if (first.config.type !== "pull-wake") return dsFail("INVALID_REQUEST", "subscription is not pull-wake");
    if (first.holder) return alreadyClaimed(first);
    // The append that made work pending may still be on its way here: ask the streams.
    if (!first.wakeId && !this.repo.links().some(isPending)) this.refreshedUpTo = await refreshTails(this.head, this.callBudget, this.repo, this.refreshedUpTo);
    if (this.state?.holder) return alreadyClaimed(this.state);
    if (this.state && !this.state.wakeId && !this.maybeWake()) return dsFail("NO_PENDING_WORK", "the subscription has no pending work");
    const waking = this.state;
    if (!waking) return dsFail("SUBSCRIPTION_NOT_FOUND", "subscription not found");
    const now = Date.now();
    const token = await issueToken(waking.tokenSecret, { sub: waking.id, inc: waking.incarnation, epoch: waking.generation }, now);
    // Checked again after the await: another claim may have won, or the wake moved on.
    const state = this.state;
    if (!state || state.incarnation !== waking.incarnation) return dsFail("SUBSCRIPTION_NOT_FOUND", "subscription not found");
    if (state.holder) return alreadyClaimed(state);
    if (!state.wakeId || state.generation !== waking.generation) return dsFail("NO_PENDING_WORK", "the subscription has no pending work");
    this.save({ ...state, holder: worker, leaseExpiresAt: now + state.config.lease_ttl_ms });
    this.replan();
    const streams = this.repo.links().filter(isPending).slice(0, MAX_WAKE_STREAMS).map(infoOf);
    return { ok: true, wake_id: state.wakeId, generation: state.generation, token, streams, lease_ttl_ms: state.config.lease_ttl_ms };
  }

  /** The alarm: expired leases end their wakes; due webhook attempts are made. */
  async runDue(now: number): Promise<void> {
    const state = this.state;
    if (!state) return;
    if (state.leaseExpiresAt !== null && state.leaseExpiresAt <= now) {
      this.finish(state);
      this.maybeWake();
    }
    const due = this.state;
    if (due?.deliveryDueAt != null && due.deliveryDueAt <= now) await this.deliver(due, now);
  }

  async appendWakeEvent(stream: string, event: string): Promise<void> {
    const stub = streamStub(this.env, stream);
    const head = await stub.head();
    if (!head.ok) {
      console.warn(`wake stream ${stream} is unavailable (${head.message}); wake event dropped`);
      return;
    }
    const result = await stub.append({ contentType: head.contentType, body: new TextEncoder().encode(event), close: false });
    if (!result.ok) console.warn(`appending a wake event to ${stream} failed (${result.message}); wake event dropped`);
  }

  // --- internals -------------------------------------------------------------------------------

  /** Starts a wake if none is outstanding and work is pending; true if it did. */
  private maybeWake(): boolean {
    const state = this.state;
    if (!state || state.wakeId || state.holder) return false;
    const links = this.repo.links();
    const trigger = links.find(isPending);
    if (!trigger) return false;
    const generation = state.generation + 1;
    const next: SubscriptionState = {
      ...state,
      generation,
      wakeId: `w_${hex(12)}`,
      snapshot: links.filter(isPending).slice(0, MAX_WAKE_STREAMS).map(infoOf),
      deliveryDueAt: state.config.type === "webhook" ? Date.now() : null,
      attempts: 0,
    };
    this.storage.transactionSync(() => {
      this.save(next);
      const wakeStream = state.config.wake_stream ? parseStreamRef(state.config.wake_stream) : null;
      if (wakeStream) {
        const event = JSON.stringify({ type: "wake", subscription_id: state.id, stream: trigger.path, generation, ts: Date.now() });
        // One still waiting is replaced by this one, at its time; otherwise one interval after it.
        const now = Date.now();
        const dueAt = this.wakeEventDueAt > now ? this.wakeEventDueAt : Math.max(now, this.wakeEventDueAt + WAKE_EVENT_INTERVAL_MS);
        this.outbox.add([{ call: { kind: "wakeEvent", stream: wakeStream.address.key, event }, key: WAKE_EVENT_KEY, dueAt }]);
        this.wakeEventDueAt = dueAt;
      }
    });
    this.replan();
    return true;
  }

  /** Ends the outstanding wake (done, released, or its lease ran out). */
  private finish(state: SubscriptionState): void {
    this.save({ ...state, wakeId: null, snapshot: [], holder: null, leaseExpiresAt: null, deliveryDueAt: null, attempts: 0 });
    this.replan();
  }

  private async deliver(state: SubscriptionState, now: number): Promise<void> {
    const url = state.config.webhook?.url;
    const wakeId = state.wakeId;
    if (!url || !wakeId) return this.save({ ...state, deliveryDueAt: null });
    // Marked in flight: if this object dies mid-POST, the alarm tries again once the POST timed out.
    this.save({ ...state, deliveryDueAt: now + DELIVERY_TIMEOUT_MS * 2 });
    this.replan();
    const token = await issueToken(state.tokenSecret, { sub: state.id, inc: state.incarnation, epoch: state.generation }, now);
    const body = JSON.stringify({
      subscription_id: state.id,
      wake_id: wakeId,
      generation: state.generation,
      streams: state.snapshot,
      callback_url: new URL(`/v1/stream/__ds/subscriptions/${encodeURIComponent(state.id)}/callback`, state.origin).href,
      callback_token: token,
    });
    const result = await this.post(this.env, url, body, now);
    const current = this.state;
    // Finished (or superseded) while the POST was out: nothing more to do for it.
    if (!current || current.wakeId !== wakeId) return;
    if (!result.ok) {
      const attempts = current.attempts + 1;
      if (attempts >= WEBHOOK_MAX_ATTEMPTS) {
        // Given up: the wake ends, its links stay pending, and new data starts the next wake.
        console.warn(`webhook for subscription ${current.id} failed ${attempts} times in a row; wake ${wakeId} given up: ${result.error}`);
        this.finish({ ...current, status: "failed", lastError: `gave up after ${attempts} failed attempts: ${result.error}`.slice(0, 1_000) });
        return;
      }
      const delay = retryDelay(attempts, result.retryAfterMs);
      // Said once as the trouble starts (and once more if the wake is given up), not on every retry.
      if (current.status === "active") console.warn(`webhook for subscription ${current.id} failing, retrying with backoff: ${result.error}`);
      this.save({ ...current, attempts, deliveryDueAt: Date.now() + delay, status: "failed", lastError: result.error.slice(0, 1_000) });
      this.replan();
      return;
    }
    if (current.status === "failed") console.info(`webhook for subscription ${current.id} delivering again after ${current.attempts} failed attempts`);
    const delivered: SubscriptionState = { ...current, attempts: 0, deliveryDueAt: null, status: "active", lastError: null };
    if (result.done) {
      // The receiver finished the wake in its answer: everything in the snapshot is acked.
      this.storage.transactionSync(() => {
        for (const info of current.snapshot) {
          const link = this.repo.link(info.path);
          if (link && ackedAfter(link, info.tail_offset)) this.repo.saveLink({ ...link, acked: info.tail_offset });
        }
        this.finish(delivered);
      });
      this.maybeWake();
      return;
    }
    // The receiver holds the wake for a lease, renewed by each callback.
    this.save({ ...delivered, leaseExpiresAt: Date.now() + current.config.lease_ttl_ms });
    this.replan();
  }

  private mustState(): SubscriptionState {
    if (!this.state) throw new Error("subscription state is not loaded");
    return this.state;
  }
}

function alreadyClaimed(state: SubscriptionState): DsFailure {
  return dsFail("ALREADY_CLAIMED", "another worker holds the claim", { current_holder: state.holder ?? "", generation: state.generation });
}

/** Whether acking at `offset` moves the link forward. */
function ackedAfter(link: Link, offset: string): boolean {
  return link.acked === null || link.acked === "-1" || offset > link.acked;
}

function hex(bytes: number): string {
  return [...crypto.getRandomValues(new Uint8Array(bytes))].map((byte) => byte.toString(16).padStart(2, "0")).join("");
}
