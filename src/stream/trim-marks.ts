// How many messages a gap lost. A trim deletes rows without a count per position, so each run
// records marks: positions it trimmed to (and the subscribers' hold it trimmed past, where a
// laggard sits) with the messages trimmed below them since the stream began. A subscriber reading
// at a mark learns the messages in [its position, the earliest) from two marks; at any other
// position the count is unknown (null). Written in the trim's transaction; the newest MARKS_KEPT
// are kept, so a run costs at most three more row writes.
import type { StreamRepository } from "./repository";
import type { TrimUnit } from "./trim-store";

/** Marks kept: a laggard more than this many trim runs behind the earliest gets no message count. */
export const MARKS_KEPT = 64;

export class TrimMarks {
  constructor(private readonly repo: StreamRepository) {}

  /** Messages trimmed below `position`, or null when no mark is there (0 at the stream's start). */
  below(position: number): number | null {
    if (position === 0) return 0;
    const row = this.repo.sql.exec<{ messages: number }>("SELECT messages_below AS messages FROM trim_marks WHERE position = ?", position).toArray()[0];
    return row?.messages ?? null;
  }

  /** The messages in [from, earliest), when both have marks. */
  lost(from: number, earliest: number): number | null {
    const low = this.below(from);
    const high = this.below(earliest);
    return low === null || high === null ? null : high - low;
  }

  /**
   * Call inside the trim's transaction: `rows` (rows and cold segments, oldest first, starting at `earliest`) are deleted up to
   * `cut`; `hold` is the subscribers' lowest position. Without a mark at `earliest` (trimmed before
   * marks were kept) nothing is recorded.
   */
  record(earliest: number, cut: number, rows: readonly TrimUnit[], hold: number | null): void {
    const base = this.below(earliest);
    if (base === null) return;
    let messages = base;
    for (const row of rows) {
      if (row.end > cut) break;
      messages += row.messages;
      if (row.end === hold && row.end < cut && row.messageEnd) this.mark(row.end, messages);
    }
    this.mark(cut, messages);
    this.repo.write(
      "DELETE FROM trim_marks WHERE position < (SELECT position FROM trim_marks ORDER BY position DESC LIMIT 1 OFFSET ?)",
      MARKS_KEPT - 1,
    );
  }

  clear(): void {
    this.repo.write("DELETE FROM trim_marks");
  }

  private mark(position: number, messages: number): void {
    this.repo.write("INSERT OR REPLACE INTO trim_marks (position, messages_below) VALUES (?, ?)", position, messages);
  }
}
