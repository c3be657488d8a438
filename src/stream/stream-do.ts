// StreamDO: one Durable Streams stream in SQLite. Its RPC methods are the whole protocol state machine;
// HTTP lives in the Worker.
import { DurableObject } from "cloudflare:workers";
import { streamStub, subscribersStub, type Env } from "../env";
import { fail, type Failure } from "../errors";
import { LazySchema } from "../storage/migrations";
import { planAppend } from "./append";
import { toChunks } from "./chunks";
import {
  AttachSourceSchema,
  AppendCommandSchema,
  CreateCommandSchema,
  ReadCommandSchema,
  RegisterForkSchema,
  type AppendResult,
  type AttachResult,
  type CreateCommand,
  type CreateResult,
  type DeleteResult,
  type HeadResult,
  type ReadResult,
  type RegisterForkResult,
  type SliceResult,
} from "./commands";
import { DEFAULT_CONTENT_TYPE, isJsonMode, sameMediaType } from "./content-type";
import { splitJsonMessages } from "./json-messages";
import { StreamRepository, type StreamMeta } from "./repository";
import { STREAM_MIGRATIONS } from "./schema";
import { DeliverySchema, planDelivery, type DeliveryOutcome } from "./estuary-inbox";
import { EstuarySources } from "./estuary-sources";
import { sameConfiguration } from "./create-config";
import { expiryOf, info, isExpired } from "./meta";
import { renderPayload } from "./payload";
import { StreamReader } from "./reader";
import { Waiters } from "./waiters";
import type { Publish } from "../estuary/messages";
import { CARRY_BYTES } from "../estuary/recent-appends";

/**
 * After an append to a stream with subscribers, an alarm this far out re-publishes the tail, so
 * fan-out resumes even if the publish made in waitUntil was lost with the isolate.
 */
const FANOUT_SAFETY_NET_MS = 5_000;

/**
 * Alarms cannot be set past the year 2189; a later expiry is approached in steps of this size
 * (each alarm finds the stream not yet expired and re-arms).
 */
const ALARM_HORIZON_MS = 50 * 365 * 24 * 3_600_000;

export class StreamDO extends DurableObject<Env> {
  private readonly repo: StreamRepository;
  private meta: StreamMeta | null = null;
  private readonly waiters = new Waiters();
  private readonly reader: StreamReader;
  /** For an estuary: its sources and how far each is applied. */
  private readonly sources: EstuarySources;
  private schema!: LazySchema;
  /** When the fan-out safety-net alarm is due, if this isolate armed one. */
  private fanoutCheckAt: number | null = null;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.repo = new StreamRepository(ctx.storage.sql);
    this.reader = new StreamReader(this.repo, env);
    this.sources = new EstuarySources(this.repo);
    void ctx.blockConcurrencyWhile(async () => {
      this.schema = new LazySchema(ctx.storage, STREAM_MIGRATIONS);
      if (!this.schema.exists) return;
      this.meta = this.repo.loadMeta();
      this.sources.load();
    });
  }

  async create(input: CreateCommand): Promise<CreateResult> {
    const cmd = CreateCommandSchema.parse(input);
    const now = Date.now();
    const existing = await this.live(now);
    if (existing.ok) return this.confirmExisting(existing.meta, cmd);
    if (existing.code === "gone") return fail("conflict", "stream was deleted but is still referenced by forks");

    let contentType = cmd.contentType ?? DEFAULT_CONTENT_TYPE;
    let ttlSeconds = cmd.ttlSeconds ?? null;
    let expiresAt = cmd.expiresAt ?? null;
    let forkPosition: number | null = null;
    let prefix: Uint8Array[] = [];
    if (cmd.fork) {
      const source = await streamStub(this.env, cmd.fork.source).registerFork({
        forkName: cmd.name,
        position: cmd.fork.position,
        subOffset: cmd.fork.subOffset,
        contentType: cmd.contentType,
      });
      if (!source.ok) return source;
      contentType = cmd.contentType ?? source.contentType;
      if (cmd.ttlSeconds === undefined && cmd.expiresAt === undefined) {
        ttlSeconds = source.ttlSeconds;
        expiresAt = source.expiresAt;
      }
      forkPosition = source.position;
      prefix = source.prefix;
    }

    const messages =
      cmd.body.length === 0 ? [] : isJsonMode(contentType) ? splitJsonMessages(cmd.body, true) : [cmd.body];
    if (!Array.isArray(messages)) {
      if (cmd.fork) await streamStub(this.env, cmd.fork.source).releaseFork(cmd.name);
      return messages;
    }

    const start = forkPosition ?? 0;
    const prefixChunks = toChunks(start, prefix);
    const bodyStart = prefixChunks.at(-1)?.end ?? start;
    const bodyChunks = toChunks(bodyStart, messages);
    const meta: StreamMeta = {
      generation: (this.meta?.generation ?? 0) + 1,
      status: "active",
      name: cmd.name,
      contentType,
      ttlSeconds,
      expiresAt,
      lastAccess: now,
      tail: bodyChunks.at(-1)?.end ?? bodyStart,
      closed: cmd.closed,
      closedBy: null,
      lastStreamSeq: null,
      forkSource: cmd.fork?.source ?? null,
      forkPosition,
      forkSubOffset: cmd.fork ? cmd.fork.subOffset : null,
      estuary: cmd.estuary ?? false,
      fanout: false,
      public: cmd.public ?? false,
    };
    this.schema.ensure();
    this.ctx.storage.transactionSync(() => {
      this.repo.wipe();
      this.repo.saveMeta(meta);
      this.repo.insertChunks(prefixChunks);
      this.repo.insertChunks(bodyChunks);
    });
    this.meta = meta;
    this.sources.clear();
    await this.scheduleExpiry();
    return { ok: true, created: true, ...info(meta) };
  }

  async append(input: unknown): Promise<AppendResult> {
    const cmd = AppendCommandSchema.parse(input);
    const now = Date.now();
    const current = await this.live(now);
    if (!current.ok) return current;
    const meta = current.meta;
    const plan = planAppend(meta, cmd, (id) => this.repo.producer(id));
    if (!plan.ok) return plan;
    if (plan.kind === "duplicate" || plan.kind === "noop") {
      return { ok: true, written: false, tail: meta.tail, closed: meta.closed, producer: plan.producer };
    }
    const chunks = toChunks(meta.tail, plan.messages);
    const next: StreamMeta = {
      ...meta,
      tail: chunks.at(-1)?.end ?? meta.tail,
      closed: meta.closed || cmd.close,
      closedBy: cmd.close && cmd.producer ? { ...cmd.producer } : meta.closedBy,
      lastStreamSeq: cmd.streamSeq ?? meta.lastStreamSeq,
      lastAccess: meta.ttlSeconds !== null ? now : meta.lastAccess,
    };
    this.commit(next, { from: meta.tail, messages: plan.messages }, () => {
      this.repo.insertChunks(chunks);
      if (cmd.producer) this.repo.saveProducer(cmd.producer.id, { epoch: cmd.producer.epoch, lastSeq: cmd.producer.seq });
      this.repo.saveMeta(next);
    });
    return { ok: true, written: true, tail: next.tail, closed: next.closed, producer: plan.producer };
  }

  async read(input: unknown): Promise<ReadResult> {
    const cmd = ReadCommandSchema.parse(input);
    const now = Date.now();
    const current = await this.live(now);
    if (cmd.requirePublic && !(current.ok && current.meta.public)) return tokenRequired();
    if (!current.ok) return current;
    let meta = current.meta;
    this.touch(meta, now);

    const { offset } = cmd;
    const start = offset.kind === "start" ? 0 : offset.kind === "now" ? meta.tail : offset.position;
    if (start > meta.tail) return fail("bad_request", "offset is beyond the end of the stream");
    if (!this.reader.isReadBoundary(meta, start)) return fail("bad_request", "offset is not a message boundary");

    if (start === meta.tail && cmd.waitMs > 0 && !meta.closed) {
      await this.waiters.wait(cmd.waitMs);
      const after = await this.live(Date.now());
      if (!after.ok) return after;
      meta = after.meta;
    }
    const gathered = await this.reader.gather(meta, start, meta.tail, false);
    if (!gathered.ok) return gathered;
    return {
      ok: true,
      start,
      next: gathered.next,
      body: renderPayload(meta.contentType, gathered.segments),
      upToDate: gathered.next === meta.tail,
      ...info(meta),
    };
  }

  async head(input?: { requirePublic?: boolean }): Promise<HeadResult> {
    const current = await this.live(Date.now());
    if (input?.requirePublic && !(current.ok && current.meta.public)) return tokenRequired();
    if (!current.ok) return current;
    return { ok: true, ...info(current.meta) };
  }

  async delete(): Promise<DeleteResult> {
    const current = await this.live(Date.now());
    if (!current.ok) return current;
    await this.remove();
    return { ok: true };
  }

  /** Called by a new fork: validates the fork point, pins this stream's data, returns what the fork inherits. */
  async registerFork(input: unknown): Promise<RegisterForkResult> {
    const req = RegisterForkSchema.parse(input);
    const current = await this.live(Date.now());
    if (!current.ok) {
      return current.code === "gone" ? fail("conflict", "cannot fork a deleted stream") : current;
    }
    const meta = current.meta;
    if (req.contentType !== undefined && !sameMediaType(req.contentType, meta.contentType)) {
      return fail("conflict", "fork content type must match the source stream");
    }
    const position = req.position ?? meta.tail;
    if (position > meta.tail) return fail("bad_request", "fork offset is beyond the end of the source stream");
    if (!this.reader.isReadBoundary(meta, position)) return fail("bad_request", "fork offset is not a message boundary");

    let prefix: Uint8Array[] = [];
    if (req.subOffset > 0) {
      const selected = await this.reader.selectSubOffset(meta, position, req.subOffset);
      if (!Array.isArray(selected)) return selected;
      prefix = selected;
    }
    this.repo.addFork(req.forkName);
    return {
      ok: true,
      contentType: meta.contentType,
      ttlSeconds: meta.ttlSeconds,
      expiresAt: meta.expiresAt,
      position,
      prefix,
    };
  }

  /** Called by a fork when it goes away; the last one out finishes a soft delete. */
  async releaseFork(forkName: string): Promise<void> {
    if (!this.meta) return;
    this.repo.removeFork(forkName);
    if (this.meta?.status === "soft_deleted" && this.repo.forkCount() === 0) await this.remove();
  }

  /** Inherited data for a fork: served even while soft-deleted, since the fork still needs it. */
  async readSlice(from: number, limit: number, maxBytes: number, stopAtAppendEnd: boolean): Promise<SliceResult> {
    const meta = this.meta;
    if (!meta || meta.status === "deleted") return fail("not_found", "fork source data is gone");
    const gathered = await this.reader.gather(meta, from, limit, stopAtAppendEnd, maxBytes);
    if (!gathered.ok) return gathered;
    return { ok: true, segments: gathered.segments, next: gathered.next };
  }

  // --- estuary side of fan-out ----------------------------------------------------------------

  /** Subscribes this stream, as an estuary, to `source`; creates the estuary stream if needed. */
  async attachSource(input: unknown): Promise<AttachResult> {
    const req = AttachSourceSchema.parse(input);
    const now = Date.now();
    const current = await this.live(now);
    let created = false;
    if (!current.ok) {
      if (current.code === "gone") return fail("conflict", "estuary stream was deleted but is still referenced by forks");
      const made = await this.create({
        name: req.name,
        contentType: req.contentType,
        ttlSeconds: req.ttlSeconds,
        closed: false,
        body: new Uint8Array(0),
        estuary: true,
        public: req.public ?? false,
      });
      if (!made.ok) return made;
      created = true;
    }
    const meta = this.meta;
    if (!meta || meta.status !== "active") return fail("not_found", "estuary stream not found");
    if (!meta.estuary) return fail("conflict", "a stream that is not an estuary already has this name");
    if (!sameMediaType(meta.contentType, req.contentType)) {
      return fail("conflict", `estuary content type ${meta.contentType} differs from the source's ${req.contentType}`);
    }
    this.touch(meta, now);
    const applied = this.sources.appliedFrom(req.source);
    if (applied !== undefined) return { ok: true, created, attached: false, applied, generation: meta.generation };
    if (this.sources.count >= req.maxSources) {
      return fail("conflict", `an estuary may be subscribed to at most ${req.maxSources} streams`);
    }
    this.sources.attach(req.source, req.position, meta.tail);
    return { ok: true, created, attached: true, applied: req.position, generation: meta.generation };
  }

  async detachSource(source: string): Promise<void> {
    if (!this.meta) return;
    this.sources.remove(source);
  }

  /** The sources this estuary is subscribed to, with how far each has been applied. */
  async estuarySources(): Promise<{ source: string; applied: number }[] | null> {
    const meta = this.meta;
    if (!meta || meta.status !== "active" || !meta.estuary) return null;
    return this.sources.list();
  }

  /** Applies a fan-out delivery exactly once: the data and the applied position commit together. */
  async deliver(input: unknown): Promise<DeliveryOutcome> {
    const delivery = DeliverySchema.parse(input);
    const meta = this.meta;
    const usable = meta && meta.status === "active" && meta.estuary && !meta.closed && !isExpired(meta, Date.now());
    if (!usable) {
      // The subscribers object drops the subscription on this answer; forget the source here too,
      // or a closed estuary would go on listing it (GET /v1/estuary, cycle checks).
      if (meta?.status === "active") this.sources.remove(delivery.source);
      return { ok: true, status: "unsubscribed", applied: 0 };
    }
    const plan = planDelivery(this.sources.appliedFrom(delivery.source), delivery);
    if (plan.kind === "skip") return plan.outcome;
    const chunks = toChunks(meta.tail, plan.messages);
    const position = { source: delivery.source, applied: delivery.to };
    const rowsBefore = this.repo.rowsWritten;
    // One row per message: the last chunk carries the applied position, and the stream row's tail
    // is derived from the chunks on load. Deliveries do not slide the estuary's TTL either.
    const next = { ...meta, tail: chunks.at(-1)?.end ?? meta.tail };
    this.commit(next, { from: meta.tail, messages: plan.messages }, () => this.repo.insertChunks(chunks, position));
    this.sources.delivered(position, next.tail);
    const rowsWritten = this.repo.rowsWritten - rowsBefore;
    return { ok: true, status: "applied", applied: delivery.to, messages: plan.messages.length, rowsWritten };
  }

  /** Switched by this stream's StreamSubscribersDO as it gains its first or loses its last subscriber. */
  async setFanout(enabled: boolean): Promise<{ tail: number; contentType: string } | null> {
    const meta = this.meta;
    if (!meta || meta.status !== "active") return null;
    if (meta.fanout !== enabled) {
      this.meta = { ...meta, fanout: enabled };
      this.repo.saveMeta(this.meta);
    }
    return { tail: meta.tail, contentType: meta.contentType };
  }

  override async alarm(): Promise<void> {
    this.fanoutCheckAt = null;
    const meta = this.meta;
    if (!meta || meta.status !== "active") return;
    if (isExpired(meta, Date.now())) {
      await this.remove();
      return;
    }
    if (meta.fanout && !(await this.publishTail(meta.name, meta.tail))) this.armFanoutCheck();
    await this.scheduleExpiry();
  }

  // --- internals -------------------------------------------------------------------------------

  /**
   * Writes new data (`appended`, laid out from `appended.from`) in one transaction, then wakes live
   * readers and publishes. A small append travels with the publish, so fan-out need not read it back.
   */
  private commit(next: StreamMeta, appended: { from: number; messages: readonly Uint8Array[] }, writeRows: () => void): void {
    this.ctx.storage.transactionSync(writeRows);
    this.meta = next;
    this.waiters.wake();
    if (next.fanout) {
      this.armFanoutCheck();
      const carried = appended.messages.length > 0 && next.tail - appended.from <= CARRY_BYTES;
      this.ctx.waitUntil(this.publishTail(next.name, next.tail, carried ? { from: appended.from, messages: [...appended.messages] } : undefined));
    }
  }

  /** Tells the subscribers object how far the stream now reaches; false if that call failed. */
  private async publishTail(name: string, tail: number, appended?: Publish["appended"]): Promise<boolean> {
    try {
      await subscribersStub(this.env, name).publish({ source: name, tail, appended });
      return true;
    } catch (error) {
      console.warn(`publish to subscribers of ${name} failed; the alarm will retry`, error);
      return false;
    }
  }

  /** Arms the safety-net alarm in the same output gate as the append, so it is durable with it. */
  private armFanoutCheck(): void {
    const due = Date.now() + FANOUT_SAFETY_NET_MS;
    if (this.fanoutCheckAt !== null && this.fanoutCheckAt <= due) return;
    this.fanoutCheckAt = due;
    const expiry = this.meta ? expiryOf(this.meta) : null;
    void this.setAlarm(expiry !== null ? Math.min(expiry, due) : due);
  }

  /** The active stream, or why there is none. Expiry is also enforced here, not only by alarm. */
  private async live(now: number): Promise<{ ok: true; meta: StreamMeta } | Failure> {
    const meta = this.meta;
    if (!meta || meta.status === "deleted") return fail("not_found", "stream not found");
    if (meta.status === "soft_deleted") return fail("gone", "stream was deleted");
    if (isExpired(meta, now)) {
      await this.remove();
      return fail("not_found", "stream not found");
    }
    return { ok: true, meta };
  }

  private confirmExisting(meta: StreamMeta, cmd: CreateCommand): CreateResult {
    if (!sameConfiguration(meta, cmd)) return fail("conflict", "stream already exists with a different configuration");
    return { ok: true, created: false, ...info(meta) };
  }

  /** Deletes now, or soft-deletes while forks still read this stream's data. */
  private async remove(): Promise<void> {
    const meta = this.meta;
    if (!meta || meta.status === "deleted") return;
    if (this.repo.forkCount() > 0) {
      this.meta = { ...meta, status: "soft_deleted" };
      this.repo.saveMeta(this.meta);
    } else {
      const sources = meta.estuary ? this.sources.list() : [];
      this.meta = { ...meta, status: "deleted", tail: 0, closed: false, forkSource: null, estuary: false, fanout: false };
      this.ctx.storage.transactionSync(() => {
        this.repo.wipe();
        if (this.meta) this.repo.saveMeta(this.meta);
      });
      this.sources.clear();
      if (meta.forkSource) await streamStub(this.env, meta.forkSource).releaseFork(meta.name);
      // A deleted source ends its subscriptions (a re-created stream restarts positions at zero);
      // a deleted estuary leaves the sources it was subscribed to.
      if (meta.fanout) await subscribersStub(this.env, meta.name).sourceDeleted(meta.name);
      for (const { source } of sources) await subscribersStub(this.env, source).unsubscribe(meta.name);
    }
    this.waiters.wake();
  }

  private touch(meta: StreamMeta, now: number): void {
    if (meta.ttlSeconds === null) return;
    meta.lastAccess = now;
    this.repo.touch(now);
  }

  private async scheduleExpiry(): Promise<void> {
    const meta = this.meta;
    const expiry = meta && meta.status === "active" ? expiryOf(meta) : null;
    const due = expiry !== null && this.fanoutCheckAt !== null ? Math.min(expiry, this.fanoutCheckAt) : (expiry ?? this.fanoutCheckAt);
    if (due !== null) await this.setAlarm(due);
  }

  /** An expiry already past (even before 1970, which setAlarm refuses) is due now. */
  private setAlarm(at: number): Promise<void> {
    const now = Date.now();
    return this.ctx.storage.setAlarm(Math.min(Math.max(at, now), now + ALARM_HORIZON_MS));
  }
}

/** Said the same way whether the stream is private or missing, so anonymous callers learn nothing. */
function tokenRequired(): Failure {
  return fail("unauthorized", "a token is required to read this stream", { "WWW-Authenticate": 'Bearer realm="streams"' });
}
