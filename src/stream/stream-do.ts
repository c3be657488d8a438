// StreamDO: one Durable Streams stream in SQLite. A list of RPC methods, each validating its input
// and delegating to the module that owns the job: the log (log.ts, create.ts, removal.ts), forks,
// the estuary side (estuary/receiver.ts), the followers of its tail (followers.ts), WebSocket live
// reads (live-sockets.ts, socket-report.ts), calls to other objects (outbox, calls.ts) and the one
// alarm (storage/alarm-planner.ts). The only request the Worker forwards here is a WebSocket upgrade.
import { DurableObject } from "cloudflare:workers";
import { z } from "zod";
import { DeliverySchema, StreamKeySchema, type Delivery, type DeliveryOutcome } from "../contract/fanout";
import { SinkIdSchema } from "../contract/sinks";
import { WatcherSchema, type Watcher } from "../contract/subscriptions";
import { loadConfig } from "../config";
import type { Env } from "../env";
import { fail, type Failure } from "../errors";
import { EstuaryReceiver, type EstuaryLinkView } from "../estuary/receiver";
import { AlarmPlanner } from "../storage/alarm-planner";
import { LazySchema } from "../storage/migrations";
import { Outbox } from "../storage/outbox";
import { sendStreamCall, StreamCallSchema, type StreamCall } from "./calls";
import { ColdOffload } from "./cold/offload";
import {
  AppendCommandSchema, AttachSourceSchema, CreateCommandSchema, HeadCommandSchema, ReadCheckSchema, ReadCommandSchema,
  ReaderIdSchema, RegisterForkSchema, ReleaseForkSchema, SliceRequestSchema,
} from "./commands";
import type {
  AppendCommand, AppendResult, AttachResult, AttachSource, ConnectionsResult, CreateCommand, CreateResult,
  DeleteResult, HeadCommand, HeadResult, ReadCheck, ReadCheckResult, ReadCommand, ReadResult, RegisterFork,
  RegisterForkResult, ReleaseFork, SliceRequest, SliceResult,
} from "./commands";
import { confirmExisting, createStream } from "./create";
import { StreamFollowers } from "./followers";
import { ForkRegistry } from "./forks";
import { RevokedSchema, type Revoked } from "../projects/token-revocations";
import { LiveSockets } from "./live-sockets";
import { checkRefresh } from "./socket-refresh";
import { StreamLog, type Committed, type Live } from "./log";
import { info, tokenRequired } from "./meta";
import { removeStream } from "./removal";
import { checkRetained } from "./retention";
import { STREAM_MIGRATIONS } from "./schema";
import { SliceBudget } from "./slice-budget";
import { SocketReporter } from "./socket-report";
import type { RetentionStatus, Trimmer } from "./trim";
import { streamTrimmer } from "./retention-hold";
import { isPresenceLog } from "../presence/log-address";
import { PresenceQuerySchema, type PresenceQuery, type PresenceResult } from "../presence/snapshot";
import { StreamPresence } from "../presence/stream-presence";

/** The calls a stream makes to its project's registry and connection totals. */
const PROJECT_CALLS = new Set<StreamCall["kind"]>(["registerStream", "unregisterStream", "reportSockets"]);

export class StreamDO extends DurableObject<Env> {
  private readonly log: StreamLog;
  private readonly forks: ForkRegistry;
  private readonly estuary: EstuaryReceiver;
  private readonly outbox: Outbox<StreamCall>;
  private readonly alarms: AlarmPlanner;
  private readonly sockets: LiveSockets;
  private readonly socketReport: SocketReporter;
  private readonly followers: StreamFollowers;
  private readonly trimmer: Trimmer;
  private readonly slices = new SliceBudget();
  private readonly cold: ColdOffload;
  private readonly presence: StreamPresence;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    const schema = new LazySchema(ctx.storage, STREAM_MIGRATIONS);
    this.log = new StreamLog(ctx.storage, env, schema, () => this.sockets.anyOpen());
    this.forks = new ForkRegistry(this.log);
    this.estuary = new EstuaryReceiver(this.log, env, ctx, (committed) => this.afterCommit(committed));
    this.outbox = new Outbox(ctx.storage, StreamCallSchema, (call) => this.sendCall(call), () => schema.exists);
    this.followers = new StreamFollowers(env, ctx, this.log.repo, () => this.alarms.plan());
    this.trimmer = streamTrimmer(env, this.log, this.followers, this.outbox);
    this.socketReport = new SocketReporter(ctx.storage, this.log, this.outbox, () => this.alarms.plan());
    // Presence (src/presence/): sockets that asked for it are tagged at accept; each change in the open sockets reconciles members.
    const streamName = () => this.log.meta?.name.slice(this.log.meta.name.indexOf("/") + 1) ?? null;
    this.presence = new StreamPresence(ctx, env, this.outbox, () => schema.exists, streamName, () => this.alarms.plan());
    const counted = (open: number) => {
      this.socketReport.report(open);
      this.presence.counted(open);
    };
    this.sockets = new LiveSockets(ctx, this.log, () => this.alarms.plan(), counted, loadConfig(env).WS_INLINE_BROADCAST_MAX, (req) => this.presence.admit(req));
    this.cold = new ColdOffload(ctx.storage, this.log, env.COLD_SEGMENTS, loadConfig(env).COLD_AFTER_BYTES);
    this.alarms = new AlarmPlanner(ctx.storage, [
      () => this.log.expiry(),
      () => this.trimmer.dueAt(),
      () => this.followers.dueAt(),
      () => this.outbox.nextDue(),
      () => this.sockets.nextExpiry(),
      () => (this.sockets.openCount() > 0 ? this.estuary.renewAt() : null),
      () => this.cold.dueAt(),
      () => this.presence.nextDue(),
    ]);
    if (schema.exists) {
      this.log.load();
      this.estuary.load();
      // Before anything reads the sockets: where the caught-up ones stand, and a pass for the ones
      // a cut-short pass left behind.
      this.sockets.started();
      // Sockets survive hibernation but not a restart, which sends no close events: correct the count.
      this.socketReport.report(this.sockets.openCount());
      this.presence.reconcile(); // After a restart, those who were present start their grace.
      this.followers.load();
      // Calls a migration queued (see schema.ts) need the alarm that makes them.
      if (this.outbox.nextDue() !== null) this.alarms.plan();
    }
  }

  async create(input: CreateCommand): Promise<CreateResult> {
    const cmd = CreateCommandSchema.parse(input);
    const now = Date.now();
    const existing = this.live(now);
    if (existing.ok) return confirmExisting(existing.meta, cmd);
    if (existing.code === "gone") return fail("conflict", "stream was deleted but is still referenced by forks");
    const created = await createStream({ env: this.env, log: this.log, outbox: this.outbox, alarms: this.alarms }, cmd, now);
    if (created.ok && created.created) this.estuary.clear();
    this.alarms.plan();
    return created;
  }

  async append(input: AppendCommand): Promise<AppendResult> {
    const cmd = AppendCommandSchema.parse(input);
    const now = Date.now();
    const current = this.live(now);
    if (!current.ok) return current;
    const { result, committed } = this.log.append(current.meta, cmd, now);
    this.afterCommit(committed);
    return result;
  }

  async read(input: ReadCommand): Promise<ReadResult> {
    const cmd = ReadCommandSchema.parse(input);
    const now = Date.now();
    const admitted = this.admitRead(cmd.requirePublic, now);
    if (!admitted.ok) return admitted;
    await this.estuary.pullBeforeRead(now + cmd.waitMs);
    const pulled = this.live(Date.now());
    if (!pulled.ok) return pulled;
    // A reader that waited was connected all along: the wait's end slides the TTL like its start.
    return this.log.read(pulled.meta, cmd, (at) => this.live(at, true));
  }

  /**
   * A catch-up page the Worker holds in its cache is served only if its generation is still this
   * stream's: the same checks and TTL slide as read(), without touching the log or sending a page.
   */
  async readCheck(input: ReadCheck): Promise<ReadCheckResult> {
    const cmd = ReadCheckSchema.parse(input);
    const admitted = this.admitRead(cmd.requirePublic, Date.now());
    if (!admitted.ok) return admitted;
    const { meta } = admitted;
    return (cmd.position !== undefined && checkRetained(meta, cmd.position)) || { ok: true, generation: meta.generation, earliest: meta.earliest };
  }

  /** The client of the live read `readerId` went away: its wait ends now, and read() slides the TTL from here. */
  async releaseRead(readerId: string): Promise<void> {
    this.log.waiters.release(ReaderIdSchema.parse(readerId));
  }

  async head(input?: HeadCommand): Promise<HeadResult> {
    const cmd = HeadCommandSchema.parse(input);
    const current = this.live(Date.now());
    if (cmd?.requirePublic && !(current.ok && current.meta.public)) return tokenRequired();
    if (!current.ok) return current;
    await this.estuary.pullBeforeRead(Date.now());
    const pulled = this.live(Date.now());
    if (!pulled.ok) return pulled;
    const { hotBytes, coldBytes } = this.cold.status(pulled.meta);
    return { ok: true, ...info(pulled.meta), storage: { hotBytes, coldBytes } };
  }

  async delete(): Promise<DeleteResult> {
    const current = this.live(Date.now());
    if (!current.ok) return current;
    this.remove();
    return { ok: true };
  }

  /** Called by a new fork: validates the fork point, pins this stream's data, returns what the fork inherits. */
  async registerFork(input: RegisterFork): Promise<RegisterForkResult> {
    const req = RegisterForkSchema.parse(input);
    const current = this.live(Date.now());
    if (!current.ok) return current.code === "gone" ? fail("conflict", "cannot fork a deleted stream") : current;
    return this.forks.register(current.meta, req);
  }

  /** Called (through the fork's outbox) when a fork goes away; the last one out finishes a soft delete. */
  async releaseFork(input: ReleaseFork): Promise<void> {
    if (this.forks.release(ReleaseForkSchema.parse(input))) this.remove();
  }

  /** Inherited data for a fork, and source ranges for fan-out; past the memory budget a slice waits its turn. */
  async readSlice(input: SliceRequest): Promise<SliceResult> {
    const req = SliceRequestSchema.parse(input);
    return this.slices.run(Math.min(req.maxBytes, req.limit - req.from), () => this.log.reader.slice(this.log.meta, req));
  }

  /** Subscribes this stream, as an estuary, to a source; creates the estuary stream if needed. */
  async attachSource(input: AttachSource): Promise<AttachResult> {
    const req = AttachSourceSchema.parse(input);
    const now = Date.now();
    const current = this.live(now);
    if (!current.ok && current.code === "gone") return fail("conflict", "estuary stream was deleted but is still referenced by forks");
    if (!current.ok) {
      const made = await this.create({ name: req.name, contentType: this.estuary.contentTypeFor(req), ttlSeconds: req.ttlSeconds, closed: false, body: new Uint8Array(0), estuary: true, public: req.public ?? false, defaultRetention: loadConfig(this.env).ESTUARY_RETENTION ?? undefined });
      if (!made.ok) return made;
    }
    const meta = this.log.meta;
    if (!meta || meta.status !== "active") return fail("not_found", "estuary stream not found");
    this.log.touch(meta, now);
    return this.estuary.attach(meta, req, !current.ok);
  }

  async detachSource(source: string): Promise<void> {
    this.estuary.detach(StreamKeySchema.parse(source));
  }

  /** The sources this estuary is subscribed to, with how far each has been applied and its envelope. */
  async estuarySources(): Promise<EstuaryLinkView[] | null> {
    return this.estuary.list();
  }

  /** Applies a fan-out delivery exactly once: the data and the applied position commit together. */
  async deliver(input: Delivery): Promise<DeliveryOutcome> {
    const { outcome, committed } = this.estuary.deliver(DeliverySchema.parse(input), Date.now());
    this.afterCommit(committed);
    return outcome;
  }

  /** Switched by this stream's StreamSubscribersDO as it gains its first or loses its last subscriber. */
  async setFanout(input: boolean): Promise<{ tail: number; contentType: string } | null> {
    const enabled = z.boolean().parse(input);
    const meta = this.log.meta;
    if (!meta || meta.status !== "active") return null;
    if (meta.fanout !== enabled) this.log.update({ fanout: enabled });
    return { tail: meta.tail, contentType: meta.contentType };
  }

  /** The stream's retention: its policy, earliest position, and what its trims did since the object started. */
  async retentionStatus(): Promise<RetentionStatus | Failure> {
    const current = this.live(Date.now());
    return current.ok ? this.trimmer.status(current.meta) : current;
  }

  /** Open connections by kind: WebSockets, and SSE and long-poll readers waiting at the tail. */
  async connections(): Promise<ConnectionsResult> {
    const current = this.live(Date.now());
    if (!current.ok) return current;
    const { waiters } = this.log;
    return { ok: true, webSocket: this.sockets.openCount(), sse: waiters.count("sse"), longPoll: waiters.count("long-poll") };
  }

  /** A subscription links this stream: it is told about every append from now on. Null if there is no stream. */
  async watch(input: Watcher): Promise<{ tail: number } | null> {
    return this.followers.watch(this.live(Date.now()), WatcherSchema.parse(input));
  }

  async unwatch(input: Watcher): Promise<void> {
    this.followers.watchers.remove(WatcherSchema.parse(input));
  }

  /** A data sink starts following this stream (idempotent); its generation and tail, or why not. */
  async linkSink(sinkId: string): Promise<{ ok: true; generation: number; tail: number } | Failure> {
    return this.followers.linkSink(this.live(Date.now()), SinkIdSchema.parse(sinkId));
  }

  /** True if the sink was linked. */
  async unlinkSink(sinkId: string): Promise<boolean> {
    return this.followers.sinks.remove(SinkIdSchema.parse(sinkId));
  }

  /** The ids of the data sinks this stream feeds (none for a missing stream). */
  async sinkIds(): Promise<string[]> {
    return this.live(Date.now()).ok ? [...this.followers.sinks.all()] : [];
  }

  /** The project revoked a signing secret, a token or a user's tokens: the sockets opened with them close. */
  async closeRevokedSockets(target: Revoked): Promise<void> {
    this.sockets.closeRevoked(RevokedSchema.parse(target));
  }

  /** Who is present on this stream (a page of users in user order, and how many in all). */
  async presenceSnapshot(input: PresenceQuery): Promise<PresenceResult> {
    const query = PresenceQuerySchema.parse(input);
    const current = this.live(Date.now());
    if (query.requirePublic && !(current.ok && current.meta.public)) return tokenRequired();
    if (!current.ok) return current;
    return { ok: true, ...this.presence.snapshot(query.after, query.limit) };
  }

  /** The one HTTP entry: a WebSocket live read (live=ws), checked by the Worker and forwarded here. */
  override async fetch(request: Request): Promise<Response> {
    if (this.live(Date.now()).ok) await this.estuary.pullBeforeRead(Date.now());
    const accepted = this.sockets.accept(request, this.live(Date.now()));
    if (this.log.meta?.estuary) this.alarms.plan(); // Open sockets keep an estuary's hot leases renewed.
    return accepted;
  }

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    this.live(Date.now()); // The socket is open: the TTL slides before onMessage may close it.
    await this.sockets.onMessage(ws, message, (socket, token) => {
      const meta = this.log.meta;
      return meta ? checkRefresh(this.env, meta.name, meta.public, socket, token) : Promise.resolve({ ok: false, message: "the stream is gone" });
    });
  }

  override async webSocketClose(ws: WebSocket): Promise<void> {
    this.sockets.onClose(ws);
    this.presence.reconcile(ws);
    this.live(Date.now(), true); // It was connected until now: if it was the last, the TTL counts from here.
  }

  override async webSocketError(ws: WebSocket): Promise<void> {
    this.sockets.onClose(ws);
    this.presence.reconcile(ws);
    this.live(Date.now(), true);
  }

  override async alarm(): Promise<void> {
    this.alarms.fired();
    const now = Date.now();
    const current = this.live(now); // Before expireTokens: sockets closed now were open until now.
    this.sockets.expireTokens(now);
    if (this.presence.alarm(now)) this.socketReport.report(this.sockets.openCount());
    await this.followers.recheck(current.ok ? current.meta : null);
    // Sockets whose next position was trimmed are closed by the pass a trim starts (live-sockets.ts).
    if (current.ok && (await this.trimmer.run(now)).rows > 0) this.sockets.wake();
    if (current.ok && this.sockets.openCount() > 0) await this.estuary.pullBeforeRead(now);
    await this.cold.run();
    await this.outbox.drain();
    this.alarms.plan();
  }

  /** Every read's admission (read, readCheck): exists, public if the caller needs that, TTL slid. */
  private admitRead(requirePublic: boolean | undefined, now: number): Live {
    const current = this.live(now);
    if (requirePublic && !(current.ok && current.meta.public)) return tokenRequired();
    if (!current.ok) return current;
    this.log.touch(current.meta, now);
    return current;
  }

  /** The active stream, or why there is none (expiry enforced here too; live readers slide it: StreamLog.status). */
  private live(now: number, held = false): Live {
    const status = this.log.status(now, held);
    if (status.ok || !("expired" in status)) return status;
    this.remove();
    return fail("not_found", "stream not found");
  }

  /** After a commit: live sockets get the new data, and subscribers are told. */
  private afterCommit(committed: Committed | undefined): void {
    const meta = this.log.meta;
    if (!committed || !meta) return;
    this.sockets.wake();
    this.followers.published(meta, committed);
    // Past a retention bound or COLD_AFTER_BYTES, the alarm trims or offloads.
    if (this.trimmer.appended(Date.now()) || this.cold.dueAt() !== null) this.alarms.plan();
  }

  private async sendCall(call: StreamCall): Promise<void> {
    if (call.kind === "flushPresence") return this.presence.flush(this.ctx.id.name ?? this.log.meta?.name ?? "");
    // A presence log stays out of its project's registry and connection totals (presence/log-address.ts).
    if (PROJECT_CALLS.has(call.kind) && "stream" in call && isPresenceLog(call.stream)) return;
    if (call.kind === "registerStream") return this.followers.watchers.register(() => this.log.meta, call.stream, call.generation);
    return sendStreamCall(this.env, call);
  }

  /** Deletes now, or soft-deletes while forks still read this stream's data (removal.ts). */
  private remove(): void {
    const { log, forks, sockets, estuary, outbox, alarms, cold } = this;
    removeStream({ log, forks, sockets, estuary, watchers: this.followers.watchers, sinks: this.followers.sinks, outbox, alarms, cold });
  }
}
