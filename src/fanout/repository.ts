// StreamSubscribersDO's only door to SQLite.
import type { BreakerState } from "./breaker";
import { DeliveryErrorSchema, FanoutCostSchema, type DeliveryError, type FanoutCost } from "../contract/fanout";
import { addCost, NO_COST } from "./cost";

export interface FanoutState {
  source: string;
  /** How many subscribers there are (kept by add and remove; save never writes it). */
  subscribers: number;
  target: number;
  cohort: number;
  breaker: BreakerState;
  cost: FanoutCost;
  lastError: DeliveryError | null;
  /** Where the oldest queue job still out starts, and when that was last known (queued-jobs.ts). */
  queuedFrom: number | null;
  queuedAt: number | null;
}

export interface Laggard {
  estuary: string;
  position: number;
  attempts: number;
  hotUntil: number;
}

type FanoutRow = {
  source: string;
  target_pos: number;
  cohort_pos: number;
  breaker_state: string;
  breaker_failures: number;
  breaker_opened_at: number | null;
  cost: string;
  last_error: string | null;
  subscriber_count: number;
  queued_from: number | null;
  queued_at: number | null;
};

export class SubscribersRepository {
  /** Rows written since the last save, booked into the cost counters by the next save. */
  private unsaved = 0;
  /** The fanout row as last loaded or saved, so a save that changes nothing writes nothing. */
  private stored: string | null = null;
  /**
   * The one in-memory copy of the fanout row (undefined until read). Every caller shares it, so a
   * publish or a cost report landing while a round awaits is never overwritten by the round's save.
   */
  private cached: FanoutState | null | undefined = undefined;

  constructor(private readonly sql: SqlStorage) {}

  load(): FanoutState | null {
    if (this.cached !== undefined) return this.cached;
    const row = this.sql.exec<FanoutRow>("SELECT * FROM fanout WHERE id = 1").toArray()[0];
    if (!row) return (this.cached = null);
    const state: FanoutState = {
      source: row.source,
      subscribers: row.subscriber_count,
      target: row.target_pos,
      cohort: row.cohort_pos,
      breaker: {
        state: row.breaker_state as BreakerState["state"],
        failures: row.breaker_failures,
        openedAt: row.breaker_opened_at,
      },
      cost: FanoutCostSchema.catch(NO_COST).parse(JSON.parse(row.cost)),
      lastError: row.last_error === null ? null : DeliveryErrorSchema.nullable().catch(null).parse(JSON.parse(row.last_error)),
      queuedFrom: row.queued_from,
      queuedAt: row.queued_at,
    };
    this.stored = snapshot(state);
    this.cached = state;
    return state;
  }

  /** Starts fan-out state for a first subscriber; a concurrent first subscribe keeps the earlier row. */
  create(state: FanoutState): void {
    this.cached = undefined;
    this.write(
      `INSERT OR IGNORE INTO fanout (id, source, target_pos, cohort_pos, breaker_state, breaker_failures, breaker_opened_at, cost)
       VALUES (1, ?, ?, ?, ?, ?, ?, ?)`,
      state.source,
      state.target,
      state.cohort,
      state.breaker.state,
      state.breaker.failures,
      state.breaker.openedAt,
      JSON.stringify(state.cost),
    );
  }

  /**
   * Updates only: a round finishing after the last unsubscribe must not bring the state back. Writes
   * nothing when nothing changed; otherwise books the rows written since the last save in the cost.
   */
  save(state: FanoutState): void {
    // A state the object let go of (cleared, or created again since) must never write over the current one.
    if (state !== this.cached || snapshot(state) === this.stored) return;
    state.cost = addCost(state.cost, { subscriberRowsWritten: this.unsaved });
    this.unsaved = 0;
    this.stored = snapshot(state);
    this.write(
      `UPDATE fanout SET target_pos = ?, cohort_pos = ?, breaker_state = ?, breaker_failures = ?, breaker_opened_at = ?,
         cost = ?, last_error = ?, queued_from = ?, queued_at = ? WHERE id = 1`,
      state.target,
      state.cohort,
      state.breaker.state,
      state.breaker.failures,
      state.breaker.openedAt,
      JSON.stringify(state.cost),
      state.lastError === null ? null : JSON.stringify(state.lastError),
      state.queuedFrom,
      state.queuedAt,
    );
  }

  clear(): void {
    this.cached = null;
    this.write("DELETE FROM fanout");
    this.write("DELETE FROM subscribers");
  }

  /** Subscribers, from the counter in the fanout row (0 without one). */
  private write(query: string, ...bindings: unknown[]): SqlStorageCursor<Record<string, SqlStorageValue>> {
    const cursor = this.sql.exec(query, ...bindings);
    this.unsaved += cursor.rowsWritten;
    return cursor;
  }

  count(): number {
    return this.sql.exec<{ n: number }>("SELECT subscriber_count AS n FROM fanout WHERE id = 1").toArray()[0]?.n ?? 0;
  }

  has(estuary: string): boolean {
    return this.sql.exec("SELECT 1 FROM subscribers WHERE estuary = ?", estuary).toArray().length > 0;
  }

  /**
   * Adds a subscriber at `position`: in step with the cohort, or to be caught up from there. The
   * caller checked it is new, and adds the batch to the counter once (`counted`).
   */
  add(estuary: string, position: number, inStep: boolean, required: boolean): void {
    this.write(
      "INSERT INTO subscribers (estuary, lag_pos, known_pos, required) VALUES (?, ?, ?, ?)",
      estuary,
      inStep ? null : position,
      position,
      required ? 1 : 0,
    );
  }

  /** Moves the subscriber counter by `delta` (in the same transaction as the rows it counts). */
  counted(delta: number): void {
    if (delta === 0) return;
    this.write("UPDATE fanout SET subscriber_count = subscriber_count + ? WHERE id = 1", delta);
    if (this.cached) this.cached.subscribers += delta;
  }

  remove(estuary: string): boolean {
    const removed = this.write("DELETE FROM subscribers WHERE estuary = ?", estuary).rowsWritten > 0;
    if (removed) this.counted(-1);
    return removed;
  }

  /** Removes up to `limit` subscribers, returning them: how a huge list is let go of in pages. */
  takePage(limit: number): string[] {
    const page = this.sql
      .exec<{ estuary: string }>("SELECT estuary FROM subscribers LIMIT ?", limit)
      .toArray()
      .map((row) => row.estuary);
    for (const estuary of page) this.write("DELETE FROM subscribers WHERE estuary = ?", estuary);
    this.counted(-page.length);
    return page;
  }

  /** Leases the estuary as hot until `until`, noting where it says it is; false if it is not subscribed. */
  setHot(estuary: string, until: number, applied: number | undefined): boolean {
    const query = "UPDATE subscribers SET hot_until = ?, known_pos = COALESCE(?, known_pos) WHERE estuary = ?";
    return this.write(query, until, applied ?? null, estuary).rowsWritten > 0;
  }

  /** Where an estuary's pull left it (what a pulled subscriber counts at for the commit policy). */
  pulledTo(estuary: string, applied: number): void {
    this.write("UPDATE subscribers SET known_pos = MAX(COALESCE(known_pos, 0), ?) WHERE estuary = ?", applied, estuary);
  }

  /** Subscribers whose lease runs past `now`, read from the hot index. */
  hotCount(now: number): number {
    return this.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM subscribers WHERE hot_until > ?", now).one().n;
  }

  /**
   * The in-step subscribers a round delivers to: all of them, or with `hotAfter` only those whose
   * lease runs past it, found through the hot index without touching the rest of the list.
   */
  cohort(hotAfter: number | null): string[] {
    const rows =
      hotAfter === null
        ? this.sql.exec<{ estuary: string }>("SELECT estuary FROM subscribers WHERE lag_pos IS NULL ORDER BY estuary")
        : this.sql.exec<{ estuary: string }>(
            "SELECT estuary FROM subscribers WHERE hot_until > ? AND lag_pos IS NULL ORDER BY estuary",
            hotAfter,
          );
    return rows.toArray().map((row) => row.estuary);
  }

  /** Takes a subscriber out of step, to be caught up on its own from `position`. */
  setLagging(estuary: string, position: number, nextAttemptAt: number, attempts: number): void {
    this.write(
      "UPDATE subscribers SET lag_pos = ?, next_attempt_at = ?, attempts = ? WHERE estuary = ?",
      position,
      nextAttemptAt,
      attempts,
      estuary,
    );
  }

  /** A cold laggard of a pulled audience stops being caught up; it is where it was (`position`) until read. */
  rejoinPulled(estuary: string, position: number): void {
    this.write("UPDATE subscribers SET lag_pos = NULL, next_attempt_at = 0, attempts = 0, known_pos = ? WHERE estuary = ?", position, estuary);
  }

  rejoin(estuary: string): void {
    this.write("UPDATE subscribers SET lag_pos = NULL, next_attempt_at = 0, attempts = 0 WHERE estuary = ?", estuary);
  }

  dueLaggards(now: number, limit: number): Laggard[] {
    return this.sql
      .exec<{ estuary: string; lag_pos: number; attempts: number; hot_until: number }>(
        `SELECT estuary, lag_pos, attempts, hot_until FROM subscribers
         WHERE lag_pos IS NOT NULL AND next_attempt_at <= ? ORDER BY lag_pos, estuary LIMIT ?`,
        now,
        limit,
      )
      .toArray()
      .map((row) => ({ estuary: row.estuary, position: row.lag_pos, attempts: row.attempts, hotUntil: row.hot_until }));
  }

  laggardCount(): number {
    return this.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM subscribers WHERE lag_pos IS NOT NULL").one().n;
  }

  nextLaggardAttempt(): number | null {
    return this.sql
      .exec<{ at: number | null }>("SELECT MIN(next_attempt_at) AS at FROM subscribers WHERE lag_pos IS NOT NULL")
      .one().at;
  }
}

/** The saved fields of the fanout row, to tell whether a save would change it. */
function snapshot(state: FanoutState): string {
  return JSON.stringify([state.target, state.cohort, state.breaker, state.cost, state.lastError, state.queuedFrom, state.queuedAt]);
}
