// The SQL retention needs (trim.ts): the oldest units a trim may drop (cold segments, then hot rows,
// without their data), the newest units' message counts, and the delete. Every write goes through
// the stream's repository, so it is counted; the cold segments' SQL lives in their own table module.
import { EstuarySourcesStore } from "../estuary/sources-store";
import { SegmentTable } from "./cold/segment-table";
import type { StreamRepository } from "./repository";

/**
 * What a trim drops whole: a stored row, or a cold segment (never cut in part). Its range, whether
 * a message ends with it, and when it was written (a segment: its last row's append time).
 */
export interface TrimUnit {
  start: number;
  end: number;
  messageEnd: boolean;
  /** ms since epoch; rows written before append times were stored count as written at 0. */
  appendedAt: number;
  /** Messages ending in this unit (a row's inner ends, and one if a message ends with it; a segment's count). */
  messages: number;
  /** The R2 object of a cold segment; absent for a hot row. */
  objectKey?: string;
}

type TrimRowSql = { start_pos: number; end_pos: number; message_end: number; appended_at: number | null; messages: number };

export class TrimStore {
  private readonly segments: SegmentTable;
  private readonly sources: EstuarySourcesStore;

  constructor(private readonly repo: StreamRepository) {
    this.segments = new SegmentTable(repo);
    this.sources = new EstuarySourcesStore(repo);
  }

  /**
   * The `limit` oldest units, oldest first: the cold segments, then the hot rows (all cold data is
   * older). Lazy, so a run that stops at its first kept segment decodes one row layout, not `limit`.
   */
  *oldest(limit: number): Generator<TrimUnit> {
    const cold = this.segments.oldestForTrim(limit);
    for (const segment of cold) {
      const messageEnd = this.segments.endsWithMessage(segment.start);
      yield { start: segment.start, end: segment.end, messageEnd, appendedAt: segment.lastAppendAt, messages: segment.messages, objectKey: segment.key };
    }
    if (cold.length >= limit) return;
    const rows = this.repo.sql
      .exec<TrimRowSql>(
        "SELECT start_pos, end_pos, message_end, appended_at, COALESCE(length(inner_ends), 0) / 4 + message_end AS messages FROM chunks ORDER BY start_pos LIMIT ?",
        limit - cold.length,
      )
      .toArray();
    for (const row of rows) {
      yield { start: row.start_pos, end: row.end_pos, messageEnd: row.message_end === 1, appendedAt: row.appended_at ?? 0, messages: row.messages };
    }
  }

  /**
   * Where the newest units that hold at least `count` messages start (units before it may go), or
   * null when the stream holds fewer. A unit's messages are those ending in it: a row's inner ends
   * (4 bytes each) plus one if a message ends with the row; a segment's recorded count. Walks back
   * from the tail only as far as the policy keeps, into the cold segments when the hot rows hold
   * too few.
   */
  keepMessagesFrom(count: number): number | null {
    const hot = this.repo.sql.exec<{ start_pos: number; messages: number }>(
      "SELECT start_pos, COALESCE(length(inner_ends), 0) / 4 + message_end AS messages FROM chunks ORDER BY start_pos DESC",
    );
    let held = 0;
    for (const units of [hot, this.segments.newestFirst()]) {
      for (const unit of units) {
        held += unit.messages;
        if (held >= count) return unit.start_pos;
      }
    }
    return null;
  }

  /**
   * Deletes the units that start below `position` (a unit's end, so only whole rows and segments);
   * returns the object keys of the dropped segments. Run inside the trim's transaction.
   */
  deleteBelow(position: number): string[] {
    const keys = this.segments.dropBelow(position);
    // An estuary's applied positions are derived from the tagged rows past its checkpoints: keep them.
    this.sources.checkpointBefore(position);
    this.repo.write("DELETE FROM chunks WHERE start_pos < ?", position);
    return keys;
  }
}
