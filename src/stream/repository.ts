// StreamDO's only door to SQLite: SQL text, row shapes and row-to-domain mapping live here.
import type { ProducerState } from "./producer";
import { decodeEnds, encodeEnds } from "./inner-ends";
import { formatRetention, storedRetention, type RetentionPolicy } from "../protocol/retention-policy";

export type StreamStatus = "active" | "soft_deleted" | "deleted";

export interface ClosedBy {
  id: string;
  epoch: number;
  seq: number;
}

export interface StreamMeta {
  generation: number;
  status: StreamStatus;
  name: string;
  contentType: string;
  ttlSeconds: number | null;
  expiresAt: number | null;
  lastAccess: number;
  tail: number;
  closed: boolean;
  closedBy: ClosedBy | null;
  lastStreamSeq: string | null;
  forkSource: string | null;
  forkPosition: number | null;
  forkSubOffset: number | null;
  /** Created by an estuary subscription: receives fan-out deliveries. */
  estuary: boolean;
  /** Has subscribers: every append is published to its StreamSubscribersDO. */
  fanout: boolean;
  /** Readable without a token. */
  public: boolean;
  /** How much history the stream keeps (retention.ts); null keeps everything. */
  retention: RetentionPolicy | null;
  /** The policy came from a default, not from the PUT that created the stream. */
  retentionDefault: boolean;
  /** The first position still stored: everything below it was trimmed (0 before any trim). */
  earliest: number;
}

/** A stored row: bytes [start, end) of one append (or delivery), packing as many messages as fit. */
export interface Chunk {
  start: number;
  end: number;
  data: Uint8Array;
  /** Where messages end strictly inside the row, as offsets from `start`, ascending. */
  innerEnds: readonly number[];
  /** A message ends where the row ends. */
  messageEnd: boolean;
  appendEnd: boolean;
}

type StreamRow = {
  generation: number;
  status: string;
  name: string;
  content_type: string;
  ttl_seconds: number | null;
  expires_at: number | null;
  last_access: number;
  tail: number;
  closed: number;
  closed_by: string | null;
  last_stream_seq: string | null;
  fork_source: string | null;
  fork_position: number | null;
  fork_sub_offset: number | null;
  estuary: number;
  fanout: number;
  public: number;
  retention: string | null;
  retention_default: number;
  earliest: number;
};

/** How far an estuary has applied one of its sources, in the source's positions. */
export interface AppliedPosition {
  source: string;
  applied: number;
}

type ChunkRow = {
  start_pos: number;
  end_pos: number;
  data: ArrayBuffer;
  inner_ends: ArrayBuffer | null;
  message_end: number;
  append_end: number;
};

export class StreamRepository {
  /** Rows written by this repository since the object started (a cost counter for fan-out). */
  rowsWritten = 0;

  constructor(readonly sql: SqlStorage) {}

  /**
   * Runs a statement that writes, counting the rows it wrote. The stream's tables kept elsewhere
   * (estuary/sources-store.ts, sink-links.ts) write through here too, so the count is whole.
   */
  write(query: string, ...bindings: unknown[]): number {
    const written = this.sql.exec(query, ...bindings).rowsWritten;
    this.rowsWritten += written;
    return written;
  }

  loadMeta(): StreamMeta | null {
    const row = this.sql.exec<StreamRow>("SELECT * FROM stream WHERE id = 1").toArray()[0];
    if (!row) return null;
    // Deliveries do not rewrite this row: the stored tail is a checkpoint, and the last chunk is the truth.
    const lastEnd = this.sql.exec<{ end_pos: number }>("SELECT end_pos FROM chunks ORDER BY start_pos DESC LIMIT 1").toArray()[0]?.end_pos;
    return {
      generation: row.generation,
      status: row.status as StreamStatus,
      name: row.name,
      contentType: row.content_type,
      ttlSeconds: row.ttl_seconds,
      expiresAt: row.expires_at,
      lastAccess: row.last_access,
      tail: Math.max(row.tail, lastEnd ?? 0),
      closed: row.closed === 1,
      closedBy: row.closed_by ? (JSON.parse(row.closed_by) as ClosedBy) : null,
      lastStreamSeq: row.last_stream_seq,
      forkSource: row.fork_source,
      forkPosition: row.fork_position,
      forkSubOffset: row.fork_sub_offset,
      estuary: row.estuary === 1,
      fanout: row.fanout === 1,
      public: row.public === 1,
      retention: storedRetention(row.retention),
      retentionDefault: row.retention_default === 1,
      earliest: row.earliest,
    };
  }

  saveMeta(meta: StreamMeta): void {
    this.write(
      `INSERT OR REPLACE INTO stream (id, generation, status, name, content_type, ttl_seconds, expires_at,
         last_access, tail, closed, closed_by, last_stream_seq, fork_source, fork_position, fork_sub_offset, estuary, fanout, public,
         retention, retention_default, earliest)
       VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      meta.generation,
      meta.status,
      meta.name,
      meta.contentType,
      meta.ttlSeconds,
      meta.expiresAt,
      meta.lastAccess,
      meta.tail,
      meta.closed ? 1 : 0,
      meta.closedBy ? JSON.stringify(meta.closedBy) : null,
      meta.lastStreamSeq,
      meta.forkSource,
      meta.forkPosition,
      meta.forkSubOffset,
      meta.estuary ? 1 : 0,
      meta.fanout ? 1 : 0,
      meta.public ? 1 : 0,
      meta.retention ? formatRetention(meta.retention) : null,
      meta.retentionDefault ? 1 : 0,
      meta.earliest,
    );
  }

  touch(lastAccess: number): void {
    this.write("UPDATE stream SET last_access = ? WHERE id = 1", lastAccess);
  }

  /**
   * Writes chunks, stamped with their append time; a delivery's last chunk records the source
   * position it brings the estuary to.
   */
  insertChunks(chunks: readonly Chunk[], delivered?: AppliedPosition, appendedAt = Date.now()): void {
    const last = chunks.at(-1);
    for (const chunk of chunks) {
      const tag = chunk === last ? delivered : undefined;
      this.write(
        "INSERT INTO chunks (start_pos, end_pos, data, inner_ends, message_end, append_end, source, source_to, appended_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        chunk.start,
        chunk.end,
        chunk.data,
        encodeEnds(chunk.innerEnds),
        chunk.messageEnd ? 1 : 0,
        chunk.appendEnd ? 1 : 0,
        tag?.source ?? null,
        tag?.applied ?? null,
        appendedAt,
      );
    }
  }

  /** Chunks overlapping [from, limit), in order; a lazy iterator so readers stop when full. */
  *chunksBetween(from: number, limit: number): Generator<Chunk> {
    // Seek by start_pos (the primary key) to the row holding `from`: filtering on end_pos instead
    // would scan every row from the stream's beginning.
    const cursor = this.sql.exec<ChunkRow>(
      `SELECT start_pos, end_pos, data, inner_ends, message_end, append_end FROM chunks
       WHERE start_pos >= COALESCE((SELECT MAX(start_pos) FROM chunks WHERE start_pos <= ?1), ?1)
         AND start_pos < ?2 AND end_pos > ?1
       ORDER BY start_pos`,
      from,
      limit,
    );
    for (const row of cursor) {
      yield {
        start: row.start_pos,
        end: row.end_pos,
        data: new Uint8Array(row.data),
        innerEnds: decodeEnds(row.inner_ends),
        messageEnd: row.message_end === 1,
        appendEnd: row.append_end === 1,
      };
    }
  }

  /** True when one of the stream's own messages ends exactly at this position. */
  messageEndsAt(position: number): boolean {
    const row = this.sql
      .exec<Pick<ChunkRow, "start_pos" | "end_pos" | "inner_ends" | "message_end">>(
        "SELECT start_pos, end_pos, inner_ends, message_end FROM chunks WHERE start_pos < ? ORDER BY start_pos DESC LIMIT 1",
        position,
      )
      .toArray()[0];
    if (!row || position > row.end_pos) return false;
    if (position === row.end_pos) return row.message_end === 1;
    return decodeEnds(row.inner_ends).includes(position - row.start_pos);
  }

  producer(id: string): ProducerState | undefined {
    const row = this.sql
      .exec<{ epoch: number; last_seq: number }>("SELECT epoch, last_seq FROM producers WHERE id = ?", id)
      .toArray()[0];
    return row ? { epoch: row.epoch, lastSeq: row.last_seq } : undefined;
  }

  saveProducer(id: string, state: ProducerState): void {
    this.write(
      "INSERT OR REPLACE INTO producers (id, epoch, last_seq) VALUES (?, ?, ?)",
      id,
      state.epoch,
      state.lastSeq,
    );
  }

  /** Pins this stream's data for a fork; a newer generation of the same fork replaces the older. */
  addFork(name: string, generation: number): void {
    this.write("INSERT OR REPLACE INTO forks (name, generation) VALUES (?, ?)", name, generation);
  }

  /** Unpins for one generation of a fork only (rows from before generations were kept match any). */
  removeFork(name: string, generation: number): void {
    this.write("DELETE FROM forks WHERE name = ? AND (generation = ? OR generation IS NULL)", name, generation);
  }

  forkCount(): number {
    return this.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM forks").one().n;
  }

  /** The open WebSocket count last reported to the project (0 before the first report). */
  socketsReported(): number {
    return this.sql.exec<{ open: number }>("SELECT open FROM socket_report WHERE id = 1").toArray()[0]?.open ?? 0;
  }

  saveSocketsReported(open: number): void {
    this.write("INSERT OR REPLACE INTO socket_report (id, open) VALUES (1, ?)", open);
  }

  /** Subscriptions watching this stream (src/stream/watchers.ts). */
  watchers(): { subscription: string; incarnation: string }[] {
    return this.sql.exec<{ subscription: string; incarnation: string }>("SELECT subscription, incarnation FROM watchers").toArray();
  }

  saveWatcher(subscription: string, incarnation: string): void {
    this.write("INSERT OR REPLACE INTO watchers (subscription, incarnation) VALUES (?, ?)", subscription, incarnation);
  }

  deleteWatcher(subscription: string, incarnation: string): void {
    this.write("DELETE FROM watchers WHERE subscription = ? AND incarnation = ?", subscription, incarnation);
  }

  /** Drops the stream's data, producers, fork references and followers; the stream row stays for its generation. */
  wipe(): void {
    this.write("DELETE FROM watchers");
    this.write("DELETE FROM estuary_sources");
    this.write("DELETE FROM estuary_gaps");
    this.write("DELETE FROM trim_marks");
    this.write("DELETE FROM chunks");
    this.write("DELETE FROM cold_segments"); // their R2 objects go through the outbox (cold/cleanup.ts)
    this.write("DELETE FROM producers");
    this.write("DELETE FROM forks");
  }
}
