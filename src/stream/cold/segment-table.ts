// The cold_segments table (schema migration 14): one row per R2 object holding a sealed range of the
// stream's rows. SQL text and row shapes for the cold tier live here; writes go through the stream's
// repository so they count with its rows.
import type { StreamRepository } from "../repository";

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
    this.repo.write(
      `UPDATE estuary_sources SET
         applied_pos = MAX(applied_pos, COALESCE((SELECT MAX(c.source_to) FROM chunks c
           WHERE c.start_pos >= estuary_sources.checked_pos AND c.start_pos < ?1 AND c.source = estuary_sources.source), 0)),
         checked_pos = ?1
       WHERE checked_pos < ?1`,
      segment.end,
    );
    this.repo.write(
      `INSERT INTO cold_segments (start_pos, end_pos, object_key, bytes, messages, row_index, checksum, offloaded_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
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
