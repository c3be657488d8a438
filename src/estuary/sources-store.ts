// The estuary_sources table of an estuary's stream: each subscribed source, the position applied
// from it as of its checkpoint, and its envelope. Written through the stream's repository, so its
// rows count with the stream's.
import type { AppliedPosition, StreamRepository } from "../stream/repository";
import { CloudEventsSubscriptionSchema, type SubscriptionEnvelope } from "./envelope";

export class EstuarySourcesStore {
  constructor(private readonly repo: StreamRepository) {}

  /**
   * Each subscribed source with how far it has been applied: the checkpointed position, moved on by
   * the deliveries tagged in chunks written since that checkpoint.
   */
  appliedPositions(): AppliedPosition[] {
    return this.repo.sql
      .exec<{ source: string; applied: number }>(
        `SELECT s.source,
                MAX(s.applied_pos, COALESCE(
                  (SELECT MAX(c.source_to) FROM chunks c WHERE c.start_pos >= s.checked_pos AND c.source = s.source), 0
                )) AS applied
         FROM estuary_sources s ORDER BY s.source`,
      )
      .toArray();
  }

  /** Each subscribed source's envelope (null: raw). */
  sourceEnvelopes(): Map<string, SubscriptionEnvelope> {
    const rows = this.repo.sql.exec<{ source: string; envelope: string | null }>("SELECT source, envelope FROM estuary_sources").toArray();
    return new Map(rows.map((row) => [row.source, row.envelope === null ? null : CloudEventsSubscriptionSchema.parse(JSON.parse(row.envelope))]));
  }

  /** A new subscription: applied from `position`, which accounts for every chunk below `checked`. */
  attachSource(position: AppliedPosition, checked: number, envelope: SubscriptionEnvelope): void {
    this.repo.write(
      "INSERT OR REPLACE INTO estuary_sources (source, applied_pos, checked_pos, envelope) VALUES (?, ?, ?, ?)",
      position.source,
      position.applied,
      checked,
      envelope === null ? null : JSON.stringify(envelope),
    );
  }

  /** Records `applied` for `source` as accounting for every chunk that starts below `checked`. */
  checkpointSource(position: AppliedPosition, checked: number): void {
    this.repo.write(
      "UPDATE estuary_sources SET applied_pos = ?, checked_pos = ? WHERE source = ?",
      position.applied,
      checked,
      position.source,
    );
  }

  /**
   * Before the rows that start below `position` are deleted (moved to a cold segment, or trimmed by
   * retention): each source checked below it is checkpointed there with the tags those rows carry,
   * since applied positions are otherwise derived from the tagged rows that are about to go.
   * Run inside the transaction that deletes them.
   */
  checkpointBefore(position: number): void {
    this.repo.write(
      `UPDATE estuary_sources SET
         applied_pos = MAX(applied_pos, COALESCE((SELECT MAX(c.source_to) FROM chunks c
           WHERE c.start_pos >= estuary_sources.checked_pos AND c.start_pos < ?1 AND c.source = estuary_sources.source), 0)),
         checked_pos = ?1
       WHERE checked_pos < ?1`,
      position,
    );
  }

  removeSource(source: string): void {
    this.repo.write("DELETE FROM estuary_sources WHERE source = ?", source);
  }
}
