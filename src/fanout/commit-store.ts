// The commit policy's storage in the subscribers object: the policy, the sinks' reported positions,
// and the positions of the estuary subscriptions, grouped, read from the subscribers table
// (commit.ts decides from them).
import { DEFAULT_COMMIT_POLICY, type CommitPolicy, type SinkPosition } from "../contract/fanout";

/** `count` subscriptions hold `position`; `required` says whether they count for the required mode. */
export interface PositionGroup {
  position: number;
  count: number;
  required: boolean;
}

type GroupRow = { position: number; required: number; n: number };

export class CommitStore {
  constructor(private readonly sql: SqlStorage) {}

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
    this.sql.exec("INSERT OR REPLACE INTO sinks (sink_id, required, delivered_pos) VALUES (?, ?, ?)", sink.sinkId, sink.required ? 1 : 0, sink.position);
  }

  /** A sink delivered up to `position`; a late report never moves it back, nor brings back a removed sink. */
  sinkDelivered(sink: SinkPosition): boolean {
    return this.sql.exec("UPDATE sinks SET delivered_pos = MAX(delivered_pos, ?) WHERE sink_id = ?", sink.position, sink.sinkId).rowsWritten > 0;
  }

  removeSink(sinkId: string): void {
    this.sql.exec("DELETE FROM sinks WHERE sink_id = ?", sinkId);
  }

  sinkGroups(): PositionGroup[] {
    return this.groups("SELECT delivered_pos AS position, required, COUNT(*) AS n FROM sinks GROUP BY delivered_pos, required");
  }

  /**
   * Estuary subscriptions by position: laggards at their lag_pos; in-step subscribers that are
   * pushed to (every one, or with `hotAfter` the hot ones) at `inStep`; pulled ones (cold, when
   * only the hot are pushed to) at the position their last read reported.
   */
  estuaryGroups(inStep: number, hotAfter: number | null): PositionGroup[] {
    const laggards = this.groups("SELECT lag_pos AS position, required, COUNT(*) AS n FROM subscribers WHERE lag_pos IS NOT NULL GROUP BY lag_pos, required");
    const pushed =
      hotAfter === null
        ? this.groups("SELECT ? AS position, required, COUNT(*) AS n FROM subscribers WHERE lag_pos IS NULL GROUP BY required", inStep)
        : this.groups("SELECT ? AS position, required, COUNT(*) AS n FROM subscribers WHERE lag_pos IS NULL AND hot_until > ? GROUP BY required", inStep, hotAfter);
    const pulled =
      hotAfter === null
        ? []
        : this.groups(
            "SELECT COALESCE(known_pos, 0) AS position, required, COUNT(*) AS n FROM subscribers WHERE lag_pos IS NULL AND hot_until <= ? GROUP BY position, required",
            hotAfter,
          );
    return [...laggards, ...pushed, ...pulled];
  }

  clear(): void {
    this.sql.exec("DELETE FROM sinks");
  }

  private groups(query: string, ...bindings: unknown[]): PositionGroup[] {
    return this.sql
      .exec<GroupRow>(query, ...bindings)
      .toArray()
      .map((row) => ({ position: row.position, count: row.n, required: row.required === 1 }));
  }
}
