// Gaps retention left in an estuary's subscriptions: when a source trimmed what the estuary had not
// received yet (past the hold caps), fan-out or a pull hands it a gap delivery, and the estuary jumps
// to the source's earliest offset. The jump, its count and (for CloudEvents) the gap event commit
// in one transaction, so a retried or re-delivered gap is a duplicate, never a second gap.
import { addGap, type GapRecord, type GapsView } from "../contract/gaps";
import { formatOffset } from "../protocol/offsets";
import type { StreamRepository } from "../stream/repository";

type GapRow = { source: string; gaps: number; bytes: number; messages: number; last_from: number; last_to: number; last_messages: number | null; last_at: number };

/** The estuary_gaps table (stream schema 15), written through the stream's repository. */
export class EstuaryGaps {
  constructor(private readonly repo: StreamRepository) {}

  /** Per source, its gaps so far. */
  all(): Map<string, GapsView> {
    const rows = this.repo.sql.exec<GapRow>("SELECT * FROM estuary_gaps").toArray();
    return new Map(rows.map((row) => [row.source, viewOf(row)]));
  }

  /** Call inside the transaction that moves the source's applied position to `gap.to`. */
  record(source: string, gap: GapRecord): void {
    const row = this.repo.sql.exec<GapRow>("SELECT * FROM estuary_gaps WHERE source = ?", source).toArray()[0];
    const before = row ? viewOf(row) : null;
    const after = addGap(before, gap);
    this.repo.write(
      "INSERT OR REPLACE INTO estuary_gaps (source, gaps, bytes, messages, last_from, last_to, last_messages, last_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
      source,
      after.count,
      after.bytesLost,
      after.messagesLost,
      gap.from,
      gap.to,
      gap.messages,
      gap.at,
    );
  }

  remove(source?: string): void {
    if (source === undefined) this.repo.write("DELETE FROM estuary_gaps");
    else this.repo.write("DELETE FROM estuary_gaps WHERE source = ?", source);
  }
}

function viewOf(row: GapRow): GapsView {
  const bytes = row.last_to - row.last_from;
  return {
    count: row.gaps,
    bytesLost: row.bytes,
    messagesLost: row.messages,
    last: { fromOffset: formatOffset(row.last_from), toOffset: formatOffset(row.last_to), messages: row.last_messages, bytes, at: new Date(row.last_at).toISOString() },
  };
}
