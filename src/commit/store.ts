// The commit policy's own storage in the subscribers object: the policy, and the positions the data
// sinks report (the estuaries' positions are counted by ledger.ts).
import { DEFAULT_COMMIT_POLICY, type CommitPolicy, type SinkPosition } from "../contract/fanout";
import type { PositionGroup } from "./position";

type GroupRow = { position: number; required: number; n: number };

export class CommitStore {
  constructor(private readonly sql: Pick<SqlStorage, "exec">) {}

  policy(): CommitPolicy {
    const row = this.sql.exec<{ mode: string; quorum: number | null }>("SELECT mode, quorum FROM commit_policy WHERE id = 1").toArray()[0];
    if (!row) return DEFAULT_COMMIT_POLICY;
    return row.mode === "quorum" ? { mode: "quorum", quorum: row.quorum ?? 1 } : { mode: row.mode === "all" ? "all" : "required" };
  }

  setPolicy(policy: CommitPolicy): void {
    this.sql.exec("INSERT OR REPLACE INTO commit_policy (id, mode, quorum) VALUES (1, ?, ?)", policy.mode, policy.quorum ?? null);
  }

  /** A sink starts counting (created, or created again) at `position`. */
  registerSink(sink: SinkPosition): void {
    this.sql.exec(
      "INSERT OR REPLACE INTO sinks (sink_id, required, delivered_pos, incarnation) VALUES (?, ?, ?, ?)",
      sink.sinkId,
      sink.required ? 1 : 0,
      sink.position,
      sink.incarnation,
    );
  }

  /**
   * A sink delivered up to `position`; a late report never moves it back, nor brings back a removed
   * sink, nor moves a sink created again under the same id (another incarnation).
   */
  sinkDelivered(sink: SinkPosition): boolean {
    return (
      this.sql.exec(
        "UPDATE sinks SET delivered_pos = MAX(delivered_pos, ?), incarnation = ? WHERE sink_id = ? AND (incarnation = ? OR incarnation IS NULL)",
        sink.position,
        sink.incarnation,
        sink.sinkId,
        sink.incarnation,
      ).rowsWritten > 0
    );
  }

  removeSink(sinkId: string): void {
    this.sql.exec("DELETE FROM sinks WHERE sink_id = ?", sinkId);
  }

  /** One row per distinct delivered position: a source has at most a few dozen sinks. */
  sinkGroups(): PositionGroup[] {
    return this.sql
      .exec<GroupRow>("SELECT delivered_pos AS position, required, COUNT(*) AS n FROM sinks GROUP BY delivered_pos, required")
      .toArray()
      .map((row) => ({ position: row.position, count: row.n, required: row.required === 1 }));
  }

  clearSinks(): void {
    this.sql.exec("DELETE FROM sinks");
  }
}
