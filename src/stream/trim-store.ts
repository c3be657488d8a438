// The SQL retention needs (trim.ts): the oldest rows without their data, the newest rows' message
// counts, and the delete. Every write goes through the stream's repository, so it is counted.
import type { StreamRepository } from "./repository";

/** A stored row as a trim sees it: its range, whether a message ends with it, when it was written. */
export interface TrimRow {
  start: number;
  end: number;
  messageEnd: boolean;
  /** ms since epoch; rows written before append times were stored count as written at 0. */
  appendedAt: number;
  /** Messages ending in this row (its inner ends, and one if a message ends with it). */
  messages: number;
}

type TrimRowSql = { start_pos: number; end_pos: number; message_end: number; appended_at: number | null; messages: number };

export class TrimStore {
  constructor(private readonly repo: StreamRepository) {}

  /** The `limit` oldest rows, oldest first (a walk by the primary key; no row data is read). */
  oldest(limit: number): TrimRow[] {
    return this.repo.sql
      .exec<TrimRowSql>(
        "SELECT start_pos, end_pos, message_end, appended_at, COALESCE(length(inner_ends), 0) / 4 + message_end AS messages FROM chunks ORDER BY start_pos LIMIT ?",
        limit,
      )
      .toArray()
      .map((row) => ({ start: row.start_pos, end: row.end_pos, messageEnd: row.message_end === 1, appendedAt: row.appended_at ?? 0, messages: row.messages }));
  }

  /**
   * Where the newest rows that hold at least `count` messages start (rows before it may go), or
   * null when the stream holds fewer. A row's messages are those ending in it: its inner ends
   * (4 bytes each) plus one if a message ends with the row. Walks back from the tail only as far
   * as the policy keeps.
   */
  keepMessagesFrom(count: number): number | null {
    const cursor = this.repo.sql.exec<{ start_pos: number; messages: number }>(
      "SELECT start_pos, COALESCE(length(inner_ends), 0) / 4 + message_end AS messages FROM chunks ORDER BY start_pos DESC",
    );
    let held = 0;
    for (const row of cursor) {
      held += row.messages;
      if (held >= count) return row.start_pos;
    }
    return null;
  }

  /**
   * Call before deleteBelow, in its transaction. An estuary knows how far each source is applied
   * from its checkpoint row and the tagged rows after it (estuary/sources-store.ts): when the rows
   * that carry a source's latest tag go, their position moves into the checkpoint row first, or a
   * restart would count the source from an older checkpoint and apply its data again.
   */
  keepAppliedPositions(position: number): number {
    const latestTag = `(SELECT MAX(c.source_to) FROM chunks c
      WHERE c.source = estuary_sources.source AND c.start_pos >= estuary_sources.checked_pos AND c.start_pos < ?1)`;
    return this.repo.write(`UPDATE estuary_sources SET applied_pos = ${latestTag} WHERE applied_pos < COALESCE(${latestTag}, -1)`, position);
  }

  /** Deletes the rows that start below `position` (a row end, so only whole rows); returns the rows written. */
  deleteBelow(position: number): number {
    return this.repo.write("DELETE FROM chunks WHERE start_pos < ?", position);
  }
}
