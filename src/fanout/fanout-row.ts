// The fanout row of StreamSubscribersDO's SQLite: the source, how far it reaches, the cohort's
// position, the breaker, the cost counters, the last error and the subscriber counter. One in-memory
// copy that every caller shares, saved only when it changed.
import type { BreakerState } from "./breaker";
import { DeliveryErrorSchema, FanoutCostSchema, type DeliveryError, type FanoutCost } from "../contract/fanout";
import { addCost, NO_COST } from "./cost";
import type { WrittenRows } from "./written-rows";

export interface FanoutState {
  source: string;
  /** How many subscribers there are (kept by the subscriber list's add and remove; save never writes it). */
  subscribers: number;
  target: number;
  cohort: number;
  breaker: BreakerState;
  cost: FanoutCost;
  lastError: DeliveryError | null;
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
};

export class FanoutRowRepository {
  /** The fanout row as last loaded or saved, so a save that changes nothing writes nothing. */
  private stored: string | null = null;
  /**
   * The one in-memory copy of the fanout row (undefined until read). Every caller shares it, so a
   * publish or a cost report landing while a round awaits is never overwritten by the round's save.
   */
  private cached: FanoutState | null | undefined = undefined;

  /** `sql` counts the object's rows written, booked into the cost counters by the next save. */
  constructor(private readonly sql: WrittenRows) {}

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
    };
    this.stored = snapshot(state);
    this.cached = state;
    return state;
  }

  /** Starts fan-out state for a first subscriber; a concurrent first subscribe keeps the earlier row. */
  create(state: FanoutState): void {
    this.cached = undefined;
    this.sql.exec(
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
    state.cost = addCost(state.cost, { subscriberRowsWritten: this.sql.take() });
    this.stored = snapshot(state);
    this.sql.exec(
      `UPDATE fanout SET target_pos = ?, cohort_pos = ?, breaker_state = ?, breaker_failures = ?, breaker_opened_at = ?,
         cost = ?, last_error = ? WHERE id = 1`,
      state.target,
      state.cohort,
      state.breaker.state,
      state.breaker.failures,
      state.breaker.openedAt,
      JSON.stringify(state.cost),
      state.lastError === null ? null : JSON.stringify(state.lastError),
    );
  }

  clear(): void {
    this.cached = null;
    this.sql.exec("DELETE FROM fanout");
  }

  /** Moves the subscriber counter by `delta` (the caller writes the rows it counts in the same transaction). */
  addSubscribers(delta: number): void {
    if (delta === 0) return;
    this.sql.exec("UPDATE fanout SET subscriber_count = subscriber_count + ? WHERE id = 1", delta);
    if (this.cached) this.cached.subscribers += delta;
  }
}

/** The saved fields of the fanout row, to tell whether a save would change it. */
function snapshot(state: FanoutState): string {
  return JSON.stringify([state.target, state.cohort, state.breaker, state.cost, state.lastError]);
}
