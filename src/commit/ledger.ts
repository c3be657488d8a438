// How many estuary subscriptions are counted at each position, kept as their positions change, so
// the committed offset reads one row per distinct position instead of the whole subscriber list.
// The owner of the subscriber list reports every change of a subscriber's state (`moved`) and
// flushes before its next await, so the counts commit with the rows they count.

/** Where a subscriber is counted: in step with the cohort (wherever it stands), or at a position it holds. */
export type Counted = "cohort" | number;

/** The ledger stores the cohort under this position (no real position is negative). */
const COHORT = -1;

export interface PositionCount {
  position: Counted;
  required: boolean;
  count: number;
}

export class PositionLedger {
  /** Changes not yet written: "position,required" -> delta. */
  private readonly deltas = new Map<string, number>();

  constructor(private readonly sql: Pick<SqlStorage, "exec">) {}

  /** A subscriber left `from` (null: it is new) for `to` (null: it is gone). */
  moved(required: boolean, from: Counted | null, to: Counted | null, count = 1): void {
    if (from === to || count === 0) return;
    if (from !== null) this.add(from, required, -count);
    if (to !== null) this.add(to, required, count);
  }

  /** Writes the changes: one row per position touched; a position nobody holds any more goes. */
  flush(): void {
    for (const [key, delta] of this.deltas) {
      if (delta === 0) continue;
      const [position, required] = key.split(",").map(Number);
      this.sql.exec(
        "INSERT INTO commit_positions (pos, required, n) VALUES (?, ?, ?) ON CONFLICT (pos, required) DO UPDATE SET n = n + excluded.n",
        position,
        required,
        delta,
      );
      if (delta < 0) this.sql.exec("DELETE FROM commit_positions WHERE pos = ? AND required = ? AND n <= 0", position, required);
    }
    this.deltas.clear();
  }

  counts(): PositionCount[] {
    return this.sql
      .exec<{ pos: number; required: number; n: number }>("SELECT pos, required, n FROM commit_positions WHERE n > 0")
      .toArray()
      .map((row) => ({ position: row.pos === COHORT ? "cohort" : row.pos, required: row.required === 1, count: row.n }));
  }

  clear(): void {
    this.deltas.clear();
    this.sql.exec("DELETE FROM commit_positions");
  }

  private add(position: Counted, required: boolean, delta: number): void {
    const key = `${position === "cohort" ? COHORT : position},${required ? 1 : 0}`;
    this.deltas.set(key, (this.deltas.get(key) ?? 0) + delta);
  }
}
