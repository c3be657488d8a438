// SubscriptionDO: one subscription of the reserved subscription APIs (`/v1/stream/__ds/...`). It
// keeps the links to the streams it covers (links.ts), the wake generation, lease and webhook retry
// state in SQLite, driven by its one alarm (storage/alarm-planner.ts), so none of it is lost to an
// eviction or a restart. Calls it needs other objects to make go through its outbox (calls.ts);
// the wake lifecycle is in wakes.ts.
import { DurableObject } from "cloudflare:workers";
import { z } from "zod";
import { StreamAppendedSchema, StreamGoneSchema, StreamTrimmedSchema, relativePath, type AppendedOutcome, type StreamAppended, type StreamGone, type StreamTrimmed } from "../contract/subscriptions";
import { ReachSchema, type Reach } from "../auth/reach";
import type { Env } from "../env";
import { projectStub } from "../projects/stub";
import { streamStub } from "../stream/stub";
import { AlarmPlanner } from "../storage/alarm-planner";
import { LazySchema } from "../storage/migrations";
import { Outbox } from "../storage/outbox";
import { formatOffset } from "../protocol/offsets";
import { SubscriptionCallSchema, type SubscriptionCall } from "./calls";
import {
  ClaimSchema,
  CreateSubscriptionSchema,
  WakeAnswerSchema,
  type AnswerResult,
  type ClaimResult,
  type CreateResult,
  type CreateSubscription,
  type Done,
  type ViewResult,
  type WakeAnswer,
} from "./commands";
import { canonicalConfig, MAX_EXPLICIT_STREAMS } from "./config";
import { coverageDenial } from "./coverage";
import { dsFail, type DsFailure } from "./errors";
import { parsePattern, parseStreamRef } from "./paths";
import { ackedPosition, jumpOver } from "./links";
import { SubscriptionRepository, type SubscriptionState } from "./repository";
import { SUBSCRIPTION_MIGRATIONS } from "./schema";
import { newSecret } from "./tokens";
import { Wakes } from "./wakes";

const PathSchema = z.string().min(1).max(300);

export class SubscriptionDO extends DurableObject<Env> {
  private readonly schema: LazySchema;
  private readonly repo: SubscriptionRepository;
  private readonly outbox: Outbox<SubscriptionCall>;
  private readonly alarms: AlarmPlanner;
  private readonly wakes: Wakes;
  /** Explicit links a subscription may have (configured plus added); replaceable so tests can run it small. */
  maxExplicit = MAX_EXPLICIT_STREAMS;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.schema = new LazySchema(ctx.storage, SUBSCRIPTION_MIGRATIONS);
    this.repo = new SubscriptionRepository(ctx.storage.sql);
    this.outbox = new Outbox(ctx.storage, SubscriptionCallSchema, (call) => this.send(call), () => this.schema.exists);
    this.wakes = new Wakes(env, ctx.storage, this.repo, this.outbox, () => this.alarms.plan());
    this.alarms = new AlarmPlanner(ctx.storage, [() => this.outbox.nextDue(), () => this.wakes.nextDue()]);
    if (this.schema.exists) this.wakes.state = this.repo.load();
  }

  /** `reach`: the token's (null with auth off); the same configuration again answers only a token reaching what it covers now. */
  async create(input: CreateSubscription, reach: Reach | null): Promise<CreateResult> {
    const cmd = CreateSubscriptionSchema.parse(input);
    const existing = this.wakes.state;
    if (existing) {
      if (existing.owner === cmd.owner && canonicalConfig(existing.config) === canonicalConfig(cmd.config)) {
        const owned = this.owned(reach);
        return "ok" in owned ? owned : { ok: true, created: false, view: this.wakes.view() };
      }
      return dsFail("SUBSCRIPTION_ALREADY_EXISTS", "a subscription with this id exists with another configuration");
    }
    this.schema.ensure();
    const state: SubscriptionState = {
      id: cmd.id,
      incarnation: crypto.randomUUID(),
      owner: cmd.owner,
      config: cmd.config,
      origin: cmd.origin,
      createdAt: Date.now(),
      tokenSecret: newSecret(),
      generation: 0,
      wakeId: null,
      snapshot: [],
      holder: null,
      leaseExpiresAt: null,
      deliveryDueAt: null,
      attempts: 0,
      lastError: null,
      status: "active",
    };
    const pattern = cmd.config.pattern ? parsePattern(cmd.config.pattern) : null;
    this.ctx.storage.transactionSync(() => {
      this.wakes.save(state);
      const calls: SubscriptionCall[] = [];
      if (pattern) calls.push({ kind: "addWatch", project: pattern.project, glob: pattern.glob, subscription: state.id, incarnation: state.incarnation });
      this.outbox.add(calls.map((call) => ({ call })));
      this.linkExplicit(cmd.config.streams, state);
    });
    this.alarms.plan();
    // The globs are in the registries before the answer, so a stream created right after is found.
    await this.outbox.drain();
    return { ok: true, created: true, view: this.wakes.view() };
  }

  async get(reach: Reach | null): Promise<ViewResult> {
    const state = this.owned(reach);
    return "ok" in state ? state : { ok: true, view: this.wakes.view() };
  }

  async delete(reach: Reach | null): Promise<Done> {
    if (!this.wakes.state) return { ok: true };
    const state = this.owned(reach);
    if ("ok" in state) return state;
    const pattern = state.config.pattern ? parsePattern(state.config.pattern) : null;
    const projects = new Set<string>(pattern ? [pattern.project] : []);
    const calls: SubscriptionCall[] = [];
    for (const link of this.repo.links()) {
      projects.add(link.streamKey.slice(0, link.streamKey.indexOf("/")));
      calls.push({ kind: "unwatch", stream: link.streamKey, subscription: state.id, incarnation: state.incarnation });
    }
    for (const project of projects) calls.push({ kind: "removeWatch", project, glob: null, subscription: state.id, incarnation: state.incarnation });
    this.ctx.storage.transactionSync(() => {
      this.outbox.add(calls.map((call) => ({ call })));
      this.repo.wipe();
    });
    this.wakes.state = null;
    this.alarms.plan();
    return { ok: true };
  }

  async addStreams(reach: Reach | null, paths: string[]): Promise<Done> {
    const state = this.owned(reach);
    if ("ok" in state) return state;
    const refs = z.array(PathSchema).max(1_000).parse(paths);
    const denial = reach && coverageDenial(reach, { streams: refs });
    if (denial) return dsFail("FORBIDDEN", denial);
    const fresh = new Set(refs.map((raw) => parseStreamRef(raw)?.path).filter((path) => path !== undefined && !this.repo.link(path)?.explicit));
    if (this.repo.linkCounts().explicit + fresh.size > this.maxExplicit) {
      return dsFail("INVALID_REQUEST", `a subscription has at most ${this.maxExplicit} explicit streams`);
    }
    this.ctx.storage.transactionSync(() => this.linkExplicit(refs, state));
    this.alarms.plan();
    return { ok: true };
  }

  async removeStream(reach: Reach | null, path: string): Promise<Done> {
    const state = this.owned(reach);
    if ("ok" in state) return state;
    const ref = parseStreamRef(PathSchema.parse(path));
    const link = ref ? this.repo.link(ref.path) : null;
    if (!ref || !link || !link.explicit) return { ok: true };
    const slash = link.streamKey.indexOf("/");
    const project = link.streamKey.slice(0, slash);
    const stream = link.streamKey.slice(slash + 1);
    const pattern = state.config.pattern ? parsePattern(state.config.pattern) : null;
    const calls: SubscriptionCall[] = [];
    // The registry entry stays when the pattern itself is that literal name.
    if (!(pattern && pattern.project === project && pattern.glob === stream)) {
      calls.push({ kind: "removeWatch", project, glob: stream, subscription: state.id, incarnation: state.incarnation });
    }
    this.ctx.storage.transactionSync(() => {
      if (link.glob) {
        this.repo.saveLink({ ...link, explicit: false });
      } else {
        this.repo.deleteLink(link.path);
        calls.push({ kind: "unwatch", stream: link.streamKey, subscription: state.id, incarnation: state.incarnation });
      }
      this.outbox.add(calls.map((call) => ({ call })));
    });
    this.alarms.plan();
    return { ok: true };
  }

  /** From a stream this subscription watches (or whose creation matched its glob): it now reaches `tail`. */
  async streamAppended(input: StreamAppended): Promise<AppendedOutcome> {
    const msg = StreamAppendedSchema.parse(input);
    return this.wakes.streamReached(msg.stream, msg.incarnation, msg.tail);
  }

  /** For the stream's retention: the position acked on `stream` (it holds trimming there); null if not linked. */
  async ackedPosition(input: StreamGone): Promise<number | null> {
    const msg = StreamGoneSchema.parse(input);
    const link = this.wakes.state?.incarnation === msg.incarnation ? this.repo.link(relativePath(msg.stream)) : null;
    return link ? ackedPosition(link) : null;
  }

  /** Retention trimmed past this subscription's acked offset (through the stream's outbox: at least once). */
  async streamTrimmed(input: StreamTrimmed): Promise<void> {
    const msg = StreamTrimmedSchema.parse(input);
    const link = this.wakes.state?.incarnation === msg.incarnation ? this.repo.link(relativePath(msg.stream)) : null;
    const jumped = link && jumpOver(link, msg.earliest, msg.messages, Date.now());
    if (jumped) this.repo.saveLink(jumped);
  }

  async streamDeleted(input: StreamGone): Promise<void> {
    const msg = StreamGoneSchema.parse(input);
    const state = this.wakes.state;
    if (!state || state.incarnation !== msg.incarnation) return;
    const link = this.repo.link(relativePath(msg.stream));
    if (!link) return;
    // An explicit link stays (the stream may be created again); a glob link goes with the stream.
    if (link.explicit) this.repo.saveLink({ ...link, glob: false, acked: formatOffset(0), tail: 0 });
    else this.repo.deleteLink(link.path);
  }

  async callback(token: string, answer: WakeAnswer): Promise<AnswerResult> {
    return this.wakes.answer(z.string().parse(token), WakeAnswerSchema.parse(answer), "callback");
  }

  async ack(token: string, answer: WakeAnswer): Promise<AnswerResult> {
    return this.wakes.answer(z.string().parse(token), WakeAnswerSchema.parse(answer), "ack");
  }

  async release(token: string, answer: WakeAnswer): Promise<Done> {
    const result = await this.wakes.answer(z.string().parse(token), WakeAnswerSchema.parse(answer), "release");
    return result.ok ? { ok: true } : result;
  }

  async claim(reach: Reach | null, input: { worker: string }): Promise<ClaimResult> {
    const state = this.owned(reach);
    if ("ok" in state) return state;
    return this.wakes.claim(ClaimSchema.parse(input).worker);
  }

  override async alarm(): Promise<void> {
    this.alarms.fired();
    await this.wakes.runDue(Date.now());
    await this.outbox.drain();
    this.alarms.plan();
  }

  // --- internals -------------------------------------------------------------------------------

  /**
   * The subscription, if the caller may act on it. With auth off (`reach` null) every caller may;
   * with it on, only a token of the project that made it, reaching every stream it covers now.
   */
  private owned(input: Reach | null): SubscriptionState | DsFailure {
    const reach = ReachSchema.nullable().parse(input);
    const state = this.wakes.state;
    if (!state || (reach !== null && state.owner !== reach.project)) return notFound();
    if (reach === null) return state;
    const { pattern, streams, wake_stream } = state.config;
    const denial = coverageDenial(reach, { pattern, wake_stream, streams: [...streams, ...this.repo.explicitPaths()] });
    return denial ? dsFail("FORBIDDEN", denial) : state;
  }

  /** Links explicit streams (acked once their tails are known) and registers them as literal globs. */
  private linkExplicit(paths: readonly string[], { id: subscription, incarnation }: SubscriptionState): void {
    const calls: SubscriptionCall[] = [];
    for (const raw of paths) {
      const ref = parseStreamRef(raw);
      if (!ref) continue;
      const link = this.repo.link(ref.path);
      if (link?.explicit) continue;
      this.repo.saveLink(link ? { ...link, explicit: true } : { path: ref.path, streamKey: ref.address.key, explicit: true, glob: false, acked: null, tail: 0 });
      calls.push({ kind: "addWatch", project: ref.address.project, glob: ref.address.stream, subscription, incarnation });
      calls.push({ kind: "watch", stream: ref.address.key, subscription, incarnation });
    }
    this.outbox.add(calls.map((call) => ({ call })));
  }

  private async send(call: SubscriptionCall): Promise<void> {
    if (call.kind === "wakeEvent") return this.wakes.appendWakeEvent(call.stream, call.event);
    const watcher = { subscription: call.subscription, incarnation: call.incarnation };
    const current = () => this.wakes.state?.incarnation === watcher.incarnation;
    switch (call.kind) {
      case "addWatch": {
        const names = await projectStub(this.env, call.project).addWatch({ ...watcher, glob: call.glob });
        // Deleted meanwhile: its removeWatch may have run first, so undo this one.
        if (!current()) return projectStub(this.env, call.project).removeWatch(watcher, call.glob);
        // The pattern's glob links what it matches; an explicit stream's literal glob finds its own link.
        const pattern = this.wakes.state?.config.pattern ? parsePattern(this.wakes.state.config.pattern) : null;
        const byPattern = pattern !== null && pattern.project === call.project && pattern.glob === call.glob;
        this.ctx.storage.transactionSync(() => {
          const calls: SubscriptionCall[] = [];
          for (const name of names) {
            const key = `${call.project}/${name}`;
            const link = this.repo.link(relativePath(key));
            if (!link && !byPattern) continue;
            if (!link) this.repo.saveLink({ path: relativePath(key), streamKey: key, explicit: false, glob: true, acked: null, tail: 0 });
            else if (byPattern && !link.glob) this.repo.saveLink({ ...link, glob: true });
            if (!link || link.acked === null) calls.push({ kind: "watch", stream: key, ...watcher });
          }
          this.outbox.add(calls.map((next) => ({ call: next })));
        });
        this.alarms.plan();
        return;
      }
      case "removeWatch":
        return projectStub(this.env, call.project).removeWatch(watcher, call.glob);
      case "watch": {
        const watched = await streamStub(this.env, call.stream).watch(watcher);
        if (!current() || !this.repo.link(relativePath(call.stream))) {
          await streamStub(this.env, call.stream).unwatch(watcher);
          return;
        }
        this.wakes.linked(call.stream, watched?.tail ?? 0);
        return;
      }
      case "unwatch":
        return streamStub(this.env, call.stream).unwatch(watcher);
    }
  }
}

function notFound() {
  return dsFail("SUBSCRIPTION_NOT_FOUND", "subscription not found");
}
