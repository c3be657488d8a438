// The stream's log and protocol core: its metadata, stored rows, reads and the readers waiting at
// the tail. Every change to the stream's own data goes through here; calls to other objects do not.
// The rule that keeps a stream with a TTL alive lives here too (`status` and `touch`): every path
// that reads the stream or checks that it exists (HTTP reads, WebSockets, SSE, RPC) goes through it.
import { loadConfig } from "../config";
import type { Env } from "../env";
import { fail, type Failure } from "../errors";
import type { LazySchema } from "../storage/migrations";
import { planAppend } from "./append";
import { toChunks } from "./chunks";
import type { AppendCommand, AppendResult, ReadCommand, ReadResult } from "./commands";
import { expiryOf, info, isExpired } from "./meta";
import { renderPayload } from "./payload";
import { StreamReader } from "./reader";
import { StreamRepository, type AppliedPosition, type Chunk, type StreamMeta } from "./repository";
import { earliestOf } from "../contract/gaps";
import { checkRetained, readStart } from "./retention";
import { storageFull } from "./storage-full";
import { Waiters } from "./waiters";

/**
 * A read slides a TTL in memory; the new last access is written only once it has moved by this
 * fraction of the TTL, so reads cost no row writes. After an eviction the stream may therefore
 * live up to this fraction of its TTL longer than exact (never shorter): see `load`.
 */
export const TOUCH_PERSIST_FRACTION = 0.1;

/** While sockets are open, the alarm slides and stores the TTL this fraction of it after the stored access. */
export const SOCKET_HEARTBEAT_FRACTION = 0.5;

/** An append or delivery that was committed: the rows it laid out from `from`. */
export interface Committed {
  from: number;
  messages: readonly Uint8Array[];
}

export type Live = { ok: true; meta: StreamMeta } | Failure;

export class StreamLog {
  readonly repo: StreamRepository;
  readonly reader: StreamReader;
  readonly waiters = new Waiters();
  private current: StreamMeta | null = null;
  /** The last access as stored, to tell when the in-memory one has moved far enough to store. */
  private storedAccess = 0;
  private readonly storageLimit: number;

  constructor(
    private readonly storage: DurableObjectStorage,
    env: Env,
    readonly schema: LazySchema,
    /** Whether a WebSocket reader is connected now (the sockets are the object's, not the log's). */
    private readonly socketsOpen: () => boolean,
  ) {
    this.repo = new StreamRepository(storage.sql);
    this.reader = new StreamReader(this.repo, env, () => this.current);
    this.storageLimit = loadConfig(env).STREAM_STORAGE_LIMIT_BYTES;
  }

  get meta(): StreamMeta | null {
    return this.current;
  }

  /**
   * Reads the stream row. Reads since the stored last access may have slid the TTL without a write,
   * by less than TOUCH_PERSIST_FRACTION of it: assume the latest such read, so nothing expires early.
   */
  load(now = Date.now()): void {
    const meta = this.repo.loadMeta();
    if (meta?.ttlSeconds != null) {
      this.storedAccess = meta.lastAccess;
      meta.lastAccess = Math.min(now, meta.lastAccess + meta.ttlSeconds * 1000 * TOUCH_PERSIST_FRACTION);
    }
    this.current = meta;
  }

  /**
   * The active stream, or why there is none; `expired` is for the caller to remove it.
   * A live reader (WebSocket, SSE, long-poll) reads the stream at every moment it is connected, so
   * while one is connected, or `held` says the caller was one until now (a socket's close, the end
   * of a wait), the TTL slides to `now` before it is checked. A hibernated object learns that time
   * passed from its expiry alarm, which asks here and finds the sockets still open.
   */
  status(now: number, held = false): Live | { ok: false; expired: StreamMeta } {
    const meta = this.current;
    if (!meta || meta.status === "deleted") return fail("not_found", "stream not found");
    if (meta.status === "soft_deleted") return fail("gone", "stream was deleted");
    if (held || this.waiters.any() || this.socketsOpen()) this.touch(meta, now);
    if (isExpired(meta, now)) return { ok: false, expired: meta };
    return { ok: true, meta };
  }

  /**
   * An alarm task: when the stream expires. While sockets are open it comes back sooner, by half the
   * TTL after the stored access: idle sockets send nothing, so only the alarm slides (and stores)
   * the TTL, and a restart drops sockets without close events. Stored at most half a TTL before the
   * drop, the access then keeps the stream for at least half its TTL after it (see `load`).
   */
  expiry(): number | null {
    const meta = this.current;
    if (!meta || meta.status !== "active") return null;
    const due = expiryOf(meta);
    if (meta.ttlSeconds === null || due === null || !this.socketsOpen()) return due;
    return Math.min(due, this.storedAccess + meta.ttlSeconds * 1000 * SOCKET_HEARTBEAT_FRACTION);
  }

  /** Stores a new stream (or re-creates one) with its first rows, plus `alsoWrite` in the same transaction. */
  initialize(meta: StreamMeta, chunks: readonly Chunk[], alsoWrite: () => void): void {
    this.schema.ensure();
    this.storage.transactionSync(() => {
      this.repo.wipe();
      this.save(meta);
      this.repo.insertChunks(chunks);
      alsoWrite();
    });
    this.current = meta;
  }

  /** Appends (protocol §5.2), returning what was committed so it can be published. */
  append(meta: StreamMeta, cmd: AppendCommand, now: number): { result: AppendResult; committed?: Committed } {
    const plan = planAppend(meta, cmd, (id) => this.repo.producer(id));
    if (!plan.ok) return { result: plan };
    if (plan.kind === "duplicate" || plan.kind === "noop") {
      return { result: { ok: true, written: false, tail: meta.tail, closed: meta.closed, producer: plan.producer } };
    }
    // After deduplication: a producer's retry of a stored append is still acknowledged.
    const full = storageFull(this.storage.sql, cmd.body.length, this.storageLimit);
    if (full) return { result: full };
    const chunks = toChunks(meta.tail, plan.messages);
    const next: StreamMeta = {
      ...meta,
      tail: chunks.at(-1)?.end ?? meta.tail,
      closed: meta.closed || cmd.close,
      closedBy: cmd.close && cmd.producer ? { ...cmd.producer } : meta.closedBy,
      lastStreamSeq: cmd.streamSeq ?? meta.lastStreamSeq,
      lastAccess: meta.ttlSeconds !== null ? now : meta.lastAccess,
    };
    this.commit(next, () => {
      this.repo.insertChunks(chunks, undefined, now);
      if (cmd.producer) this.repo.saveProducer(cmd.producer.id, { epoch: cmd.producer.epoch, lastSeq: cmd.producer.seq });
      this.save(next);
    });
    const result: AppendResult = { ok: true, written: true, tail: next.tail, closed: next.closed, producer: plan.producer };
    return { result, committed: { from: meta.tail, messages: plan.messages } };
  }

  /** Writes new rows in one transaction, then wakes the readers waiting at the tail. */
  commit(next: StreamMeta, writeRows: () => void): void {
    this.storage.transactionSync(writeRows);
    this.current = next;
    this.waiters.wake();
  }

  /**
   * Writes an estuary delivery: rows of at most ROW_BYTES, the last tagged with the source position
   * it applies. The stream row is not rewritten (its tail is derived from the rows on load), and a
   * delivery does not slide the TTL: one row per delivery.
   */
  commitDelivery(meta: StreamMeta, messages: readonly Uint8Array[], position: AppliedPosition, alsoWrite?: (tail: number) => void): number {
    const chunks = toChunks(meta.tail, messages);
    const next = { ...meta, tail: chunks.at(-1)?.end ?? meta.tail };
    this.commit(next, () => {
      this.repo.insertChunks(chunks, position);
      alsoWrite?.(next.tail);
    });
    return next.tail;
  }

  /**
   * Retention: drops stored rows (`deleteRows`) and moves the stream's earliest position to
   * `earliest` in one transaction, so no reader ever sees one without the other.
   */
  trim(earliest: number, deleteRows: () => void): void {
    const meta = this.current;
    if (!meta || meta.status !== "active") return;
    const next = { ...meta, earliest };
    this.storage.transactionSync(() => {
      deleteRows();
      this.save(next);
    });
    this.current = next;
  }

  /** Catch-up and long-poll reads: waits at the tail of an open stream up to `waitMs`. */
  async read(meta: StreamMeta, cmd: ReadCommand, live: (now: number) => Live): Promise<ReadResult> {
    const { offset } = cmd;
    let start = readStart(meta, offset);
    if (start > meta.tail) return fail("bad_request", "offset is beyond the end of the stream");
    const trimmed = checkRetained(meta, start);
    if (trimmed) return trimmed;
    if (!this.reader.isReadBoundary(meta, start)) return fail("bad_request", "offset is not a message boundary");

    let current = meta;
    if (start === current.tail && cmd.waitMs > 0 && !current.closed) {
      await this.waiters.wait(cmd.waitMs, cmd.live ?? "long-poll", cmd.readerId);
      const after = live(Date.now());
      if (!after.ok) return after;
      current = after.meta;
    }
    let gathered = await this.reader.gather(current, start, current.tail, false);
    // `-1` on a fork whose source trimmed what it inherits: start where the fork's data now starts.
    const forkEarliest = !gathered.ok && offset.kind === "start" ? earliestOf(gathered) : null;
    if (forkEarliest !== null) {
      start = forkEarliest;
      gathered = await this.reader.gather(current, start, current.tail, false);
    }
    if (!gathered.ok) return gathered;
    return {
      ok: true,
      start,
      next: gathered.next,
      body: renderPayload(current.contentType, gathered.segments),
      upToDate: gathered.next === current.tail,
      ...info(current),
    };
  }

  /**
   * Slides the TTL (a read, or a live reader connected: see `status`): in memory always, in storage
   * only once it has moved far enough (see TOUCH_PERSIST_FRACTION).
   */
  touch(meta: StreamMeta, now: number): void {
    if (meta.ttlSeconds === null) return;
    meta.lastAccess = now;
    if (now - this.storedAccess < meta.ttlSeconds * 1000 * TOUCH_PERSIST_FRACTION) return;
    this.repo.touch(now);
    this.storedAccess = now;
  }

  update(change: Partial<StreamMeta>): void {
    if (!this.current) return;
    this.current = { ...this.current, ...change };
    this.save(this.current);
  }

  /** Drops the data (the row stays, keeping the generation) and runs `alsoWrite` in the same transaction. */
  wipe(alsoWrite: () => void): void {
    const meta = this.current;
    if (!meta) return;
    const deleted: StreamMeta = { ...meta, status: "deleted", tail: 0, closed: false, forkSource: null, estuary: false, fanout: false };
    this.storage.transactionSync(() => {
      this.repo.wipe();
      this.save(deleted);
      alsoWrite();
    });
    this.current = deleted;
    this.waiters.wake();
  }

  private save(meta: StreamMeta): void {
    this.repo.saveMeta(meta);
    this.storedAccess = meta.lastAccess;
  }
}
