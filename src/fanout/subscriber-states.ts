// The subscribers table of StreamSubscribersDO's SQLite: each subscriber's position state (in step
// with the cohort, lagging at X to be caught up, or held at Y while its audience pulls), its hot
// lease, and its laggard retries. Every change of a state is told to the commit policy's ledger,
// and every add and remove moves the counter in the fanout row, in the same transaction.
import type { Counted, PositionLedger } from "../commit/ledger";
import type { FanoutRowRepository } from "./fanout-row";
import type { WrittenRows } from "./written-rows";

/**
 * A subscriber a round delivers to; `held`: where it is counted while not (yet) in step; `attempts`:
 * its failed deliveries in a row.
 */
export interface Member {
  estuary: string;
  held: number | null;
  required: boolean;
  attempts: number;
}

export interface Laggard {
  estuary: string;
  position: number;
  attempts: number;
  hotUntil: number;
  required: boolean;
}

/** A subscriber's position state: lagging at X, held (pulled) at Y, or in step with the cohort. */
interface SubscriberPosition {
  required: boolean;
  lagging: boolean;
  held: number | null;
  counted: Counted;
}

type StateRow = { lag_pos: number | null; held_pos: number | null; required: number };

export class SubscriberStates {
  constructor(
    private readonly sql: WrittenRows,
    /** Told of every change of a subscriber's position (the commit policy counts them). */
    private readonly ledger: PositionLedger,
    /** Holds the subscriber counter. */
    private readonly fanout: FanoutRowRepository,
  ) {}

  clear(): void {
    this.sql.exec("DELETE FROM subscribers");
    this.ledger.clear();
  }

  has(estuary: string): boolean {
    return this.sql.exec("SELECT 1 FROM subscribers WHERE estuary = ?", estuary).toArray().length > 0;
  }

  /**
   * Adds a subscriber that holds `position`: in step (at the cohort, with no round in flight that
   * could be delivering a range it missed), to be caught up from there (`lagging`), or, when its
   * audience pulls, counted there until it is read (`held`). The caller checked it is new, and adds
   * the batch to the counter once (`counted`, which also writes the batch's position counts).
   */
  add(estuary: string, position: number, state: "inStep" | "lagging" | "held", required: boolean): void {
    const lagging = state === "lagging" ? position : null;
    const held = state === "held" ? position : null;
    this.sql.exec("INSERT INTO subscribers (estuary, lag_pos, held_pos, required) VALUES (?, ?, ?, ?)", estuary, lagging, held, required ? 1 : 0);
    this.ledger.moved(required, null, state === "inStep" ? "cohort" : position);
  }

  /** Moves the subscriber counter by `delta` (in the same transaction as the rows it counts). */
  counted(delta: number): void {
    this.fanout.addSubscribers(delta);
    this.ledger.flush();
  }

  remove(estuary: string): boolean {
    const row = this.position(estuary);
    if (!row) return false;
    this.sql.exec("DELETE FROM subscribers WHERE estuary = ?", estuary);
    this.ledger.moved(row.required, row.counted, null);
    this.counted(-1);
    return true;
  }

  /** Removes up to `limit` subscribers, returning them: how a huge list is let go of in pages. */
  takePage(limit: number): string[] {
    const page = this.sql.exec<StateRow & { estuary: string }>("SELECT estuary, lag_pos, held_pos, required FROM subscribers LIMIT ?", limit).toArray();
    for (const row of page) {
      this.sql.exec("DELETE FROM subscribers WHERE estuary = ?", row.estuary);
      this.ledger.moved(row.required === 1, countedOf(row), null);
    }
    this.counted(-page.length);
    return page.map((row) => row.estuary);
  }

  /**
   * Leases the estuary as hot until `until`; false if it is not subscribed. Where it says it is
   * (`applied`) raises a held position: a fact from the estuary itself.
   */
  setHot(estuary: string, until: number, applied: number | undefined): boolean {
    const row = this.position(estuary);
    if (!row) return false;
    const raised = applied !== undefined && row.held !== null && applied > row.held ? applied : null;
    this.sql.exec("UPDATE subscribers SET hot_until = ?, held_pos = COALESCE(?, held_pos) WHERE estuary = ?", until, raised, estuary);
    if (raised !== null) this.moveTo(row, raised);
    return true;
  }

  /** An estuary's pull (or a job) left it at `applied`: a held or lagging position rises to it. */
  pulledTo(estuary: string, applied: number): void {
    const row = this.position(estuary);
    if (!row || row.counted === "cohort" || applied <= row.counted) return;
    const column = row.lagging ? "lag_pos" : "held_pos";
    this.sql.exec(`UPDATE subscribers SET ${column} = ? WHERE estuary = ?`, applied, estuary);
    this.moveTo(row, applied);
  }

  /** Subscribers whose lease runs past `now`, read from the hot index. */
  hotCount(now: number): number {
    return this.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM subscribers WHERE hot_until > ?", now).one().n;
  }

  /**
   * The subscribers a round delivers to: every one not lagging, or with `hotAfter` only those whose
   * lease runs past it (found through the hot index). `held`: where one not yet in step is counted.
   */
  cohort(hotAfter: number | null): Member[] {
    type Row = { estuary: string; held_pos: number | null; required: number; attempts: number };
    const rows =
      hotAfter === null
        ? this.sql.exec<Row>("SELECT estuary, held_pos, required, attempts FROM subscribers WHERE lag_pos IS NULL ORDER BY estuary")
        : this.sql.exec<Row>("SELECT estuary, held_pos, required, attempts FROM subscribers WHERE hot_until > ? AND lag_pos IS NULL ORDER BY estuary", hotAfter);
    return rows.toArray().map((row) => ({ estuary: row.estuary, held: row.held_pos, required: row.required === 1, attempts: row.attempts }));
  }

  /**
   * In-step subscribers whose lease ended by `now` are no longer pushed to: they hold the cohort
   * they were in step with. Found through the in-step index; a pushed audience is small.
   */
  demoteCooled(now: number, cohort: number): void {
    const where = "lag_pos IS NULL AND held_pos IS NULL AND hot_until <= ?";
    const groups = this.sql.exec<{ required: number; n: number }>(`SELECT required, COUNT(*) AS n FROM subscribers INDEXED BY subscribers_in_step WHERE ${where} GROUP BY required`, now).toArray();
    if (groups.length === 0) return;
    this.sql.exec(`UPDATE subscribers SET held_pos = ? WHERE ${where}`, cohort, now);
    for (const group of groups) this.ledger.moved(group.required === 1, "cohort", cohort, group.n);
    this.ledger.flush();
  }

  /** Once every subscriber is pushed to again, held ones are caught up as laggards from where they are. */
  heldToLagging(now: number, limit: number): void {
    const rows = this.sql.exec<{ estuary: string; held_pos: number }>("SELECT estuary, held_pos FROM subscribers WHERE held_pos IS NOT NULL LIMIT ?", limit).toArray();
    for (const row of rows) this.setLagging(row.estuary, row.held_pos, now, 0);
  }

  /** Takes a subscriber out of step, to be caught up on its own from `position` (what it holds). */
  setLagging(estuary: string, position: number, nextAttemptAt: number, attempts: number): void {
    const row = this.position(estuary);
    if (!row) return;
    this.sql.exec("UPDATE subscribers SET lag_pos = ?, held_pos = NULL, next_attempt_at = ?, attempts = ? WHERE estuary = ?", position, nextAttemptAt, attempts, estuary);
    this.moveTo(row, position);
  }

  /** The subscriber may hold no more than `position` (a job of it was lost): caught up from there at the latest. */
  lowerTo(estuary: string, position: number, now: number): void {
    const row = this.position(estuary);
    if (!row) return;
    this.setLagging(estuary, row.counted === "cohort" ? position : Math.min(row.counted, position), now, 0);
  }

  /** A cold laggard of a pulled audience stops being caught up; it holds `position` until read. */
  rejoinPulled(estuary: string, position: number): void {
    const row = this.position(estuary);
    if (!row) return;
    this.sql.exec("UPDATE subscribers SET lag_pos = NULL, held_pos = ?, next_attempt_at = 0, attempts = 0 WHERE estuary = ?", position, estuary);
    this.moveTo(row, position);
  }

  /** The subscriber holds the cohort (delivered, or named in a job that does): in step from now on. */
  rejoin(estuary: string): void {
    const row = this.position(estuary);
    if (!row) return;
    this.sql.exec("UPDATE subscribers SET lag_pos = NULL, held_pos = NULL, next_attempt_at = 0, attempts = 0 WHERE estuary = ?", estuary);
    this.moveTo(row, "cohort");
  }

  dueLaggards(now: number, limit: number): Laggard[] {
    return this.sql
      .exec<{ estuary: string; lag_pos: number; attempts: number; hot_until: number; required: number }>(
        `SELECT estuary, lag_pos, attempts, hot_until, required FROM subscribers
         WHERE lag_pos IS NOT NULL AND next_attempt_at <= ? ORDER BY lag_pos, estuary LIMIT ?`,
        now,
        limit,
      )
      .toArray()
      .map((row) => ({ estuary: row.estuary, position: row.lag_pos, attempts: row.attempts, hotUntil: row.hot_until, required: row.required === 1 }));
  }

  laggardCount(): number {
    return this.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM subscribers WHERE lag_pos IS NOT NULL").one().n;
  }

  nextLaggardAttempt(): number | null {
    return this.sql
      .exec<{ at: number | null }>("SELECT MIN(next_attempt_at) AS at FROM subscribers WHERE lag_pos IS NOT NULL")
      .one().at;
  }

  private position(estuary: string): SubscriberPosition | null {
    const row = this.sql.exec<StateRow>("SELECT lag_pos, held_pos, required FROM subscribers WHERE estuary = ?", estuary).toArray()[0];
    if (!row) return null;
    return { required: row.required === 1, lagging: row.lag_pos !== null, held: row.held_pos, counted: countedOf(row) };
  }

  /** The ledger follows a subscriber's move, written before the caller's next await. */
  private moveTo(from: SubscriberPosition, to: Counted): void {
    this.ledger.moved(from.required, from.counted, to);
    this.ledger.flush();
  }
}

function countedOf(row: StateRow): Counted {
  return row.lag_pos ?? row.held_pos ?? "cohort";
}
