// The cold_segments table (schema migration 14): one row per R2 object holding a sealed range of the
// stream's rows. SQL text and row shapes for the cold tier live here; writes go through the stream's
// repository so they count with its rows.
import { EstuarySourcesStore } from "../../estuary/sources-store";
import type { StreamRepository } from "../repository";
import { decodeIndex } from "./segment-index";

export interface ColdSegment {
  /** The range [start, end) of stream positions the object holds, in whole stored rows. */
  start: number;
  end: number;
  key: string;
  bytes: number;
  messages: number;
  /** The row layout (segment-index.ts). */
  index: Uint8Array;
  /** SHA-256 of the object, hex; R2 checks it on upload. */
  checksum: string;
  offloadedAt: number;
}

type SegmentRow = {
  start_pos: number;
  end_pos: number;
  object_key: string;
  bytes: number;
  messages: number;
  row_index: ArrayBuffer;
  checksum: string;
  offloaded_at: number;
};

/** The table as stream migration 14 creates it. Never edit: migrations have applied it; add a migration. */
export const COLD_SEGMENTS_TABLE = `
  -- Sealed ranges of whole rows moved to R2 (src/stream/cold/). Offsets never change: a read below
  -- the first hot row finds its segment here. first/last_append_at stay NULL until stored rows carry
  -- an append time; a trim by age can then drop whole segments by them (offloaded_at bounds them).
  CREATE TABLE cold_segments (
    start_pos INTEGER PRIMARY KEY,
    end_pos INTEGER NOT NULL,
    object_key TEXT NOT NULL,
    bytes INTEGER NOT NULL,
    messages INTEGER NOT NULL,
    row_index BLOB NOT NULL,
    checksum TEXT NOT NULL,
    offloaded_at INTEGER NOT NULL,
    first_append_at INTEGER,
    last_append_at INTEGER
  );
`;

function toSegment(row: SegmentRow): ColdSegment {
  return {
    start: row.start_pos,
    end: row.end_pos,
    key: row.object_key,
    bytes: row.bytes,
    messages: row.messages,
    index: new Uint8Array(row.row_index),
    checksum: row.checksum,
    offloadedAt: row.offloaded_at,
  };
}

/** A segment as retention weighs it (trim-store.ts): its range, messages and last append time. */
export interface SegmentForTrim {
  start: number;
  end: number;
  key: string;
  messages: number;
  /**
   * ms since epoch. A segment offloaded before append times were copied has none: its offload
   * time stands in, a bound from above, so an age bound never drops it early.
   */
  lastAppendAt: number;
}

export class SegmentTable {
  constructor(private readonly repo: StreamRepository) {}

  // Both lookups seek the one candidate by primary key and test its end in SQL, so a hot read
  // (every read checks here first) never loads a segment's row layout.

  /** The segment holding `position` (start <= position < end), if it is cold. */
  holding(position: number): ColdSegment | null {
    const row = this.repo.sql
      .exec<SegmentRow>(
        "SELECT * FROM cold_segments WHERE start_pos = (SELECT MAX(start_pos) FROM cold_segments WHERE start_pos <= ?1) AND end_pos > ?1",
        position,
      )
      .toArray()[0];
    return row ? toSegment(row) : null;
  }

  /** The segment whose range ends at or runs past `position` from below (start < position <= end). */
  endingAtOrAfter(position: number): ColdSegment | null {
    const row = this.repo.sql
      .exec<SegmentRow>(
        "SELECT * FROM cold_segments WHERE start_pos = (SELECT MAX(start_pos) FROM cold_segments WHERE start_pos < ?1) AND end_pos >= ?1",
        position,
      )
      .toArray()[0];
    return row ? toSegment(row) : null;
  }

  /** The `limit` oldest segments, oldest first, without their row layout. */
  oldestForTrim(limit: number): SegmentForTrim[] {
    return this.repo.sql
      .exec<{ start_pos: number; end_pos: number; object_key: string; messages: number; last_at: number }>(
        "SELECT start_pos, end_pos, object_key, messages, COALESCE(last_append_at, offloaded_at) AS last_at FROM cold_segments ORDER BY start_pos LIMIT ?",
        limit,
      )
      .toArray()
      .map((row) => ({ start: row.start_pos, end: row.end_pos, key: row.object_key, messages: row.messages, lastAppendAt: row.last_at }));
  }

  /** Whether a message ends where the segment starting at `start` ends (its last row's flag in the layout). */
  endsWithMessage(start: number): boolean {
    const row = this.repo.sql.exec<{ row_index: ArrayBuffer }>("SELECT row_index FROM cold_segments WHERE start_pos = ?", start).toArray()[0];
    return row ? (decodeIndex(new Uint8Array(row.row_index)).at(-1)?.messageEnd ?? false) : false;
  }

  /** Each segment's start and message count, newest first (a walk by the primary key). */
  newestFirst(): Iterable<{ start_pos: number; messages: number }> {
    return this.repo.sql.exec<{ start_pos: number; messages: number }>("SELECT start_pos, messages FROM cold_segments ORDER BY start_pos DESC");
  }

  /**
   * Retention drops the segments below `position` (a segment end: only whole segments); returns
   * their object keys, for the outbox to delete. Run inside the trim's transaction. Estuary
   * checkpoints need no update: the seal already moved them past every segment.
   */
  dropBelow(position: number): string[] {
    const keys = this.repo.sql
      .exec<{ object_key: string }>("SELECT object_key FROM cold_segments WHERE start_pos < ? ORDER BY start_pos", position)
      .toArray()
      .map((row) => row.object_key);
    if (keys.length > 0) this.repo.write("DELETE FROM cold_segments WHERE start_pos < ?", position);
    return keys;
  }

  /** Bytes and segments in R2, for the status. */
  totals(): { bytes: number; segments: number } {
    return this.repo.sql.exec<{ bytes: number; segments: number }>("SELECT COALESCE(SUM(bytes), 0) AS bytes, COUNT(*) AS segments FROM cold_segments").one();
  }

  /** The first position still in SQLite: the stream's own data below it is cold (or inherited). */
  firstHotPosition(): number | null {
    return this.repo.sql.exec<{ at: number | null }>("SELECT MIN(start_pos) AS at FROM chunks").one().at;
  }

  /**
   * Records a segment and drops the rows it holds; run inside the offload's transaction. An estuary
   * derives how far each source was applied from tagged rows past its checkpoint, so first each
   * source behind `segment.end` is checkpointed there with the tags the dropped rows carried.
   */
  seal(segment: ColdSegment): void {
    new EstuarySourcesStore(this.repo).checkpointBefore(segment.end);
    // The rows' append times go with them: retention's age bound drops a whole segment by its last.
    this.repo.write(
      `INSERT INTO cold_segments (start_pos, end_pos, object_key, bytes, messages, row_index, checksum, offloaded_at, first_append_at, last_append_at)
       VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8,
         (SELECT MIN(appended_at) FROM chunks WHERE start_pos >= ?1 AND start_pos < ?2),
         (SELECT MAX(appended_at) FROM chunks WHERE start_pos >= ?1 AND start_pos < ?2))`,
      segment.start,
      segment.end,
      segment.key,
      segment.bytes,
      segment.messages,
      segment.index,
      segment.checksum,
      segment.offloadedAt,
    );
    this.repo.write("DELETE FROM chunks WHERE start_pos >= ? AND start_pos < ?", segment.start, segment.end);
  }
}
